/**
 * Continuous-time denoising score matching (spec §2.1; score_sde_pytorch/score_flow `get_sde_loss_fn`,
 * mle_score_ode's high-order extension §2.4). Per example: t from the weighting's sampler, z ~ N(0, I),
 * x_t = mean(t)·x₀ + std(t)·z, s = score(x_t, t); ℓ₁ by the weighting; optionally ℓ₂/ℓ₃ (orders 2, 3).
 * Loss = mean_B ℓ₁ + mean_B ℓ₂ + mean_B ℓ₃.
 */
import { argError, ScoreflowError } from '../errors.js';
import { randn, rademacher } from '../random.js';
import { batchView } from '../sde/base.js';
import { getScoreFn } from '../sde/score-fn.js';
import type { Sde } from '../sde/types.js';
import { tidy } from '../scope.js';
import { zeros, type Tensor } from '../tensor.js';
import { highOrderTerms } from './high-order.js';
import { drawRows } from './shard.js';
import { reduceOp, type LossFn } from './types.js';
import { getWeighting, type WeightingName } from './weighting.js';

export interface DsmOptions {
  weighting: WeightingName;
  reduceMean: boolean;
  /** Smallest time eps of [eps, T]. */
  eps: number;
  /** The network takes continuous labels (score-function convention, spec §3). */
  continuous: boolean;
  train: boolean;
  /** 1 (plain DSM), 2 or 3 (high-order DSM). */
  order: number;
}

function checkInjected(name: string, v: Tensor | undefined, shape: number[]): void {
  if (v && (v.ndim !== shape.length || v.shape.some((d, i) => d !== shape[i]))) argError(name, `shape [${shape}]`, v.shape);
}

export function continuousDsmLoss(sde: Sde, opts: DsmOptions): LossFn {
  if (opts.order !== 1 && !opts.reduceMean) {
    throw new ScoreflowError('ERR_CONFIG', 'high-order DSM requires training.reduce_mean = true (asserted by the reference)');
  }
  const weighting = getWeighting(opts.weighting, sde, opts.eps);
  const reduce = reduceOp(opts.reduceMean);

  return (model, batch, inputs) => tidy(() => {
    const B = batch.shape[0];
    const like = { dtype: batch.dtype, device: batch.device, generator: inputs.generator };
    checkInjected('t', inputs.t, [B]);
    checkInjected('z', inputs.z, batch.shape);
    checkInjected('v', inputs.v, batch.shape);
    const rows = (n: number) => [n, ...batch.shape.slice(1)];
    const t = inputs.t ?? (inputs.quantile ? weighting.sampleTime(B, inputs.generator, batch, inputs.quantile)
      : drawRows(inputs.shard, B, (n) => weighting.sampleTime(n, inputs.generator, batch)));
    const z = inputs.z ?? drawRows(inputs.shard, B, (n) => randn(rows(n), like));
    const { mean, std } = sde.marginalProb(batch, t);
    const xt = mean.add(batchView(std, batch).mul(z));
    const scoreFn = getScoreFn(sde, model, { continuous: opts.continuous, train: opts.train });

    let score: Tensor;
    let loss2: Tensor;
    let loss3: Tensor;
    if (opts.order === 1) {
      score = scoreFn(xt, t);
      loss2 = zeros([B], { dtype: batch.dtype, device: batch.device });
      loss3 = loss2;
    } else {
      const v = inputs.v ?? drawRows(inputs.shard, B, (n) => rademacher(rows(n), like));
      ({ score, loss2, loss3 } = highOrderTerms(opts.order, { scoreFn, xt, t, z, std, v }));
    }
    const loss1 = weighting.perExample({ sde, t, score, z, std, reduce });
    const terms = { loss1: loss1.mean(), loss2: loss2.mean(), loss3: loss3.mean() };
    return {
      loss: terms.loss1.add(terms.loss2).add(terms.loss3),
      terms,
      perExample: { loss1, loss2, loss3 },
      t,
    };
  });
}
