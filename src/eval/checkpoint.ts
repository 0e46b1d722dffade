/**
 * The score model of a snapshot checkpoint for evaluation: `checkpoints/checkpoint_<c>.pth` (ours or
 * score_sde_pytorch's layout) restored, the EMA weights copied into the network (as the references'
 * `ema.copy_to`), eval mode, running at eval.precision (and eval.allow_tf32 on CUDA).
 */
import { existsSync } from 'node:fs';
import type { DeepReadonly, OptimConfig, ResolvedConfig } from '../config/index.js';
import { ScoreModel } from '../model/score-model.js';
import { Ema, type EmaConvention } from '../model/ema.js';
import { Optimizer } from '../train/optimizer.js';
import { restoreCheckpoint, type CheckpointedModel } from '../train/checkpoint.js';
import { ScoreflowError } from '../errors.js';

export interface EvalModel { model: ScoreModel; step: number }

export function loadEvalModel(config: ResolvedConfig, path: string, device: string): EvalModel {
  if (!existsSync(path)) throw new ScoreflowError('ERR_FORMAT', `checkpoint not found: ${path}`);
  const model = new ScoreModel(config, { seed: config.seed, device, stage: 'eval' }); // eval.precision, eval.allow_tf32
  try {
    const step = restoreEmaWeights(model, path, config.optim, config.model.ema_rate, 'torch');
    model.eval();
    return { model, step };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/**
 * Restores a training checkpoint (ours or score_sde_pytorch's layout) into `model` and copies its EMA
 * weights into the parameters (the references' `ema.copy_to`); returns the checkpoint's step.
 */
export function restoreEmaWeights(model: CheckpointedModel, path: string, optim: DeepReadonly<OptimConfig>, emaRate: number, convention: EmaConvention): number {
  const params = model.parameters();
  const ema = new Ema(params, emaRate, convention);
  const optimizer = new Optimizer(params, optim);
  const state = { step: 0, model, ema, optimizer };
  try {
    restoreCheckpoint(path, state);
    ema.copyTo(params);
    return state.step;
  } finally {
    ema.dispose();
    optimizer.dispose();
  }
}
