/**
 * Data-parallel training policy, as the references' pmap / DataParallel: `training.batch_size` is the global
 * batch, split into equal contiguous row ranges, rank r taking rows [r·B/N, (r+1)·B/N). Every rank reads the
 * same global data stream and keeps its rows, and draws the loss's noise for the whole global batch and keeps
 * its rows (src/losses/shard.ts); the gradients are averaged over the ranks before the (then identical)
 * optimizer step. So the job follows the same sequence of examples and noise as a one-process run, its
 * checkpoints are a one-process run's (a job resumes with any number of processes), and its parameters
 * equal a one-process run's up to float32 summation order. Rank 0 writes everything (checkpoints, logs,
 * TensorBoard, samples); the others write nothing. Randomness that is per example and not drawn by the loss
 * (dropout masks) comes from per-rank seeds derived from the config's seed and the rank.
 */
import type { Batch } from '../data/index.js';
import { deriveSeed } from '../data/prng.js';
import { ScoreflowError } from '../errors.js';
import type { LossShard } from '../losses/shard.js';
import { full, type Tensor } from '../tensor.js';
import type { ProcessGroup } from './process-group.js';

const STREAM_RANK = 0x72616e6b;

export class DataParallel {
  readonly localBatch: number;
  private stopWanted = false;

  constructor(readonly group: ProcessGroup, readonly globalBatch: number) {
    DataParallel.checkBatch(globalBatch, group.worldSize);
    this.localBatch = globalBatch / group.worldSize;
  }

  /** Throws ERR_CONFIG unless the global batch splits evenly over `worldSize` ranks. */
  static checkBatch(globalBatch: number, worldSize: number): void {
    if (globalBatch % worldSize !== 0) {
      throw new ScoreflowError('ERR_CONFIG', `training.batch_size (${globalBatch}) is the global batch and must split evenly over ` +
        `the ${worldSize} processes; use a multiple of ${worldSize} or another number of processes`);
    }
  }

  get rank(): number { return this.group.rank; }
  get worldSize(): number { return this.group.worldSize; }
  /** Rank 0 writes checkpoints, logs, TensorBoard events and samples; the others write nothing. */
  get isWriter(): boolean { return this.group.rank === 0; }

  /** This rank's rows of a global batch of `total` rows. */
  shard(total = this.globalBatch): LossShard {
    if (total % this.worldSize !== 0) {
      throw new ScoreflowError('ERR_DATA', `a batch of ${total} rows does not split evenly over ${this.worldSize} processes`);
    }
    return { offset: this.rank * (total / this.worldSize), total };
  }

  /** This rank's rows of a host batch (images, labels, indices). */
  shardBatch(b: Batch): Batch {
    const { offset, total } = this.shard(b.images.shape[0]);
    const rows = total / this.worldSize;
    const per = b.images.data.length / total;
    const [, ...rest] = b.images.shape;
    return {
      ...b,
      images: { dtype: 'float32', shape: [rows, ...rest], data: b.images.data.subarray(offset * per, (offset + rows) * per) },
      labels: b.labels.subarray(offset, offset + rows),
      indices: b.indices.subarray(offset, offset + rows),
    };
  }

  /** A per-rank seed: rank 0 keeps `seed` (so one process is the 1-rank case), the others derive theirs. */
  rankSeed(seed: number): number {
    return this.rank === 0 ? seed : deriveSeed(seed, STREAM_RANK, this.rank);
  }

  /** Asks for a stop; the ranks agree on it at the next gradient sync (so all stop after the same step). */
  requestStop(): void { this.stopWanted = true; }

  /**
   * Averages the gradients over the ranks. A stop flag rides in the same buckets (no extra collective), so
   * every rank learns whether any rank was asked to stop; returns that.
   */
  async syncGradients(params: Tensor[]): Promise<boolean> {
    const flag = full([1], this.stopWanted ? 1 : 0, { dtype: params[0]?.dtype ?? 'float32', device: params[0]?.device });
    try {
      await this.group.allreduceGradients(params, [flag]);
      return flag.item() > 0;
    } finally {
      flag.dispose();
    }
  }

  /** Averages scalar tensors (per-rank means over equal shards) into the global means, in place. */
  async averageScalars(tensors: Record<string, Tensor>): Promise<void> {
    const ts = Object.values(tensors);
    if (ts.length) await this.group.allreduce(ts, { average: true });
  }

  /** Rank 0's bytes on every rank (its whole training state at start; see Trainer.syncState). */
  broadcastBytes(bytes: Uint8Array | undefined): Promise<Uint8Array> {
    return this.group.broadcastBytes(this.isWriter ? bytes : undefined);
  }
}
