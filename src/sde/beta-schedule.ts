/**
 * The linear β schedule shared by VP and subVP: β(t) = β0 + t(β1 − β0), B(t) = ∫₀ᵗ β = β0·t + ½(β1 − β0)t²,
 * and the log mean coefficient lmc(t) = −¼t²(β1 − β0) − ½tβ0 = −½B(t) (spec §1).
 */
import { where, type Tensor } from '../tensor.js';
import { BaseSde, checkNumerics, checkPositive } from './base.js';
import type { SdeNumerics } from './types.js';

export interface BetaSdeOptions {
  betaMin?: number;
  betaMax?: number;
  N?: number;
  numerics?: SdeNumerics;
}

/** |lmc| (VP/subVP marginals) or |exponent| (subVP diffusion) at or below which the JAX Taylor forms apply. */
export const JAX_SMALL = 1e-3;

export abstract class BetaLinearSde extends BaseSde {
  readonly betaMin: number;
  readonly betaMax: number;
  protected readonly priorStd = 1;

  constructor(opts: BetaSdeOptions = {}) {
    super(opts.N ?? 1000, checkNumerics(opts.numerics));
    this.betaMin = checkPositive('betaMin', opts.betaMin ?? 0.1);
    this.betaMax = checkPositive('betaMax', opts.betaMax ?? 20);
  }

  /** β(t). */
  beta(t: Tensor): Tensor {
    return t.mul(this.betaMax - this.betaMin).add(this.betaMin);
  }
  /** B(t) = ∫₀ᵗ β(s) ds ≥ 0. */
  integratedBeta(t: Tensor): Tensor {
    return t.square().mul(0.5 * (this.betaMax - this.betaMin)).add(t.mul(this.betaMin));
  }
  /** B(t) in float64 host arithmetic. */
  integratedBeta64(t: number): number {
    return this.betaMin * t + 0.5 * (this.betaMax - this.betaMin) * t * t;
  }
  /** lmc(t) = −B(t)/2, the log of the mean coefficient. */
  logMeanCoef(t: Tensor): Tensor {
    return t.square().mul(-0.25 * (this.betaMax - this.betaMin)).sub(t.mul(0.5 * this.betaMin));
  }

  meanCoef(t: Tensor): Tensor {
    const lmc = this.logMeanCoef(t);
    if (this.numerics === 'jax') return jaxSmall(lmc, lmc.add(1), lmc.exp());
    return lmc.exp(); // exp is accurate for every lmc ≤ 0; no branch needed
  }

  /** 1 − e^{2·lmc} = 1 − e^{−B} (the VP variance, the subVP std), per the numerics mode. */
  protected oneMinusExp2Lmc(t: Tensor): Tensor {
    const lmc = this.logMeanCoef(t);
    const two = lmc.mul(2);
    switch (this.numerics) {
      case 'expm1': return two.expm1().neg();
      case 'jax': return jaxSmall(lmc, two.neg(), two.exp().neg().add(1));
      default: return two.exp().neg().add(1);
    }
  }
}

/** where(|ref| ≤ 1e-3, small, large): the score_flow high-precision switch. */
export function jaxSmall(ref: Tensor, small: Tensor, large: Tensor): Tensor {
  return where(ref.abs().le(JAX_SMALL), small, large);
}
