/** The library entry point. */
export * from './tensor.js';
export { grad, gradAsync, backwardAsync, noGrad, enableGrad, isGradEnabled, type GradOptions } from './autograd.js';
export { tidy, dispose, memoryStats, tensorsIn } from './scope.js';
export { generator, randn, rand, randint, rademacher, randnLike, type Generator, type RandomOptions } from './random.js';
export { cuda, numThreads, setNumThreads, buildInfo, defaultDevice, resolveDevice } from './device.js';
export { ScoreflowError, type ErrorCode } from './errors.js';
export type { DType, HostTensor } from './host-tensor.js';
export { ScoreModel, type ScoreModelOptions, type ForwardOptions } from './model/score-model.js';
export {
  PRECISIONS, checkPrecision, supportsPrecision, withAutocast, withPrecision, autocastState, applyTf32, tf32State,
  executionPolicy, resolveChannelsLast, type Precision, type Stage, type ExecutionPolicy,
} from './precision.js';
export { Ema } from './model/ema.js';
export { loadConfig, configFromObject } from './config/index.js';
export { Trainer } from './train/trainer.js';
export * as sde from './sde/index.js';
export * as losses from './losses/index.js';
export * as ode from './ode/index.js';
export * as likelihood from './likelihood/index.js';
export * as sampling from './sampling/index.js';
export * as metrics from './metrics/index.js';
export * as data from './data/index.js';
