/** The training step both benches time: the configured loss, backward, clipping + Adam, EMA (as the trainer). */
import type { Config, DeepReadonly } from '../../src/config/index.js';
import type { ScoreModel } from '../../src/model/score-model.js';
import { Ema } from '../../src/model/ema.js';
import { Optimizer } from '../../src/train/optimizer.js';
import { sdeFromConfig } from '../../src/sde/index.js';
import { getLossFn } from '../../src/losses/index.js';
import type { Tensor } from '../../src/tensor.js';
import type { Generator } from '../../src/random.js';
import { tidy } from '../../src/scope.js';

export interface BenchTrainStep { step: () => void; opt: Optimizer; ema: Ema; params: Tensor[] }

export function benchTrainStep(config: DeepReadonly<Config>, model: ScoreModel, x: Tensor, gen: Generator): BenchTrainStep {
  const params = model.parameters();
  const ema = new Ema(params, config.model.ema_rate);
  const opt = new Optimizer(params, config.optim);
  const loss = getLossFn(sdeFromConfig(config), config.training, { train: true });
  let n = 0;
  const step = () => {
    tidy(() => {
      loss(model.train(), x, { generator: gen }).loss.backward();
      opt.step(n++).gradNorm.dispose();
    });
    opt.zeroGrad();
    ema.update(params);
  };
  return { step, opt, ema, params };
}
