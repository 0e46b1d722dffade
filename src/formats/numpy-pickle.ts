/**
 * The numpy objects that show up inside pickles, as whitelisted globals: `numpy.dtype`, numpy scalars
 * (`numpy.core.multiarray.scalar`, e.g. the reference trainer's float64 learning rate) and arrays
 * (`numpy.core.multiarray._reconstruct` + BUILD). numpy 2 moved the module to `numpy._core`, so both
 * spellings are accepted. Nothing here runs numpy code: the state tuples are decoded by hand.
 */
import type { HostTensor } from '../host-tensor.js';
import { formatError } from './errors.js';
import { hostTensorFromNumpy, parseNumpyType, type NumpyType } from './numpy-dtype.js';
import { decodeLong, onBuild } from './pickle.js';
import { bfloat16ToFloat, halfToFloat } from './tensor-util.js';

/** A pickled `numpy.dtype`: the descr string, then byte order from its BUILD state. */
export class NumpyDTypeObject {
  byteOrder = '=';
  constructor(readonly descr: string) {}
  get type(): NumpyType {
    return parseNumpyType(this.descr, this.byteOrder);
  }
}

/** Marker pushed for the `numpy.ndarray` global (the subtype argument of `_reconstruct`). */
export const NDARRAY = Object.freeze({ numpyClass: 'ndarray' });

function toBytes(v: unknown, what: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') {
    // Python 2 pickles hold raw data as str (read back as latin-1 code points).
    const b = new Uint8Array(v.length);
    for (let i = 0; i < v.length; i++) b[i] = v.charCodeAt(i) & 0xff;
    return b;
  }
  throw formatError(`${what}: raw data is not bytes`);
}

function makeDType(descr: unknown): NumpyDTypeObject {
  if (typeof descr !== 'string') throw formatError('numpy.dtype: expected a type string');
  const d = new NumpyDTypeObject(descr);
  onBuild(d, (state) => {
    // state = (version, byteorder, subdescr, names, fields, elsize, alignment, flags)
    if (!Array.isArray(state) || typeof state[1] !== 'string') throw formatError('numpy.dtype: bad state');
    if (state[3] != null) throw formatError('numpy.dtype: structured dtypes are not supported');
    d.byteOrder = state[1];
  });
  return d;
}

/** numpy scalar → JS number (floats, ints that fit), bigint (wider ints) or boolean. */
function makeScalar(dtype: unknown, data: unknown): number | bigint | boolean {
  if (!(dtype instanceof NumpyDTypeObject)) throw formatError('numpy scalar: dtype argument is not a numpy.dtype');
  const t = dtype.type;
  const raw = toBytes(data, 'numpy scalar');
  if (t.kind === 'i' || t.kind === 'u') {
    if (raw.length !== t.itemsize) throw formatError('numpy scalar: data size does not match the dtype');
    const le = t.bigEndian ? raw.slice().reverse() : raw;
    if (t.kind === 'i') return decodeLong(le);
    let v = 0n;
    for (let i = le.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(le[i]!);
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  const tensor = hostTensorFromNumpy(t, [], raw);
  if (tensor.dtype === 'bool') return tensor.data[0] !== 0;
  if (tensor.dtype === 'float16' || tensor.dtype === 'bfloat16') return tensor.dtype === 'float16' ? halfToFloat(tensor.data[0] as number) : bfloat16ToFloat(tensor.data[0] as number);
  return Number(tensor.data[0]);
}

/**
 * `_reconstruct(ndarray, (0,), b'b')` returns an empty array that BUILD then fills; the placeholder object
 * is turned into the real HostTensor in place so references taken before BUILD (memo) see the result.
 */
function makeReconstruct(subtype: unknown): HostTensor {
  if (subtype !== NDARRAY) throw formatError('numpy _reconstruct: only numpy.ndarray is supported');
  const t: HostTensor = { dtype: 'uint8', shape: [0], data: new Uint8Array(0) };
  onBuild(t, (state) => {
    if (!Array.isArray(state)) throw formatError('numpy.ndarray: bad state');
    // (version, shape, dtype, is_fortran, rawdata); version-less 4-tuples come from very old numpy.
    const s = state.length === 5 ? state.slice(1) : state;
    const [shape, dtype, fortran, raw] = s as [unknown, unknown, unknown, unknown];
    if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number')) throw formatError('numpy.ndarray: bad shape');
    if (!(dtype instanceof NumpyDTypeObject)) throw formatError('numpy.ndarray: bad dtype');
    if (Array.isArray(raw)) throw formatError('numpy.ndarray: object arrays are not supported');
    const built = hostTensorFromNumpy(dtype.type, shape as number[], toBytes(raw, 'numpy.ndarray'), fortran === true);
    Object.assign(t, built);
  });
  return t;
}

/** Pickle protocol ≥ 5: `_frombuffer(buffer, dtype, shape, order)` with the buffer in-band. */
function fromBuffer(buf: unknown, dtype: unknown, shape: unknown, order: unknown): HostTensor {
  if (!(dtype instanceof NumpyDTypeObject)) throw formatError('numpy _frombuffer: bad dtype');
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw formatError('numpy _frombuffer: bad shape');
  return hostTensorFromNumpy(dtype.type, shape as number[], toBytes(buf, 'numpy _frombuffer'), order === 'F');
}

export function numpyGlobals(): Record<string, unknown> {
  const g: Record<string, unknown> = {};
  for (const mod of ['numpy.core.multiarray', 'numpy._core.multiarray']) {
    g[`${mod}.scalar`] = makeScalar;
    g[`${mod}._reconstruct`] = makeReconstruct;
  }
  g['numpy.core.numeric._frombuffer'] = fromBuffer;
  g['numpy._core.numeric._frombuffer'] = fromBuffer;
  g['numpy.dtype'] = makeDType;
  g['numpy.ndarray'] = NDARRAY;
  return g;
}
