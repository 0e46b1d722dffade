/**
 * The score model of a snapshot checkpoint for evaluation: `checkpoints/checkpoint_<c>.pth` (ours or
 * score_sde_pytorch's layout) restored, the EMA weights copied into the network (as the references'
 * `ema.copy_to`), eval mode, running at eval.precision (and eval.allow_tf32 on CUDA).
 */
import { existsSync } from 'node:fs';
import type { ResolvedConfig } from '../config/index.js';
import { ScoreModel } from '../model/score-model.js';
import { Ema } from '../model/ema.js';
import { Optimizer } from '../train/optimizer.js';
import { restoreCheckpoint } from '../train/checkpoint.js';
import { ScoreflowError } from '../errors.js';

export interface EvalModel { model: ScoreModel; step: number }

export function loadEvalModel(config: ResolvedConfig, path: string, device: string): EvalModel {
  if (!existsSync(path)) throw new ScoreflowError('ERR_FORMAT', `checkpoint not found: ${path}`);
  const model = new ScoreModel(config, { seed: config.seed, device, stage: 'eval' }); // eval.precision, eval.allow_tf32
  const params = model.parameters();
  const ema = new Ema(params, config.model.ema_rate, 'torch');
  const optimizer = new Optimizer(params, config.optim);
  const state = { step: 0, model, ema, optimizer };
  try {
    restoreCheckpoint(path, state);
    ema.copyTo(params);
    model.eval();
    return { model, step: state.step };
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    ema.dispose();
    optimizer.dispose();
  }
}
