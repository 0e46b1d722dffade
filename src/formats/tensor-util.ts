/**
 * HostTensor helpers the format readers/writers share: validation, strided → contiguous materialisation
 * (torch tensors are views into storages), half-precision decoding, and plain-number access for tests and
 * converters.
 */
import { DTYPE_BYTES, type DType, type HostTensor, hostDataFromBytes, numel } from '../host-tensor.js';
import { formatError } from './errors.js';

export function isHostTensor(v: unknown): v is HostTensor {
  if (v === null || typeof v !== 'object') return false;
  const t = v as Partial<HostTensor>;
  return typeof t.dtype === 'string' && Array.isArray(t.shape) && ArrayBuffer.isView(t.data) && t.dtype in DTYPE_BYTES;
}

/** Throws ERR_FORMAT unless the shape is valid and the data length matches it. */
export function checkTensor(t: HostTensor, what = 'tensor'): void {
  for (const d of t.shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw formatError(`${what}: bad shape [${t.shape.join(', ')}]`);
  }
  const n = numel(t.shape);
  if (t.data.length !== n) throw formatError(`${what}: shape [${t.shape.join(', ')}] needs ${n} elements, data has ${t.data.length}`);
}

/**
 * Copies the elements of a strided view (sizes/strides/offset in elements) out of raw storage bytes into a
 * contiguous HostTensor. Bounds are checked first so a lying checkpoint cannot read past its storage.
 */
export function tensorFromStorage(
  dtype: DType, storage: Uint8Array, offset: number, size: readonly number[], stride: readonly number[], what: string,
): HostTensor {
  const es = DTYPE_BYTES[dtype];
  const nd = size.length;
  if (stride.length !== nd) throw formatError(`${what}: size has ${nd} dims but stride has ${stride.length}`);
  for (let k = 0; k < nd; k++) {
    if (!Number.isSafeInteger(size[k]) || size[k]! < 0) throw formatError(`${what}: bad size [${size.join(', ')}]`);
    if (!Number.isSafeInteger(stride[k])) throw formatError(`${what}: bad stride [${stride.join(', ')}]`);
  }
  if (!Number.isSafeInteger(offset) || offset < 0) throw formatError(`${what}: bad storage offset ${offset}`);
  const n = numel(size);
  const storageNumel = Math.floor(storage.length / es);
  if (n > 0) {
    let lo = offset;
    let hi = offset;
    for (let k = 0; k < nd; k++) {
      const span = (size[k]! - 1) * stride[k]!;
      if (span < 0) lo += span; else hi += span;
    }
    if (lo < 0 || hi >= storageNumel) {
      throw formatError(`${what}: view (offset ${offset}, size [${size.join(', ')}], stride [${stride.join(', ')}]) exceeds its storage of ${storageNumel} elements`);
    }
  }
  // Fast path: row-major contiguous.
  let contiguous = true;
  let expect = 1;
  for (let k = nd - 1; k >= 0; k--) {
    if (size[k] !== 1 && stride[k] !== expect) contiguous = false;
    expect *= size[k]!;
  }
  if (contiguous || n === 0) {
    return { dtype, shape: [...size], data: hostDataFromBytes(dtype, storage.subarray(offset * es, (offset + n) * es)) };
  }
  return { dtype, shape: [...size], data: hostDataFromBytes(dtype, gatherStrided(storage, es, offset, size, stride, n)) };
}

/**
 * Element gather for strided views, through integer views of the element width (one 32-bit word pair for
 * 8-byte elements: going through Float64Array could canonicalise NaN payloads, BigInt64Array allocates).
 */
function gatherStrided(storage: Uint8Array, es: number, offset: number, size: readonly number[], stride: readonly number[], n: number): Uint8Array {
  const out = new Uint8Array(n * es);
  const words = es === 8 ? 2 : 1;
  const unit = es === 8 ? 4 : es;
  const make = (buf: ArrayBufferLike, at: number, bytes: number): Uint8Array | Uint16Array | Uint32Array =>
    unit === 1 ? new Uint8Array(buf, at, bytes) : unit === 2 ? new Uint16Array(buf, at, bytes >> 1) : new Uint32Array(buf, at, bytes >> 2);
  // Typed views need an aligned start; copy the storage only when it is not aligned (zip data is 64-aligned).
  const src = storage.byteOffset % unit === 0
    ? make(storage.buffer, storage.byteOffset, storage.byteLength - (storage.byteLength % unit))
    : make(new Uint8Array(storage).buffer, 0, storage.byteLength - (storage.byteLength % unit));
  const dst = make(out.buffer, 0, out.byteLength);
  const nd = size.length;
  const inner = size[nd - 1] ?? 1;
  const innerStride = (stride[nd - 1] ?? 1) * words;
  const outer = nd <= 1 ? 1 : n / inner;
  const idx = new Array<number>(Math.max(nd - 1, 0)).fill(0);
  let base = offset * words;
  let o = 0;
  for (let r = 0; r < outer; r++) {
    let p = base;
    if (words === 1) {
      for (let j = 0; j < inner; j++, p += innerStride) dst[o++] = src[p]!;
    } else {
      for (let j = 0; j < inner; j++, p += innerStride) { dst[o++] = src[p]!; dst[o++] = src[p + 1]!; }
    }
    // advance the outer multi-index (all dims but the last)
    for (let k = nd - 2; k >= 0; k--) {
      if (++idx[k]! < size[k]!) { base += stride[k]! * words; break; }
      base -= (size[k]! - 1) * stride[k]! * words;
      idx[k] = 0;
    }
  }
  return out;
}

/** IEEE half bits → number. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** bfloat16 bits → number (the top half of a float32). */
export function bfloat16ToFloat(h: number): number {
  const f = new Float32Array(1);
  new Uint32Array(f.buffer)[0] = (h & 0xffff) << 16;
  return f[0]!;
}

/** number → IEEE half bits (round to nearest even). */
export function floatToHalf(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0]!;
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  e = half >> 10;
  return sign | half;
}

/** Element values as plain numbers (float16/bfloat16 decoded, int64 via Number). */
export function toNumbers(t: HostTensor): number[] {
  const out = new Array<number>(t.data.length);
  for (let i = 0; i < t.data.length; i++) {
    const v = t.data[i]!;
    if (t.dtype === 'float16') out[i] = halfToFloat(v as number);
    else if (t.dtype === 'bfloat16') out[i] = bfloat16ToFloat(v as number);
    else out[i] = Number(v);
  }
  return out;
}

/** Row-major permutation of a contiguous tensor: out.shape[i] = t.shape[perm[i]]. */
export function permute(t: HostTensor, perm: readonly number[]): HostTensor {
  const nd = t.shape.length;
  if (perm.length !== nd || [...perm].sort().some((p, i) => p !== i)) throw formatError(`bad permutation [${perm.join(', ')}] for ${nd} dims`);
  const inStride = new Array<number>(nd);
  let s = 1;
  for (let k = nd - 1; k >= 0; k--) { inStride[k] = s; s *= t.shape[k]!; }
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return tensorFromStorage(t.dtype, bytes, 0, perm.map((p) => t.shape[p]!), perm.map((p) => inStride[p]!), 'permute');
}
