/** Seeded random streams and random tensors. Every draw names its generator, so runs are reproducible. */
import { addon, type Device, type NativeGenerator } from './native.js';
import { argError, checkInt, checkShape } from './errors.js';
import type { DType } from './host-tensor.js';
import type { Tensor } from './tensor.js';

const native = addon();

export type Generator = NativeGenerator;

/** A generator seeded with `seed`; on 'cpu' (default) draws are identical whatever device they land on. */
export function generator(seed: number, device: Device = 'cpu'): Generator {
  checkInt('seed', seed, 0);
  return new native.Generator(seed, device);
}

export interface RandomOptions { dtype?: DType; device?: Device; generator?: Generator }

const float = (name: string, d?: DType) => {
  if (d !== undefined && !['float32', 'float64', 'float16', 'bfloat16'].includes(d)) argError(name, 'a floating dtype', d);
  return d ?? null;
};

/** Standard normal samples. */
export function randn(shape: number[], o: RandomOptions = {}): Tensor {
  return native.randn(checkShape('shape', shape), float('dtype', o.dtype), o.device ?? null, o.generator ?? null) as Tensor;
}
/** Uniform samples in [0, 1). */
export function rand(shape: number[], o: RandomOptions = {}): Tensor {
  return native.rand(checkShape('shape', shape), float('dtype', o.dtype), o.device ?? null, o.generator ?? null) as Tensor;
}
/** ±1 with equal probability (Hutchinson probes). */
export function rademacher(shape: number[], o: RandomOptions = {}): Tensor {
  return native.rademacher(checkShape('shape', shape), o.dtype ?? null, o.device ?? null, o.generator ?? null) as Tensor;
}
/** Integers uniform in [low, high) as int64. */
export function randint(low: number, high: number, shape: number[], o: Omit<RandomOptions, 'dtype'> = {}): Tensor {
  return native.randint(checkInt('low', low), checkInt('high', high), checkShape('shape', shape), o.device ?? null, o.generator ?? null) as Tensor;
}
export function randnLike(t: Tensor, gen?: Generator): Tensor {
  return randn(t.shape, { dtype: t.dtype, device: t.device, generator: gen });
}
