/** Gaussian data N(μ, diag σ0²) diffused by an SDE: closed-form marginal scores and densities (test helper). */
import { tensor, type Tensor } from '../../src/tensor.js';
import type { ScoreFn, Sde } from '../../src/sde/types.js';

export interface GaussianData { mu: number[]; sigma0: number[] }

function marginal(sde: Sde, g: GaussianData, t: Tensor, like: Tensor) {
  const m = sde.meanCoef(t).reshape([-1, 1]);
  const s = sde.marginalStd(t).reshape([-1, 1]);
  const mu = tensor(g.mu, { dtype: like.dtype, device: like.device });
  const s0 = tensor(g.sigma0, { dtype: like.dtype, device: like.device });
  return { mean: m.mul(mu), variance: m.square().mul(s0.square()).add(s.square()) };
}

/** ∇ₓ log p_t(x) for x of shape [B, D]. */
export function gaussianScore(sde: Sde, g: GaussianData): ScoreFn {
  return (x, t) => {
    const { mean, variance } = marginal(sde, g, t, x);
    return x.sub(mean).div(variance).neg();
  };
}

/** log p_t(x) per example, [B] (float64 host arithmetic in the caller's dtype). */
export function gaussianLogp(sde: Sde, g: GaussianData, x: Tensor, t: Tensor): Tensor {
  const { mean, variance } = marginal(sde, g, t, x);
  return x.sub(mean).square().div(variance).add(variance.mul(2 * Math.PI).log()).sum(1).mul(-0.5);
}

/** n samples of the data distribution from a seeded generator's standard normals. */
export function gaussianSamples(g: GaussianData, z: Tensor): Tensor {
  return z.mul(tensor(g.sigma0, { dtype: z.dtype })).add(tensor(g.mu, { dtype: z.dtype }));
}
