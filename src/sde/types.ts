/**
 * The forward-SDE abstraction of score-based diffusion (spec §1; score_sde_pytorch/score_flow `sde_lib.SDE`).
 * Functions are batched: x is [B, ...] and times t are per-example tensors [B] (same dtype/device as x).
 */
import type { Device } from '../native.js';
import type { DType } from '../host-tensor.js';
import type { Generator } from '../random.js';
import type { Tensor } from '../tensor.js';

/** The registry names (the references' `training.sde` config values). */
export type SdeKind = 'vpsde' | 'subvpsde' | 'vesde';

/**
 * How the small-t closed forms are evaluated.
 * - 'expm1' (default): exact-to-rounding forms, e.g. VP std = √(−expm1(2·lmc)); accurate for every t.
 * - 'jax': score_flow/mle_score_ode `high_precision=True` branches (|lmc| ≤ 1e-3 ⇒ first-order Taylor forms).
 *   These are approximations: relative error up to ~|lmc|/2 just below the switch point.
 * - 'naive': score_sde_pytorch's forms (1 − exp(2·lmc)); in float32 these lose ~all digits as t → 0
 *   (spec §12.1: 0.6 % VP / 1.3 % subVP error in std at t = 1e-5).
 */
export type SdeNumerics = 'expm1' | 'jax' | 'naive';

/** A score function s(x, t) ≈ ∇ₓ log p_t(x). */
export type ScoreFn = (x: Tensor, t: Tensor) => Tensor;

export interface DriftDiffusion {
  /** f(x, t), shaped like x. */
  drift: Tensor;
  /** g(t), shape [B]. */
  diffusion: Tensor;
}

export interface Discretization {
  /** f_d(x, t) (the increment's deterministic part), shaped like x. */
  f: Tensor;
  /** G(t), shape [B]. */
  G: Tensor;
}

export interface MeanStd {
  /** mean coefficient times x (shaped like x). */
  mean: Tensor;
  /** marginal std, shape [B]. */
  std: Tensor;
}

export interface SampleOptions {
  dtype?: DType;
  device?: Device;
}

/** The reverse-time SDE (or probability-flow ODE) of a forward SDE given a score function. */
export interface ReverseSde {
  readonly N: number;
  readonly T: number;
  readonly probabilityFlow: boolean;
  /** drift_rev = f − g²·s·(½ if probabilityFlow else 1); diffusion_rev = g, or zeros for the ODE. */
  sde(x: Tensor, t: Tensor): DriftDiffusion;
  /** f_rev = f_d − G²·s·(½ if PF else 1); G_rev = G, or zeros for the ODE. */
  discretize(x: Tensor, t: Tensor): Discretization;
}

export interface Sde {
  readonly kind: SdeKind;
  /** End time (1 for all three SDEs). */
  readonly T: number;
  /** Number of discretisation steps (`model.num_scales`). */
  readonly N: number;
  readonly numerics: SdeNumerics;
  /** Drift f(x, t) and diffusion g(t). */
  sde(x: Tensor, t: Tensor): DriftDiffusion;
  /** Perturbation kernel p_0t(x_t | x_0) = N(meanCoef(t)·x_0, marginalStd(t)² I). */
  marginalProb(x: Tensor, t: Tensor): MeanStd;
  /** The mean coefficient, [B]. */
  meanCoef(t: Tensor): Tensor;
  /** The marginal std, [B]. */
  marginalStd(t: Tensor): Tensor;
  /** g(t)², [B] (what the likelihood weighting uses; `sde.sde(0, t)[1]**2` in the references). */
  diffusionSquared(t: Tensor): Tensor;
  /** One draw from the prior p_T. */
  priorSampling(shape: number[], gen: Generator, opts?: SampleOptions): Tensor;
  /** log p_T(z) per example, [B]. */
  priorLogp(z: Tensor): Tensor;
  /** Entropy of the prior per example (score_flow `prior_entropy`), [B]. */
  priorEntropy(z: Tensor): Tensor;
  /** x_{i+1} = x_i + f_d + G·z discretisation (DDPM for VP, SMLD for VE, Euler–Maruyama otherwise). */
  discretize(x: Tensor, t: Tensor): Discretization;
  /** The reverse-time SDE / probability-flow ODE. */
  reverse(scoreFn: ScoreFn, opts?: { probabilityFlow?: boolean }): ReverseSde;
}
