/**
 * The library entry point (`scoreflow`): tensors and autograd, and at top level what a user needs first —
 * the SDEs, the score network, checkpoint loading, the ODE likelihood, the samplers and the trainer. Each
 * area is also a namespace here and a subpath of its own (`scoreflow/sde`, `scoreflow/formats`, ...).
 */
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
export { Trainer, type TrainOptions, type TrainResult } from './train/trainer.js';
// score_sde's class name for the sub-VP SDE is `subVPSDE`; both spellings name the same class.
export { VPSDE, SubVPSDE, SubVPSDE as subVPSDE, VESDE, sdeFromConfig, getScoreFn, type Sde, type ScoreFn } from './sde/index.js';
export { readStateDict, readCheckpointFile, readReferenceCheckpoint, type StateDictOptions } from './formats/index.js';
export { odeLikelihood, type OdeLikelihoodOptions, type OdeLikelihoodResult } from './likelihood/index.js';
export { sample, pcSample, odeSample, type PcOptions, type OdeSamplerOptions, type SampleResult } from './sampling/index.js';
export * as sde from './sde/index.js';
export * as losses from './losses/index.js';
export * as ode from './ode/index.js';
export * as likelihood from './likelihood/index.js';
export * as sampling from './sampling/index.js';
export * as metrics from './metrics/index.js';
export * as data from './data/index.js';
