/**
 * Sub-VP SDE: dx = −½β(t)x dt + √(β(t)(1 − e^{−2B(t)})) dw (spec §1). Its marginal variance is
 * (1 − e^{−B})², so the *std* is 1 − e^{2·lmc} (not square-rooted — easy to mis-port, spec §12).
 * No discretisation override: Euler–Maruyama (and no DDPM tables, so discrete training is unsupported).
 */
import type { Tensor } from '../tensor.js';
import { batchView, gaussianEntropy, gaussianLogp } from './base.js';
import { BetaLinearSde, jaxSmall } from './beta-schedule.js';
import type { DriftDiffusion } from './types.js';

export class SubVPSDE extends BetaLinearSde {
  readonly kind = 'subvpsde' as const;

  /** 1 − e^{exponent}, exponent = −2β0t − (β1−β0)t² = −2B(t); 'jax' uses −exponent when |exponent| ≤ 1e-3. */
  discount(t: Tensor): Tensor {
    const exponent = this.integratedBeta(t).mul(-2);
    switch (this.numerics) {
      case 'expm1': return exponent.expm1().neg();
      case 'jax': return jaxSmall(exponent, exponent.neg(), exponent.exp().neg().add(1));
      default: return exponent.exp().neg().add(1);
    }
  }

  sde(x: Tensor, t: Tensor): DriftDiffusion {
    const beta = this.beta(t);
    return { drift: batchView(beta, x).mul(x).mul(-0.5), diffusion: beta.mul(this.discount(t)).sqrt() };
  }

  diffusionSquared(t: Tensor): Tensor {
    return this.beta(t).mul(this.discount(t));
  }

  /** 1 − e^{2·lmc}; 'expm1' uses −expm1(2·lmc), 'jax' −2·lmc when |lmc| ≤ 1e-3. */
  marginalStd(t: Tensor): Tensor {
    return this.oneMinusExp2Lmc(t);
  }

  priorLogp(z: Tensor): Tensor { return gaussianLogp(z, 1); }
  priorEntropy(z: Tensor): Tensor { return gaussianEntropy(z, 1); }
}
