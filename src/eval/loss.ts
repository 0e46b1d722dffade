/**
 * The evaluation loss of a checkpoint over the test split (references: `eval.enable_loss`): the training
 * objective with train = false (no dropout) and the EMA weights, one value per batch of eval.batch_size
 * (last partial batch dropped, data dequantized per data.uniform_dequantization, then scaled), saved as
 * `ckpt_<c>_loss.npz` with `all_losses` (per batch) and `mean_loss`. In a data-parallel job each batch is split
 * into the ranks' rows (the noise drawn for the whole batch: src/losses/shard.ts) and the shard means averaged;
 * rank 0 writes.
 */
import { join } from 'node:path';
import type { ResolvedConfig } from '../config/index.js';
import type { ImageDataset } from '../data/index.js';
import { evaluationLoader, deriveSeed } from '../data/index.js';
import { fromHost } from '../tensor.js';
import { tidy } from '../scope.js';
import { noGrad } from '../autograd.js';
import { generator } from '../random.js';
import type { Sde } from '../sde/types.js';
import type { ScoreModel } from '../model/score-model.js';
import { getLossFn } from '../losses/index.js';
import { Progress, type ProgressStream } from '../train/progress.js';
import { ScoreflowError } from '../errors.js';
import type { ProcessGroup } from '../dist/process-group.js';
import { lossFileName, writeLossFile } from './files.js';

export interface LossEvalOptions {
  ckpt: number;
  evalDir: string;
  device: string;
  dataset?: ImageDataset;
  maxBatches?: number;
  progressStream?: ProgressStream;
  /** Data-parallel job: this rank's rows of every batch; only rank 0 writes. */
  group?: ProcessGroup;
}

export interface LossEvalResult { allLosses: number[]; meanLoss: number; path: string }

export async function evaluateLoss(config: ResolvedConfig, sde: Sde, model: ScoreModel, o: LossEvalOptions): Promise<LossEvalResult> {
  const world = o.group?.worldSize ?? 1, rank = o.group?.rank ?? 0;
  const B = config.eval.batch_size;
  if (B % world !== 0) throw new ScoreflowError('ERR_CONFIG', `eval.batch_size (${B}) must split evenly over the ${world} processes`);
  const rows = B / world;
  const lossFn = getLossFn(sde, config.training, { train: false });
  const loader = evaluationLoader(config, 'test', { dataset: o.dataset, prefetch: 0 });
  const n = Math.min(loader.batchesPerEpoch, o.maxBatches ?? Infinity);
  const gen = generator(deriveSeed(config.seed + 1, o.ckpt, 0x6c6f7373));
  const order1 = config.training.score_matching_order === 1;
  const progress = new Progress({
    total: n, label: `eval loss ckpt ${o.ckpt}`, stream: o.progressStream, per: { unit: 'img', count: config.eval.batch_size },
  });
  const all: number[] = [];
  for (let k = 0; k < n; k++) {
    const batch = loader.batchAt(k);
    const loss = tidy(() => {
      const x = fromHost(batch.images, o.device).slice(0, rank * rows, (rank + 1) * rows);
      const scaled = config.data.centered ? x.mul(2).sub(1) : x;
      const run = () => lossFn(model, scaled, { generator: gen, shard: o.group && { offset: rank * rows, total: B } }).loss.detach();
      return order1 ? noGrad(run) : run(); // high-order terms differentiate the score
    });
    let v: number;
    try {
      await o.group?.allreduce([loss], { average: true });
      v = loss.item();
    } finally {
      loss.dispose();
    }
    all.push(v);
    progress.tick(1, { loss: v });
  }
  progress.done();
  const path = join(o.evalDir, lossFileName(o.ckpt));
  if (rank === 0) writeLossFile(path, all);
  return { allLosses: all, meanLoss: all.reduce((a, b) => a + b, 0) / Math.max(all.length, 1), path };
}
