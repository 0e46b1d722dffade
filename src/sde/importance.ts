/**
 * Importance sampling of the diffusion time for likelihood weighting (spec §2.2; score_flow
 * `likelihood_importance_cum_weight` / `sample_importance_weighted_time_for_likelihood`).
 *
 * The likelihood-weighted objective ∫_eps^T g²(t)·E‖s − ∇log p_0t‖² dt = ∫ (g²/std²)·h(t) dt is sampled with
 * t ~ p(t) ∝ g²(t)/std²(t) on [eps, T]. With the cumulative weight F(t) = ∫_eps^t g²/std² du and Z = F(T),
 * the unbiased per-draw weight of an integrand h is h(t)·Z·std²(t)/g²(t).
 *
 * Closed forms (B(t) = β0 t + ½(β1−β0)t²):
 * - VP:    g²/std² = β/(1 − e^{−B})            ⇒ F(t) = log(e^{B}−1)|_eps^t
 * - subVP: g²/std² = β(1 + e^{−B})/(1 − e^{−B}) ⇒ F(t) = [2 log(e^{B}−1) − B]|_eps^t
 * - VE:    g²/std² = 2 ln(σmax/σmin), constant  ⇒ F(t) = 2 ln(σmax/σmin)·(t − eps): *uniform* sampling, and
 *          the weight Z·std²/g² = T − eps. (score_flow's VESDE has no such method; this is derived here.)
 *
 * log(e^B − 1) is evaluated as B + log(−expm1(−B)) (exact for every B > 0). With the SDE's numerics set to
 * 'jax' the reference's guards are used instead: VP replaces 1 − e^{−B} by B when B ≤ 1e-3, subVP replaces
 * log(e^B − 1) by log B when B ≤ 1e-3 — first-order approximations with absolute error ≈ B/2 (VP) or B (subVP)
 * in F near eps.
 *
 * Sampling follows the reference: q ~ U[0, Z), then 100 bisection steps of F on [eps, T] (midpoint m;
 * F(m) ≤ q ⇒ lb = m else ub = m), returning (lb + ub)/2 — vectorised over the batch on q's device.
 */
import { ScoreflowError } from '../errors.js';
import { rand, type Generator } from '../random.js';
import { tidy } from '../scope.js';
import { full, tensor, where, type Tensor } from '../tensor.js';
import type { BetaLinearSde } from './beta-schedule.js';
import type { SampleOptions, Sde } from './types.js';
import type { VESDE } from './ve.js';

export interface ImportanceSampler {
  readonly sde: Sde;
  /** Lower end of the time interval. */
  readonly eps: number;
  /** F(t) = ∫_eps^t g²(u)/std²(u) du, elementwise. */
  cumWeight(t: Tensor): Tensor;
  /** Z = F(T) (computed in float64). */
  readonly normalizer: number;
  /** F⁻¹(q) for q ∈ [0, Z] by bisection (`steps` iterations, default 100). */
  invert(q: Tensor, steps?: number): Tensor;
  /** t ~ p(t) ∝ g²/std² on [eps, T]: q = Z·U[0,1) from `gen`, then `invert` (or `quantile` if given). */
  sample(batch: number, gen: Generator, opts?: SampleOptions & { quantile?: Tensor; steps?: number }): Tensor;
  /** The unbiased weight Z·std²(t)/g²(t) of a draw t. */
  weight(t: Tensor): Tensor;
}

/** log(e^B − 1) = B + log(−expm1(−B)), accurate for all B > 0. */
function logExpm1(B: Tensor): Tensor {
  return B.neg().expm1().neg().log().add(B);
}

/** Generic parts: bisection, normaliser, sampling, weight. */
abstract class BaseImportance implements ImportanceSampler {
  readonly normalizer: number;
  constructor(readonly sde: Sde, readonly eps: number) {
    if (!(eps > 0 && eps < sde.T)) {
      throw new ScoreflowError('ERR_ARG', `eps: expected a number in (0, T=${sde.T}), received ${eps}`);
    }
    this.normalizer = tidy(() => this.cumWeight(tensor([sde.T], { dtype: 'float64' })).item());
  }

  abstract cumWeight(t: Tensor): Tensor;

  invert(q: Tensor, steps = 100): Tensor {
    let lb = full(q.shape, this.eps, { dtype: q.dtype, device: q.device });
    let ub = full(q.shape, this.sde.T, { dtype: q.dtype, device: q.device });
    for (let i = 0; i < steps; i++) {
      const [nlb, nub] = tidy(() => {
        const mid = lb.add(ub).mul(0.5);
        const below = this.cumWeight(mid).le(q);
        return [where(below, mid, lb), where(below, ub, mid)];
      });
      lb.dispose();
      ub.dispose();
      lb = nlb;
      ub = nub;
    }
    const t = lb.add(ub).mul(0.5);
    lb.dispose();
    ub.dispose();
    return t;
  }

  sample(batch: number, gen: Generator, opts: SampleOptions & { quantile?: Tensor; steps?: number } = {}): Tensor {
    return tidy(() => {
      const q = opts.quantile ?? rand([batch], { dtype: opts.dtype ?? 'float32', device: opts.device, generator: gen })
        .mul(this.normalizer);
      return this.invert(q, opts.steps);
    });
  }

  weight(t: Tensor): Tensor {
    return tidy(() => this.sde.marginalStd(t).square().div(this.sde.diffusionSquared(t)).mul(this.normalizer));
  }
}

class VpImportance extends BaseImportance {
  /** log(e^{B(t)} − 1) (or the reference's guarded form). */
  private term(t: Tensor): Tensor {
    const sde = this.sde as BetaLinearSde;
    const B = sde.integratedBeta(t);
    if (sde.numerics !== 'jax') return logExpm1(B);
    const oneMinus = where(B.abs().le(1e-3), B, B.neg().exp().neg().add(1));
    return oneMinus.log().add(B);
  }
  cumWeight(t: Tensor): Tensor {
    return tidy(() => this.term(t).sub(this.term(full([1], this.eps, { dtype: t.dtype, device: t.device }))));
  }
}

class SubVpImportance extends BaseImportance {
  /** 2·log(e^{B} − 1) − B (or with the reference's guard log(e^B − 1) ≈ log B for B ≤ 1e-3). */
  private term(t: Tensor): Tensor {
    const sde = this.sde as BetaLinearSde;
    const B = sde.integratedBeta(t);
    const le = sde.numerics === 'jax' ? where(B.le(1e-3), B.log(), B.expm1().log()) : logExpm1(B);
    return le.mul(2).sub(B);
  }
  cumWeight(t: Tensor): Tensor {
    return tidy(() => this.term(t).sub(this.term(full([1], this.eps, { dtype: t.dtype, device: t.device }))));
  }
}

class VeImportance extends BaseImportance {
  private get rate(): number {
    return 2 * (this.sde as VESDE).logRatio;
  }
  cumWeight(t: Tensor): Tensor {
    return t.sub(this.eps).mul(this.rate);
  }
  /** F is linear: the exact inverse eps + q/(2 ln(σmax/σmin)) replaces bisection (same draws, same result). */
  override invert(q: Tensor, steps?: number): Tensor {
    if (steps !== undefined) return super.invert(q, steps);
    return q.div(this.rate).add(this.eps);
  }
}

const SAMPLERS: Record<string, new (sde: Sde, eps: number) => ImportanceSampler> = {
  vpsde: VpImportance,
  subvpsde: SubVpImportance,
  vesde: VeImportance,
};

/** The likelihood importance sampler of `sde` on [eps, T]. */
export function importanceSampler(sde: Sde, eps: number): ImportanceSampler {
  const C = SAMPLERS[sde.kind];
  if (!C) throw new ScoreflowError('ERR_CONFIG', `no likelihood importance sampler for SDE '${sde.kind}'`);
  return new C(sde, eps);
}
