/**
 * Weightings λ(t) of the continuous DSM objective (spec §2.1) and how each samples t:
 * - 'original'      λ = std²: t ~ U[eps, T), ℓ = reduce((s·std + z)²).
 * - 'likelihood'    λ = g²:   t ~ U[eps, T), ℓ = reduce((s + z/std)²)·g²(t).
 * - 'likelihood_is' λ = g² with t ~ p(t) ∝ g²/std² (importance sampling, score_flow): ℓ = reduce((s·std + z)²);
 *                   the constant normaliser Z is dropped, as in the reference.
 */
import { ScoreflowError } from '../errors.js';
import { rand, type Generator } from '../random.js';
import { batchView } from '../sde/base.js';
import { importanceSampler, type ImportanceSampler } from '../sde/importance.js';
import type { Sde } from '../sde/types.js';
import type { Tensor } from '../tensor.js';
import type { LossConfig, ReduceOp } from './types.js';

export type WeightingName = 'original' | 'likelihood' | 'likelihood_is';

export interface WeightingContext {
  sde: Sde;
  t: Tensor;
  /** The score at x_t, shaped like the batch. */
  score: Tensor;
  z: Tensor;
  /** marginal std, [B]. */
  std: Tensor;
  reduce: ReduceOp;
}

export interface Weighting {
  readonly name: WeightingName;
  /** Draws t [B] on [eps, T) in `like`'s dtype/device. */
  sampleTime(batch: number, gen: Generator, like: Tensor, quantile?: Tensor): Tensor;
  /** The per-example first-order loss ℓ(t), [B]. */
  perExample(ctx: WeightingContext): Tensor;
}

function uniformTime(sde: Sde, eps: number) {
  return (batch: number, gen: Generator, like: Tensor): Tensor =>
    rand([batch], { dtype: like.dtype, device: like.device, generator: gen }).mul(sde.T - eps).add(eps);
}

/** reduce((s·std + z)²). */
function noisePrediction({ score, std, z, reduce }: WeightingContext): Tensor {
  return reduce(score.mul(batchView(std, score)).add(z).square());
}

const WEIGHTINGS: Record<WeightingName, (sde: Sde, eps: number) => Weighting> = {
  original: (sde, eps) => ({ name: 'original', sampleTime: uniformTime(sde, eps), perExample: noisePrediction }),
  likelihood: (sde, eps) => ({
    name: 'likelihood',
    sampleTime: uniformTime(sde, eps),
    perExample: ({ sde: s, t, score, std, z, reduce }) =>
      reduce(score.add(z.div(batchView(std, z))).square()).mul(s.diffusionSquared(t)),
  }),
  likelihood_is: (sde, eps) => {
    const sampler: ImportanceSampler = importanceSampler(sde, eps);
    return {
      name: 'likelihood_is',
      sampleTime: (batch, gen, like, quantile) =>
        sampler.sample(batch, gen, { dtype: like.dtype, device: like.device, quantile }),
      perExample: noisePrediction,
    };
  },
};

/** The weighting of a config: importance weighting only matters together with likelihood weighting. */
export function weightingName(cfg: Pick<LossConfig, 'likelihood_weighting' | 'importance_weighting'>): WeightingName {
  if (!cfg.likelihood_weighting) return 'original';
  return cfg.importance_weighting ? 'likelihood_is' : 'likelihood';
}

export function getWeighting(name: WeightingName, sde: Sde, eps: number): Weighting {
  const make = WEIGHTINGS[name];
  if (!make) throw new ScoreflowError('ERR_CONFIG', `unknown weighting '${name}'`);
  return make(sde, eps);
}
