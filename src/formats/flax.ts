/**
 * flax checkpoints (`flax.training.checkpoints.save_checkpoint`, or `flax.serialization.to_bytes` of any
 * tree: where the weights are in it is `locateFlaxParams`'s job): one msgpack document of
 * `flax.serialization.to_state_dict(state)`. numpy/jax arrays are ext type 1 whose payload is itself
 * msgpack `[shape, dtype name, C-order bytes]`; numpy scalars are ext type 3 with the same payload; arrays
 * over 2^30 bytes are split into a `{__msgpack_chunked_array__, shape, chunks}` dict. Reading yields nested
 * Maps with HostTensor leaves (numpy scalars become JS numbers); no jax/flax involved.
 */
import { writeFileSync } from 'node:fs';
import type { HostTensor } from '../host-tensor.js';
import { hostBytes } from '../host-tensor.js';
import { formatError } from './errors.js';
import { readFileWith } from './input-file.js';
import { decodeMsgpack, encodeMsgpack, MsgpackExt } from './msgpack.js';
import { hostTensorFromNumpy, parseNumpyType } from './numpy-dtype.js';
import { bfloat16ToFloat, checkTensor, halfToFloat, isHostTensor } from './tensor-util.js';

const EXT_NDARRAY = 1;
const EXT_COMPLEX = 2;
const EXT_NPSCALAR = 3;
const CHUNKED = '__msgpack_chunked_array__';

function decodeArrayPayload(data: Uint8Array): HostTensor {
  const v = decodeMsgpack(data);
  if (!Array.isArray(v) || v.length !== 3) throw formatError('flax: array ext payload is not [shape, dtype, bytes]');
  const [shape, dtype, raw] = v as [unknown, unknown, unknown];
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) throw formatError('flax: bad array shape');
  if (typeof dtype !== 'string') throw formatError('flax: array dtype is not a string');
  if (!(raw instanceof Uint8Array)) throw formatError('flax: array data is not binary');
  const t = parseNumpyType(dtype, '<');
  const n = (shape as number[]).reduce((a, b) => a * b, 1);
  if (raw.length !== n * t.itemsize) {
    throw formatError(`flax: array of shape [${shape.join(', ')}] and dtype ${dtype} has ${raw.length} bytes, expected ${n * t.itemsize}`);
  }
  return hostTensorFromNumpy(t, shape as number[], raw);
}

function scalarOf(t: HostTensor): number | bigint | boolean {
  const x = t.data[0]!;
  if (t.dtype === 'bool') return x !== 0;
  if (t.dtype === 'float16') return halfToFloat(x as number);
  if (t.dtype === 'bfloat16') return bfloat16ToFloat(x as number);
  if (typeof x === 'bigint') return x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x;
  return x;
}

function decodeExt(type: number, data: Uint8Array): unknown {
  if (type === EXT_NDARRAY) return decodeArrayPayload(data);
  if (type === EXT_NPSCALAR) return scalarOf(decodeArrayPayload(data));
  if (type === EXT_COMPLEX) throw formatError('flax: complex numbers are not supported');
  throw formatError(`flax: unknown msgpack ext type ${type}`);
}

/** Reassembles chunked arrays (flax's `_unchunk`) anywhere in the tree. */
function unchunk(v: unknown): unknown {
  if (!(v instanceof Map)) return v;
  if (v.get(CHUNKED) === true) {
    const shapeMap = v.get('shape');
    const chunks = v.get('chunks');
    if (!(shapeMap instanceof Map) || !(chunks instanceof Map)) throw formatError('flax: malformed chunked array');
    const shape = [...shapeMap.keys()].sort((a, b) => Number(a) - Number(b)).map((k) => shapeMap.get(k) as number);
    const parts = [...chunks.keys()].sort((a, b) => Number(a) - Number(b)).map((k) => chunks.get(k));
    if (!parts.length || !parts.every(isHostTensor)) throw formatError('flax: chunked array has bad chunks');
    const dtype = (parts[0] as HostTensor).dtype;
    const total = parts.reduce((s, p) => s + (p as HostTensor).data.byteLength, 0);
    const bytes = new Uint8Array(total);
    let o = 0;
    for (const p of parts as HostTensor[]) {
      if (p.dtype !== dtype) throw formatError('flax: chunked array mixes dtypes');
      bytes.set(hostBytes(p), o);
      o += p.data.byteLength;
    }
    const t = hostTensorFromNumpy(parseNumpyType(dtype === 'bool' ? 'b1' : dtype, '<'), shape, bytes);
    return t;
  }
  for (const [k, x] of v) v.set(k, unchunk(x));
  return v;
}

/** Parses a flax checkpoint into nested Maps (string keys) with HostTensor leaves. */
export function readFlaxCheckpoint(bytes: Uint8Array): unknown {
  return unchunk(decodeMsgpack(bytes, { ext: decodeExt }));
}

export function readFlaxCheckpointFile(path: string): unknown {
  return readFileWith(path, readFlaxCheckpoint);
}

function encodeArray(t: HostTensor, type: number): MsgpackExt {
  checkTensor(t, 'flax');
  return new MsgpackExt(type, encodeMsgpack([t.shape, t.dtype, hostBytes(t)]));
}

/** Writes nested Maps/objects with HostTensor leaves the way flax.serialization.msgpack_serialize does. */
export function writeFlaxCheckpoint(tree: unknown): Uint8Array {
  return encodeMsgpack(tree, (v) => (isHostTensor(v) ? encodeArray(v, EXT_NDARRAY) : undefined));
}

export function writeFlaxCheckpointFile(path: string, tree: unknown): void {
  writeFileSync(path, writeFlaxCheckpoint(tree));
}

/** Follows a '/'-separated path ('optimizer/target/Dense_0/kernel') through nested Maps/objects. */
export function flaxGet(tree: unknown, path: string): unknown {
  let cur: unknown = tree;
  for (const part of path.split('/').filter((p) => p.length)) {
    if (cur instanceof Map) cur = cur.get(part);
    else if (cur !== null && typeof cur === 'object') cur = (cur as Record<string, unknown>)[part];
    else return undefined;
  }
  return cur;
}
