/** The training loop and what a run leaves behind (the `scoreflow/train` entry point). */
export {
  Trainer, META_DIR, type TrainOptions, type TrainResult, type TrainLogger, type ResumeInfo,
} from './trainer.js';
export { Optimizer, type StepInfo } from './optimizer.js';
export { saveCheckpoint, restoreCheckpoint, type TrainingState, type CheckpointExtras } from './checkpoint.js';
export { DivergenceError } from './divergence.js';
export { readJsonl, parseJsonl, type JsonlReadResult } from './jsonl-log.js';
export { readEvents, type TfEvent, type SummaryValue, type SummaryImage } from './tensorboard.js';
