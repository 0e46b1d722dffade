/**
 * The references' optimisation step (score_sde_pytorch `optimization_manager`): learning-rate warm-up
 * lr·min(step/warmup, 1) with `step` the count before the update (so the first update uses lr 0),
 * global-norm gradient clipping as torch.nn.utils.clip_grad_norm_ (coef = max/(‖g‖ + 1e-6), at most 1;
 * grad_clip < 0 disables it), then Adam.
 */
import { addon, type NativeAdam } from '../native.js';
import type { OptimConfig, DeepReadonly } from '../config/index.js';
import { full, type Tensor } from '../tensor.js';
import { tidy } from '../scope.js';
import { ScoreflowError } from '../errors.js';

/** `gradNorm` stays on the parameters' device (reading it is a host sync); the caller disposes it. */
export interface StepInfo { lr: number; gradNorm: Tensor }

export class Optimizer {
  private readonly adam: NativeAdam;

  constructor(readonly params: Tensor[], readonly config: DeepReadonly<OptimConfig>) {
    if (config.optimizer !== 'Adam') {
      throw new ScoreflowError('ERR_CONFIG', `optim.optimizer: expected 'Adam', received '${config.optimizer}'`);
    }
    this.adam = new (addon().Adam)(params, { beta1: config.beta1, beta2: 0.999, eps: config.eps, weightDecay: config.weight_decay });
  }

  learningRate(step: number): number {
    const { lr, warmup } = this.config;
    return warmup > 0 ? lr * Math.min(step / warmup, 1) : lr;
  }

  /**
   * Clips and applies the accumulated gradients for update number `step` (0-based); returns the
   * pre-clipping gradient norm. Nothing here reads a device value: a non-finite norm is caught by the
   * trainer's StepHealth before the state it produces can be saved.
   */
  step(step: number): StepInfo {
    const lr = this.learningRate(step);
    const gradNorm = addon().gradNorm(this.params) as Tensor;
    try {
      if (this.config.grad_clip >= 0) {
        tidy(() => {
          const coef = full([], this.config.grad_clip, { dtype: gradNorm.dtype, device: gradNorm.device })
            .div(gradNorm.add(1e-6)).clamp(null, 1);
          addon().scaleGrads(this.params, coef);
        });
      }
      this.adam.step(lr);
    } catch (e) {
      gradNorm.dispose();
      throw e;
    }
    return { lr, gradNorm };
  }

  zeroGrad(): void { this.adam.zeroGrad(); }
  state() { return this.adam.state() as { step: number[]; expAvg: Tensor[]; expAvgSq: Tensor[] }; }
  setState(s: { step: number[]; expAvg: Tensor[]; expAvgSq: Tensor[] }): void { this.adam.setState(s); }
  dispose(): void { this.adam.dispose(); }
}
