/** Shared machinery of the SDEs: batch broadcasting, Euler–Maruyama, reverse-time construction, tables. */
import { argError } from '../errors.js';
import type { Device } from '../native.js';
import type { DType } from '../host-tensor.js';
import { randn, type Generator } from '../random.js';
import { full, tensor, zerosLike, type Tensor } from '../tensor.js';
import type {
  Discretization, DriftDiffusion, MeanStd, ReverseSde, SampleOptions, ScoreFn, Sde, SdeKind, SdeNumerics,
} from './types.js';

export const NUMERICS: readonly SdeNumerics[] = ['expm1', 'jax', 'naive'];

/** A per-example [B] tensor viewed as [B, 1, …, 1] so that it broadcasts against x (`batch_mul`). */
export function batchView(v: Tensor, x: Tensor): Tensor {
  if (v.ndim !== 1 || v.shape[0] !== x.shape[0]) {
    argError('t', `a per-example tensor of shape [${x.shape[0]}]`, v.shape);
  }
  return v.reshape([v.shape[0], ...Array(x.ndim - 1).fill(1)]);
}

/** Number of data dimensions per example, D = prod(shape[1:]). */
export function dataDims(x: Tensor): number {
  return x.shape.slice(1).reduce((a, b) => a * b, 1);
}

export function checkNumerics(v: unknown): SdeNumerics {
  if (v === undefined) return 'expm1';
  if (!NUMERICS.includes(v as SdeNumerics)) argError('numerics', `one of ${NUMERICS.join(', ')}`, v);
  return v as SdeNumerics;
}

export function checkPositive(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) argError(name, 'a finite positive number', v);
  return v;
}

/**
 * A float64 host table (e.g. DDPM betas) materialised once per (dtype, device) and then gathered by index.
 * The references build these in float32 (torch/jnp default); here they are computed in float64 and rounded
 * once, so float32 tables can differ from the references' in the last ulp(s) of accumulated products.
 */
export class DiscreteTable {
  private readonly cache = new Map<string, Tensor>();
  constructor(readonly values: Float64Array) {}

  tensorFor(dtype: DType, device: Device): Tensor {
    const key = `${dtype}@${device}`;
    let t = this.cache.get(key);
    if (!t || t.isDisposed) {
      t = tensor(this.values, { dtype, device });
      this.cache.set(key, t);
    }
    return t;
  }

  /** values[index] for an int64 index tensor, in `like`'s dtype and device. */
  gather(index: Tensor, like: Tensor): Tensor {
    return this.tensorFor(like.dtype, like.device).indexSelect(0, index);
  }
}

/** torch.linspace in float64 (the endpoints exact). */
export function linspace64(a: number, b: number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = n === 1 ? a : a + ((b - a) * i) / (n - 1);
  if (n > 1) out[n - 1] = b;
  return out;
}

/**
 * The integer step i = int(t·(N−1)/T) of the DDPM/SMLD discretisations (truncation, as `.long()`; t ≥ 0).
 * Note: arithmetic between an int64 tensor and a JS number promotes to float (numbers are wrapped doubles),
 * so index arithmetic is done in floating point before the cast.
 */
export function timestepIndex(t: Tensor, N: number, T: number): Tensor {
  return t.mul((N - 1) / T).floor().to('int64');
}

export abstract class BaseSde implements Sde {
  abstract readonly kind: SdeKind;
  readonly T = 1;
  constructor(readonly N: number, readonly numerics: SdeNumerics) {
    if (!Number.isInteger(N) || N < 1) argError('N', 'a positive integer', N);
  }

  abstract sde(x: Tensor, t: Tensor): DriftDiffusion;
  abstract meanCoef(t: Tensor): Tensor;
  abstract marginalStd(t: Tensor): Tensor;
  abstract diffusionSquared(t: Tensor): Tensor;
  abstract priorLogp(z: Tensor): Tensor;
  abstract priorEntropy(z: Tensor): Tensor;
  /** Standard deviation of the prior p_T (1 for VP/subVP, σmax for VE). */
  protected abstract readonly priorStd: number;

  marginalProb(x: Tensor, t: Tensor): MeanStd {
    return { mean: batchView(this.meanCoef(t), x).mul(x), std: this.marginalStd(t) };
  }

  priorSampling(shape: number[], gen: Generator, opts: SampleOptions = {}): Tensor {
    const z = randn(shape, { dtype: opts.dtype ?? 'float32', device: opts.device, generator: gen });
    return this.priorStd === 1 ? z : z.mul(this.priorStd);
  }

  /** Euler–Maruyama: f_d = f·(1/N), G = g·√(1/N). */
  discretize(x: Tensor, t: Tensor): Discretization {
    const dt = 1 / this.N;
    const { drift, diffusion } = this.sde(x, t);
    return { f: drift.mul(dt), G: diffusion.mul(Math.sqrt(dt)) };
  }

  reverse(scoreFn: ScoreFn, opts: { probabilityFlow?: boolean } = {}): ReverseSde {
    const probabilityFlow = opts.probabilityFlow ?? false;
    const fwd = this;
    const factor = probabilityFlow ? 0.5 : 1;
    // Both forms reverse the same way: drift − g²·s·(½ if probability flow), diffusion g (0 for the ODE).
    const reversed = (x: Tensor, t: Tensor, drift: Tensor, g: Tensor) => ({
      drift: drift.sub(batchView(g.square(), x).mul(scoreFn(x, t)).mul(factor)),
      g: probabilityFlow ? zerosLike(g) : g,
    });
    return {
      N: this.N,
      T: this.T,
      probabilityFlow,
      sde(x: Tensor, t: Tensor): DriftDiffusion {
        const { drift, diffusion } = fwd.sde(x, t);
        const r = reversed(x, t, drift, diffusion);
        return { drift: r.drift, diffusion: r.g };
      },
      discretize(x: Tensor, t: Tensor): Discretization {
        const { f, G } = fwd.discretize(x, t);
        const r = reversed(x, t, f, G);
        return { f: r.drift, G: r.g };
      },
    };
  }
}

/** −D/2·log(2πσ²) − ‖z‖²/(2σ²) per example. */
export function gaussianLogp(z: Tensor, sigma: number): Tensor {
  const D = dataDims(z);
  const flat = z.reshape([z.shape[0], -1]);
  return flat.square().sum(1).mul(-1 / (2 * sigma * sigma)).add((-D / 2) * Math.log(2 * Math.PI * sigma * sigma));
}

/** D·(½·log(2πσ²) + ½) per example (shape [B], dtype of z). */
export function gaussianEntropy(z: Tensor, sigma: number): Tensor {
  const D = dataDims(z);
  const value = D * (0.5 * Math.log(2 * Math.PI * sigma * sigma) + 0.5);
  return full([z.shape[0]], value, { dtype: z.dtype, device: z.device });
}
