/**
 * numpy dtypes ↔ HostTensor dtypes, shared by the .npy/.npz reader, the numpy objects inside pickles and
 * flax msgpack arrays.
 *
 * HostTensor has no unsigned types wider than a byte, so uint16/uint32 are widened losslessly (to int32 /
 * int64) and uint64 is reinterpreted as int64 bit patterns; jax's PRNG keys (uint32[2]) are the case that
 * matters. Big-endian data is byte-swapped to the host's little-endian order.
 */
import { DTYPE_BYTES, type DType, type HostTensor, hostDataFromBytes, numel } from '../host-tensor.js';
import { formatError } from './errors.js';

/** A parsed numpy type: kind letter (f, i, u, b, c, V, O, U, S…), item size, and byte order. */
export interface NumpyType {
  kind: string;
  itemsize: number;
  bigEndian: boolean;
}

const NAMES: Record<string, string> = {
  float64: 'f8', float32: 'f4', float16: 'f2', bfloat16: 'bf2',
  int64: 'i8', int32: 'i4', int16: 'i2', int8: 'i1',
  uint64: 'u8', uint32: 'u4', uint16: 'u2', uint8: 'u1', bool: 'b1',
  double: 'f8', single: 'f4', half: 'f2', float: 'f8', int: 'i8', long: 'i8',
};

/** Parses a descr ('<f4', '|u1', 'f8', '?') or a dtype name ('float32', 'bfloat16'). */
export function parseNumpyType(descr: string, byteOrder?: string): NumpyType {
  let s = descr;
  let order = byteOrder ?? '=';
  if ('<>|=!'.includes(s[0] ?? '')) { order = s[0]!; s = s.slice(1); }
  if (NAMES[s]) s = NAMES[s]!;
  if (s === '?') s = 'b1';
  if (s === 'bf2') return { kind: 'bf', itemsize: 2, bigEndian: order === '>' || order === '!' };
  const m = /^([a-zA-Z])(\d*)$/.exec(s);
  if (!m) throw formatError(`unsupported numpy dtype '${descr}'`);
  const kind = m[1]!;
  const itemsize = m[2] ? Number(m[2]) : kind === 'b' ? 1 : 0;
  return { kind, itemsize, bigEndian: order === '>' || order === '!' };
}

/** The HostTensor dtype a numpy type becomes (after widening unsigned types, see the file comment). */
export function hostDTypeOf(t: NumpyType): DType {
  const key = `${t.kind}${t.itemsize}`;
  switch (key) {
    case 'f8': return 'float64';
    case 'f4': return 'float32';
    case 'f2': return 'float16';
    case 'bf2': return 'bfloat16';
    case 'i8': return 'int64';
    case 'i4': return 'int32';
    case 'i2': return 'int16';
    case 'i1': return 'int8';
    case 'u1': return 'uint8';
    case 'b1': return 'bool';
    case 'u2': return 'int32';
    case 'u4': case 'u8': return 'int64';
    default: throw formatError(`unsupported numpy dtype kind '${key}' (only bool, integer and float arrays are supported)`);
  }
}

/** numpy descr ('<f4', '|b1'…) for a HostTensor dtype; bfloat16 has no numpy equivalent. */
export function numpyDescrOf(dtype: DType): string {
  switch (dtype) {
    case 'float64': return '<f8';
    case 'float32': return '<f4';
    case 'float16': return '<f2';
    case 'int64': return '<i8';
    case 'int32': return '<i4';
    case 'int16': return '<i2';
    case 'int8': return '|i1';
    case 'uint8': return '|u1';
    case 'bool': return '|b1';
    case 'bfloat16': throw formatError('bfloat16 has no numpy dtype; convert to float32 first');
  }
}

export function byteSwap(bytes: Uint8Array, itemsize: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += itemsize) {
    for (let j = 0; j < itemsize; j++) out[i + j] = bytes[i + itemsize - 1 - j]!;
  }
  return out;
}

/** Reverses axis order of a C-contiguous raw array (used for Fortran-ordered numpy data). */
function fortranToC(bytes: Uint8Array, shape: number[], itemsize: number): Uint8Array {
  const n = numel(shape);
  const out = new Uint8Array(bytes.length);
  const nd = shape.length;
  // Fortran strides (in elements): stride[0] = 1, stride[k] = stride[k-1]*shape[k-1].
  const fstride = new Array<number>(nd);
  let s = 1;
  for (let k = 0; k < nd; k++) { fstride[k] = s; s *= shape[k]!; }
  const idx = new Array<number>(nd).fill(0);
  for (let c = 0; c < n; c++) {
    let f = 0;
    for (let k = 0; k < nd; k++) f += idx[k]! * fstride[k]!;
    out.set(bytes.subarray(f * itemsize, f * itemsize + itemsize), c * itemsize);
    for (let k = nd - 1; k >= 0; k--) { if (++idx[k]! < shape[k]!) break; idx[k] = 0; }
  }
  return out;
}

/** Builds a HostTensor from raw numpy array bytes (any byte order; C or Fortran order). */
export function hostTensorFromNumpy(t: NumpyType, shape: number[], raw: Uint8Array, fortranOrder = false): HostTensor {
  const dtype = hostDTypeOf(t);
  const n = numel(shape);
  if (t.itemsize <= 0) throw formatError('numpy array with a zero-size dtype');
  if (raw.length < n * t.itemsize) {
    throw formatError(`numpy array data too short: shape [${shape.join(', ')}] needs ${n * t.itemsize} bytes, got ${raw.length}`);
  }
  let bytes = raw.subarray(0, n * t.itemsize);
  if (t.bigEndian && t.itemsize > 1) bytes = byteSwap(bytes, t.itemsize);
  if (fortranOrder && shape.length > 1) bytes = fortranToC(bytes, shape, t.itemsize);
  if (t.kind === 'u' && t.itemsize === 2) {
    const src = new Uint16Array(hostDataFromBytes('float16', bytes).buffer);
    return { dtype, shape: [...shape], data: Int32Array.from(src) };
  }
  if (t.kind === 'u' && t.itemsize === 4) {
    const src = new Uint32Array(hostDataFromBytes('int32', bytes).buffer);
    const out = new BigInt64Array(n);
    for (let i = 0; i < n; i++) out[i] = BigInt(src[i]!);
    return { dtype, shape: [...shape], data: out };
  }
  if (t.kind === 'b') {
    const data = hostDataFromBytes('bool', bytes) as Uint8Array;
    for (let i = 0; i < data.length; i++) data[i] = data[i] ? 1 : 0;
    return { dtype, shape: [...shape], data };
  }
  if (DTYPE_BYTES[dtype] !== t.itemsize) throw formatError(`numpy dtype size mismatch for ${dtype}`);
  return { dtype, shape: [...shape], data: hostDataFromBytes(dtype, bytes) };
}
