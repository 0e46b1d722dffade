/**
 * Variance-exploding SDE (SMLD's continuous limit): dx = σ(t)·√(2 ln(σmax/σmin)) dw, σ(t) = σmin(σmax/σmin)^t
 * (spec §1). Marginal mean x₀, std σ(t); prior N(0, σmax² I) (centred at 0, spec §12); discretisation: SMLD.
 */
import { onesLike, where, zerosLike, type Tensor } from '../tensor.js';
import {
  BaseSde, checkNumerics, checkPositive, DiscreteTable, gaussianEntropy, gaussianLogp, linspace64,
} from './base.js';
import type { Discretization, DriftDiffusion, SdeNumerics } from './types.js';

export interface VeSdeOptions {
  sigmaMin?: number;
  sigmaMax?: number;
  N?: number;
  /** No small-t forms exist for VE; accepted for a uniform constructor surface. */
  numerics?: SdeNumerics;
}

export class VESDE extends BaseSde {
  readonly kind = 'vesde' as const;
  readonly sigmaMin: number;
  readonly sigmaMax: number;
  /** σᵢ = exp(linspace(log σmin, log σmax, N)), ascending (the SMLD noise levels reversed). */
  readonly discreteSigmas: DiscreteTable;
  /** The same levels descending (`smld_sigma_array` of the SMLD loss; index = discrete VE label). */
  readonly smldSigmas: DiscreteTable;
  protected readonly priorStd: number;

  constructor(opts: VeSdeOptions = {}) {
    super(opts.N ?? 1000, checkNumerics(opts.numerics));
    this.sigmaMin = checkPositive('sigmaMin', opts.sigmaMin ?? 0.01);
    this.sigmaMax = checkPositive('sigmaMax', opts.sigmaMax ?? 50);
    this.priorStd = this.sigmaMax;
    const sig = linspace64(Math.log(this.sigmaMin), Math.log(this.sigmaMax), this.N).map(Math.exp);
    this.discreteSigmas = new DiscreteTable(sig);
    this.smldSigmas = new DiscreteTable(sig.slice().reverse());
  }

  /** ln(σmax/σmin). */
  get logRatio(): number {
    return Math.log(this.sigmaMax) - Math.log(this.sigmaMin);
  }

  /** σ(t) = σmin·(σmax/σmin)^t, evaluated as exp(ln σmin + t·ln(σmax/σmin)). */
  sigma(t: Tensor): Tensor {
    return t.mul(this.logRatio).add(Math.log(this.sigmaMin)).exp();
  }

  sde(x: Tensor, t: Tensor): DriftDiffusion {
    return { drift: zerosLike(x), diffusion: this.sigma(t).mul(Math.sqrt(2 * this.logRatio)) };
  }

  /** g² = σ(t)²·2 ln(σmax/σmin). */
  diffusionSquared(t: Tensor): Tensor {
    return this.sigma(t).square().mul(2 * this.logRatio);
  }

  meanCoef(t: Tensor): Tensor {
    return onesLike(t);
  }

  marginalStd(t: Tensor): Tensor {
    return this.sigma(t);
  }

  override marginalProb(x: Tensor, t: Tensor) {
    return { mean: x, std: this.sigma(t) };
  }

  priorLogp(z: Tensor): Tensor { return gaussianLogp(z, this.sigmaMax); }
  /** D·(½ log(2πσmax²) + ½) = D·(½ log 2π + ½) + D·log σmax. */
  priorEntropy(z: Tensor): Tensor { return gaussianEntropy(z, this.sigmaMax); }

  /** SMLD: i = int(t(N−1)/T); f_d = 0, G = √(σᵢ² − σᵢ₋₁²) with σ₋₁ := 0. */
  override discretize(x: Tensor, t: Tensor): Discretization {
    const step = t.mul((this.N - 1) / this.T).floor(); // float; integer arithmetic on int64 would promote
    const sigma = this.discreteSigmas.gather(step.to('int64'), t);
    const prev = this.discreteSigmas.gather(step.sub(1).clamp(0).to('int64'), t);
    const adjacent = where(step.eq(0), 0, prev);
    return { f: zerosLike(x), G: sigma.square().sub(adjacent.square()).sqrt() };
  }
}
