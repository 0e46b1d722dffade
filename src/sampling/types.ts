/** Shared types of the samplers: one signature `(scoreFn, sde, shape, opts) => { x, nfe }` for all of them. */
import type { Tensor } from '../tensor.js';
import type { DType } from '../host-tensor.js';
import type { Device } from '../native.js';
import type { Generator } from '../random.js';
import type { ReverseSde, ScoreFn, Sde } from '../sde/types.js';

export interface ProgressInfo {
  /** Steps done (PC: grid points; ODE: accepted steps). */
  step: number;
  /** Total steps when known in advance (PC), else undefined. */
  total?: number;
  /** Current time. */
  t: number;
  nfe: number;
}

export interface SamplerOptions {
  /** Source of every random draw (prior, noise). */
  generator: Generator;
  /** Final time of the reverse process (score_sde_pytorch: 1e-3 for VP/subVP, 1e-5 for VE). */
  eps?: number;
  /** dtype and device of the samples (default float32 on the CPU). */
  dtype?: DType;
  device?: Device;
  /** Start from this x_T instead of a prior draw. */
  init?: Tensor;
  /** Maps samples to data space (default identity; e.g. (x + 1)/2 for centered data). */
  inverseScaler?: (x: Tensor) => Tensor;
  onProgress?: (info: ProgressInfo) => void;
}

export interface SampleResult {
  x: Tensor;
  /** Score-function evaluations per sample batch. */
  nfe: number;
}

export type Sampler<O extends SamplerOptions = SamplerOptions> =
  (scoreFn: ScoreFn, sde: Sde, shape: number[], opts: O) => SampleResult;

/** What a predictor or corrector step sees. */
export interface StepContext {
  sde: Sde;
  scoreFn: ScoreFn;
  /** sde.reverse(scoreFn, { probabilityFlow }). */
  rsde: ReverseSde;
  probabilityFlow: boolean;
  generator: Generator;
}

/** One update at time t (per-example [B] tensor): the new state and its noise-free mean. */
export type UpdateFn = (x: Tensor, t: Tensor) => { x: Tensor; xMean: Tensor };
