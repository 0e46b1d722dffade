/**
 * The legacy discrete objectives of score_sde_pytorch (spec §2.3), labels j ~ U{0, …, N−1}:
 * - SMLD (VE): σ = descending σ-levels[j], x̃ = x + σz, ℓ = reduce((net(x̃, j) + σz/σ²)²)·σ².
 * - DDPM (VP): x̃ = √ᾱⱼ·x + √(1−ᾱⱼ)·z, ℓ = reduce((net(x̃, j) − z)²).
 * The network is called directly with the integer labels (no score conversion).
 */
import { argError, ScoreflowError } from '../errors.js';
import { randint, randn } from '../random.js';
import { batchView } from '../sde/base.js';
import { getModelFn } from '../sde/score-fn.js';
import type { Sde } from '../sde/types.js';
import type { VESDE } from '../sde/ve.js';
import type { VPSDE } from '../sde/vp.js';
import { tidy } from '../scope.js';
import { zeros, type Tensor } from '../tensor.js';
import { drawRows } from './shard.js';
import { reduceOp, type LossFn, type LossInputs, type ReduceOp } from './types.js';

export interface DiscreteOptions {
  reduceMean: boolean;
  train: boolean;
}

type PerExample = (sde: Sde, net: (x: Tensor, l: Tensor) => Tensor, x: Tensor, labels: Tensor, z: Tensor, reduce: ReduceOp) => Tensor;

const OBJECTIVES: Record<string, { sde: string; perExample: PerExample }> = {
  smld: {
    sde: 'vesde',
    perExample: (sde, net, x, labels, z, reduce) => {
      const sigmas = (sde as VESDE).smldSigmas.gather(labels, x);
      const noise = batchView(sigmas, x).mul(z);
      const score = net(noise.add(x), labels);
      const target = noise.div(batchView(sigmas.square(), x)).neg();
      return reduce(score.sub(target).square()).mul(sigmas.square());
    },
  },
  ddpm: {
    sde: 'vpsde',
    perExample: (sde, net, x, labels, z, reduce) => {
      const tables = (sde as VPSDE).tables;
      const a = batchView(tables.sqrtAlphasCumprod.gather(labels, x), x);
      const b = batchView(tables.sqrt1mAlphasCumprod.gather(labels, x), x);
      const out = net(a.mul(x).add(b.mul(z)), labels);
      return reduce(out.sub(z).square());
    },
  },
};

export function discreteLoss(name: 'smld' | 'ddpm', sde: Sde, opts: DiscreteOptions): LossFn {
  const obj = OBJECTIVES[name];
  if (!obj) throw new ScoreflowError('ERR_CONFIG', `unknown discrete objective '${name}'`);
  if (sde.kind !== obj.sde) {
    throw new ScoreflowError('ERR_CONFIG', `${name.toUpperCase()} training only works for ${obj.sde} (got ${sde.kind})`);
  }
  const reduce = reduceOp(opts.reduceMean);
  return (model, batch, inputs: LossInputs) => tidy(() => {
    const B = batch.shape[0];
    const labels = inputs.labels ?? drawRows(inputs.shard, B, (n) => randint(0, sde.N, [n], { device: batch.device, generator: inputs.generator }));
    if (labels.dtype !== 'int64' || labels.ndim !== 1 || labels.shape[0] !== B) argError('labels', `int64 [${B}]`, labels.shape);
    const z = inputs.z ?? drawRows(inputs.shard, B, (n) => randn([n, ...batch.shape.slice(1)], { dtype: batch.dtype, device: batch.device, generator: inputs.generator }));
    const loss1 = obj.perExample(sde, getModelFn(model, opts.train), batch, labels, z, reduce);
    const zero = zeros([B], { dtype: batch.dtype, device: batch.device });
    const terms = { loss1: loss1.mean(), loss2: zero.sum(), loss3: zero.sum() };
    return { loss: terms.loss1, terms, perExample: { loss1, loss2: zero, loss3: zero }, t: labels };
  });
}
