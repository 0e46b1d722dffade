/** Test helpers of the eval tests. */
import type { ResolvedConfig } from '../../src/config/index.js';
import { ScoreModel } from '../../src/model/score-model.js';
import { Ema } from '../../src/model/ema.js';
import { Optimizer } from '../../src/train/optimizer.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';

/** A checkpoint of the freshly initialised model of `config` (0 training steps), in the training loop's layout. */
export function writeUntrainedCheckpoint(config: ResolvedConfig, path: string): void {
  const model = new ScoreModel(config, { seed: config.seed });
  const params = model.parameters();
  const ema = new Ema(params, config.model.ema_rate);
  const optimizer = new Optimizer(params, config.optim);
  saveCheckpoint(path, { step: 0, model, ema, optimizer });
  ema.dispose();
  optimizer.dispose();
  model.dispose();
}
