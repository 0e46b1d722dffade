/**
 * Score-model output conventions (spec §3; `models/utils.py:get_score_fn` of score_sde_pytorch/score_flow):
 * what label the network is fed and how its output becomes a score, per SDE and training mode.
 *
 * | convention      | label fed to the net                    | score                                    |
 * |-----------------|-----------------------------------------|------------------------------------------|
 * | vp-continuous   | 999·t (float; also subVP, always)       | −net(x, 999t) / marginalStd(t)            |
 * | vp-discrete     | t·(N−1) (float)                         | −net / √(1−ᾱ)[int(t(N−1))]               |
 * | ve-continuous   | σ(t) (the marginal std)                 | net(x, σ(t))                             |
 * | ve-discrete     | round((T − t)(N−1)) (int64, descending σ)| net(x, label)                            |
 */
import { ScoreflowError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { batchView } from './base.js';
import type { ScoreFn, Sde } from './types.js';
import type { VPSDE } from './vp.js';

/** Any network: a plain function, or a module with `forward` and an optional train/eval switch. */
export type ModelFn = (x: Tensor, labels: Tensor) => Tensor;
export type ScoreModel = ModelFn | { forward(x: Tensor, labels: Tensor): Tensor; train?(on: boolean): void };

export interface ScoreFnOptions {
  /** The network takes continuous time labels (all `*_continuous` configs). */
  continuous: boolean;
  /** Training mode (dropout on) vs evaluation; forwarded to `model.train(on)` when the model has it. */
  train?: boolean;
}

/** `get_model_fn`: sets train/eval mode on each call, like the reference, then runs the network. */
export function getModelFn(model: ScoreModel, train = false): ModelFn {
  if (typeof model === 'function') return model;
  return (x, labels) => {
    model.train?.(train);
    return model.forward(x, labels);
  };
}

type Convention = (sde: Sde, net: ModelFn) => ScoreFn;

const CONVENTIONS: Record<string, Convention> = {
  'vp-continuous': (sde, net) => (x, t) => {
    const out = net(x, t.mul(999));
    return out.div(batchView(sde.marginalStd(t), x)).neg();
  },
  'vp-discrete': (sde, net) => (x, t) => {
    const labels = t.mul(sde.N - 1);
    const out = net(x, labels);
    const std = (sde as VPSDE).tables.sqrt1mAlphasCumprod.gather(labels.to('int64'), t);
    return out.div(batchView(std, x)).neg();
  },
  've-continuous': (sde, net) => (x, t) => net(x, sde.marginalStd(t)),
  've-discrete': (sde, net) => (x, t) => {
    const labels = t.neg().add(sde.T).mul(sde.N - 1).round().to('int64');
    return net(x, labels);
  },
};

/** Which convention applies: subVP is always continuous (its score fn ignores the flag in the references). */
export function scoreConvention(sde: Sde, continuous: boolean): string {
  switch (sde.kind) {
    case 'vpsde': return continuous ? 'vp-continuous' : 'vp-discrete';
    case 'subvpsde': return 'vp-continuous';
    case 'vesde': return continuous ? 've-continuous' : 've-discrete';
    default:
      throw new ScoreflowError('ERR_CONFIG', `no score-function convention for SDE '${(sde as Sde).kind}'`);
  }
}

/** Wraps a network so that its output is a score ∇ₓ log p_t(x) of the given SDE. */
export function getScoreFn(sde: Sde, model: ScoreModel, opts: ScoreFnOptions): ScoreFn {
  const net = getModelFn(model, opts.train ?? false);
  return CONVENTIONS[scoreConvention(sde, opts.continuous)](sde, net);
}
