/**
 * Variance-preserving SDE (DDPM's continuous limit): dx = −½β(t)x dt + √β(t) dw (spec §1).
 * Marginal: mean e^{lmc}·x₀, std √(1 − e^{2·lmc}); prior N(0, I); discretisation: DDPM ancestral steps.
 */
import type { Tensor } from '../tensor.js';
import { batchView, DiscreteTable, gaussianEntropy, gaussianLogp, linspace64, timestepIndex } from './base.js';
import { BetaLinearSde, type BetaSdeOptions } from './beta-schedule.js';
import type { Discretization, DriftDiffusion } from './types.js';

/** The DDPM tables of `VPSDE.__init__`: betas = linspace(β0/N, β1/N, N), alphas, ᾱ = cumprod, √ᾱ, √(1−ᾱ). */
export interface DdpmTables {
  discreteBetas: DiscreteTable;
  alphas: DiscreteTable;
  alphasCumprod: DiscreteTable;
  sqrtAlphasCumprod: DiscreteTable;
  sqrt1mAlphasCumprod: DiscreteTable;
}

export function ddpmTables(betaMin: number, betaMax: number, N: number): DdpmTables {
  const betas = linspace64(betaMin / N, betaMax / N, N);
  const alphas = betas.map((b) => 1 - b);
  const cum = new Float64Array(N);
  let p = 1;
  for (let i = 0; i < N; i++) cum[i] = p *= alphas[i];
  return {
    discreteBetas: new DiscreteTable(betas),
    alphas: new DiscreteTable(alphas),
    alphasCumprod: new DiscreteTable(cum),
    sqrtAlphasCumprod: new DiscreteTable(cum.map(Math.sqrt)),
    sqrt1mAlphasCumprod: new DiscreteTable(cum.map((c) => Math.sqrt(1 - c))),
  };
}

export class VPSDE extends BetaLinearSde {
  readonly kind = 'vpsde' as const;
  readonly tables: DdpmTables;

  constructor(opts: BetaSdeOptions = {}) {
    super(opts);
    this.tables = ddpmTables(this.betaMin, this.betaMax, this.N);
  }

  sde(x: Tensor, t: Tensor): DriftDiffusion {
    const beta = this.beta(t);
    return { drift: batchView(beta, x).mul(x).mul(-0.5), diffusion: beta.sqrt() };
  }

  diffusionSquared(t: Tensor): Tensor {
    return this.beta(t);
  }

  /** √(1 − e^{2·lmc}); 'expm1' uses √(−expm1(2·lmc)), 'jax' √(−2·lmc) when |lmc| ≤ 1e-3. */
  marginalStd(t: Tensor): Tensor {
    return this.oneMinusExp2Lmc(t).sqrt();
  }

  priorLogp(z: Tensor): Tensor { return gaussianLogp(z, 1); }
  priorEntropy(z: Tensor): Tensor { return gaussianEntropy(z, 1); }

  /** DDPM: i = int(t(N−1)/T); f_d = (√αᵢ − 1)·x, G = √βᵢ. */
  override discretize(x: Tensor, t: Tensor): Discretization {
    const i = timestepIndex(t, this.N, this.T);
    const beta = this.tables.discreteBetas.gather(i, t);
    const alpha = this.tables.alphas.gather(i, t);
    return { f: batchView(alpha.sqrt(), x).mul(x).sub(x), G: beta.sqrt() };
  }
}
