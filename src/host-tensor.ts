/**
 * A tensor that lives in JS memory: what checkpoint readers produce and writers consume, independent of
 * the native addon (so formats can be parsed and tested without libtorch).
 */
export type DType =
  | 'float32' | 'float64' | 'float16' | 'bfloat16'
  | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** float16 / bfloat16 hold raw bit patterns; bool holds 0/1 bytes; int64 holds bigints. */
export type HostData =
  | Float32Array | Float64Array | Uint16Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

export interface HostTensor {
  dtype: DType;
  shape: number[];
  /** C-contiguous (row-major) elements, length = product of shape. */
  data: HostData;
}

export const DTYPE_BYTES: Record<DType, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Views `bytes` (copied so alignment is guaranteed) as the typed array of `dtype`. */
export function hostDataFromBytes(dtype: DType, bytes: Uint8Array): HostData {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  const buf = copy.buffer;
  switch (dtype) {
    case 'float32': return new Float32Array(buf);
    case 'float64': return new Float64Array(buf);
    case 'float16': case 'bfloat16': return new Uint16Array(buf);
    case 'int64': return new BigInt64Array(buf);
    case 'int32': return new Int32Array(buf);
    case 'int16': return new Int16Array(buf);
    case 'int8': return new Int8Array(buf);
    case 'uint8': case 'bool': return copy;
  }
}

export function hostBytes(t: HostTensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}
