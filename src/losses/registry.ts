/**
 * The objective of a config (`run_lib` → `losses.get_step_fn`): keyed by training.continuous,
 * likelihood_weighting, importance_weighting, reduce_mean, score_matching_order and smallest_time.
 */
import { ScoreflowError } from '../errors.js';
import type { Sde } from '../sde/types.js';
import { discreteLoss } from './discrete.js';
import { continuousDsmLoss } from './dsm.js';
import { supportedOrders } from './high-order.js';
import type { LossConfig, LossFn } from './types.js';
import { weightingName } from './weighting.js';

/** Discrete objective per SDE kind (score_sde_pytorch: SMLD for VE, DDPM for VP; none for subVP). */
const DISCRETE: Record<string, 'smld' | 'ddpm'> = { vesde: 'smld', vpsde: 'ddpm' };

export interface LossFnOptions {
  /** Training (dropout on) or evaluation mode of the network. */
  train: boolean;
}

export function getLossFn(sde: Sde, config: LossConfig, opts: LossFnOptions = { train: true }): LossFn {
  const order = config.score_matching_order ?? 1;
  if (!supportedOrders().includes(order)) {
    throw new ScoreflowError('ERR_CONFIG', `training.score_matching_order must be one of ${supportedOrders().join(', ')}, got ${order}`);
  }
  if (config.continuous) {
    return continuousDsmLoss(sde, {
      weighting: weightingName(config),
      reduceMean: config.reduce_mean,
      eps: config.smallest_time,
      continuous: true,
      train: opts.train,
      order,
    });
  }
  if (config.likelihood_weighting) {
    throw new ScoreflowError('ERR_CONFIG', 'likelihood weighting is not supported for the discrete SMLD/DDPM objectives');
  }
  if (order !== 1) throw new ScoreflowError('ERR_CONFIG', 'high-order DSM needs continuous training');
  const name = DISCRETE[sde.kind];
  if (!name) throw new ScoreflowError('ERR_CONFIG', `discrete training for ${sde.kind} is not supported`);
  return discreteLoss(name, sde, { reduceMean: config.reduce_mean, train: opts.train });
}
