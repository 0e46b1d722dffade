export { runEvaluation, watchEvaluation, type EvalOptions, type CheckpointEvalResult } from './run.js';
export { waitForCheckpoint, WatchStopped, type WatchOptions } from './watch.js';
export { evaluateLikelihood, roundSeed, type LikelihoodEvalOptions, type LikelihoodEvalResult, type LikelihoodSummary } from './likelihood.js';
export { evaluateLoss, type LossEvalOptions, type LossEvalResult } from './loss.js';
export { loadEvalModel, type EvalModel } from './checkpoint.js';
export { meanCi, type MeanCi } from './stats.js';
export {
  roundFileName, summaryFileName, lossFileName, checkpointFile, readRoundFile, writeRoundFile, type LikelihoodKind,
} from './files.js';
