/**
 * Fréchet distance between Gaussians fitted to activations (FID when the activations are Inception pool_3),
 * computed as tfgan's frechet_classifier_distance_from_activations does, in float64:
 *
 *   ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr √(Σ₁Σ₂),   tr √(Σ₁Σ₂) = Σᵢ √λᵢ(√Σ₁ Σ₂ √Σ₁)
 *
 * The product Σ₁Σ₂ is not symmetric, but √Σ₁ Σ₂ √Σ₁ is and has the same eigenvalues, so two symmetric
 * eigen-decompositions replace scipy's general sqrtm: exact for singular (rank-deficient) covariances too,
 * where sqrtm returns complex values or fails. `eps` adds eps·I to both covariances inside the square root
 * only, as pytorch-fid does when sqrtm fails (its traces stay un-offset).
 */
import { fromHost, type Tensor } from '../tensor.js';
import { tidy } from '../scope.js';
import type { HostTensor } from '../host-tensor.js';
import { argError } from '../errors.js';
import { eigh, eyeLike, sqrtmPsd, symmetrize, trace } from './linalg.js';

export type Matrix = Tensor | HostTensor;

const isHost = (t: Matrix): t is HostTensor => typeof (t as Tensor).dispose !== 'function';
function f64(t: Matrix): Tensor {
  return isHost(t) ? fromHost(t).to('float64') : t.to('float64');
}

export interface ActivationStatistics { mu: Tensor; sigma: Tensor }

/** Mean and unbiased covariance (divides by n − 1, like np.cov) of activations [N, D], in float64. */
export function activationStatistics(acts: Matrix): ActivationStatistics {
  return tidy(() => {
    const x = f64(acts);
    if (x.ndim !== 2) argError('acts', 'a 2-D [N, D] matrix', x.shape);
    const n = x.shape[0];
    if (n < 2) argError('acts', 'at least 2 rows', n);
    const mu = x.mean(0);
    const c = x.sub(mu.unsqueeze(0));
    const sigma = c.transpose(0, 1).matmul(c).div(n - 1);
    return { mu, sigma };
  });
}

export interface FrechetOptions {
  /** Offset eps·I added to both covariances inside the matrix square root (default 0). */
  eps?: number;
}

/** Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2). Inputs any float dtype; computed in float64. */
export function frechetDistance(mu1: Matrix, sigma1: Matrix, mu2: Matrix, sigma2: Matrix, opts: FrechetOptions = {}): number {
  const eps = opts.eps ?? 0;
  if (!(eps >= 0)) argError('eps', 'a non-negative number', eps);
  return tidy(() => {
    const m1 = f64(mu1).flatten();
    const m2 = f64(mu2).flatten();
    let s1 = f64(sigma1);
    let s2 = f64(sigma2);
    const d = m1.shape[0];
    for (const [name, s] of [['sigma1', s1], ['sigma2', s2]] as const) {
      if (s.ndim !== 2 || s.shape[0] !== d || s.shape[1] !== d) argError(name, `a ${d}×${d} matrix`, s.shape);
    }
    if (m2.shape[0] !== d) argError('mu2', `a vector of length ${d}`, m2.shape);
    const meanTerm = m1.sub(m2).square().sum().item();
    const traces = trace(s1) + trace(s2);
    if (eps > 0) {
      const off = eyeLike(d, s1).mul(eps);
      s1 = s1.add(off);
      s2 = s2.add(off);
    }
    const root = sqrtmPsd(s1);
    const m = symmetrize(root.matmul(s2).matmul(root));
    const traceSqrt = eigh(m).values.clamp(0, null).sqrt().sum().item();
    return meanTerm + traces - 2 * traceSqrt;
  });
}

/** FID straight from two activation matrices (tfgan frechet_classifier_distance_from_activations). */
export function frechetDistanceFromActivations(actsA: Matrix, actsB: Matrix, opts: FrechetOptions = {}): number {
  return tidy(() => {
    const a = activationStatistics(actsA);
    const b = activationStatistics(actsB);
    return frechetDistance(a.mu, a.sigma, b.mu, b.sigma, opts);
  });
}
