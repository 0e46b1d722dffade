/** Shared types of the training objectives (spec §2). */
import type { Generator } from '../random.js';
import type { ScoreModel } from '../sde/score-fn.js';
import type { Tensor } from '../tensor.js';
import type { LossShard } from './shard.js';

/**
 * Randomness of one loss evaluation. Everything is drawn from `generator` in a fixed order
 * (t or discrete labels, then z, then the Rademacher probe v), unless injected — injecting makes a loss
 * evaluation a deterministic function of its inputs (golden tests, finite differences, evaluation).
 */
export interface LossInputs {
  generator: Generator;
  /** Diffusion times [B] (continuous losses). */
  t?: Tensor;
  /** Importance-sampling quantiles q ∈ [0, Z) [B] (likelihood weighting + IS; ignored when t is given). */
  quantile?: Tensor;
  /** Integer noise-level labels [B] int64 (discrete SMLD/DDPM losses). */
  labels?: Tensor;
  /** Standard normal noise, shaped like the batch. */
  z?: Tensor;
  /** Rademacher probe (±1), shaped like the batch (high-order DSM). */
  v?: Tensor;
  /** Data parallelism: the batch is these rows of a global batch; what is drawn is drawn for all of it (shard.ts). */
  shard?: LossShard;
}

/** Batch-averaged terms: total = loss1 + loss2 + loss3 (mle_score_ode logs all four). */
export interface LossTerms {
  loss1: Tensor;
  loss2: Tensor;
  loss3: Tensor;
}

export interface LossResult {
  /** Scalar objective to differentiate. */
  loss: Tensor;
  /** Scalar terms (zeros for orders not computed). */
  terms: LossTerms;
  /** Per-example terms, each [B]. */
  perExample: LossTerms;
  /** The times (continuous) or labels (discrete) used. */
  t: Tensor;
}

export type LossFn = (model: ScoreModel, batch: Tensor, inputs: LossInputs) => LossResult;

/** The `config.training` fields that choose the objective. */
export interface LossConfig {
  continuous: boolean;
  likelihood_weighting: boolean;
  importance_weighting: boolean;
  reduce_mean: boolean;
  /** 1, 2 or 3 (mle_score_ode). */
  score_matching_order: number;
  /** eps of t ~ [eps, T] (score_flow `training.smallest_time`; score_sde_pytorch hard-codes 1e-5). */
  smallest_time: number;
}

/** reduce over the data dimensions of a [B, …] tensor: mean, or ½·sum (the references' `reduce_op`). */
export type ReduceOp = (v: Tensor) => Tensor;

export function reduceOp(reduceMean: boolean): ReduceOp {
  return reduceMean
    ? (v) => v.reshape([v.shape[0], -1]).mean(1)
    : (v) => v.reshape([v.shape[0], -1]).sum(1).mul(0.5);
}
