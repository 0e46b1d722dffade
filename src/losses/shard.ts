/**
 * Data-parallel shards of a loss's randomness. A rank computes the loss on rows [offset, offset + B) of a
 * global batch of `total` rows. It draws t, z and v for the whole global batch, in the order a single
 * process draws them, and keeps its rows: every rank's generator then stays in step with a one-process
 * run's, so a job's noise, its checkpoints' generator states and its parameters match one process's on the
 * same global batch, whatever the number of ranks.
 */
import { argError } from '../errors.js';
import type { Tensor } from '../tensor.js';

export interface LossShard {
  /** First global row of this rank's batch. */
  offset: number;
  /** Rows of the global batch. */
  total: number;
}

/** `draw(n)` draws n rows; returns this shard's `rows` of a global draw (or `draw(rows)` without a shard). */
export function drawRows(shard: LossShard | undefined, rows: number, draw: (n: number) => Tensor): Tensor {
  if (!shard) return draw(rows);
  if (!Number.isInteger(shard.offset) || shard.offset < 0 || shard.offset + rows > shard.total) {
    argError('shard', `rows [offset, offset + ${rows}) inside a global batch of ${shard.total}`, shard);
  }
  if (shard.total === rows) return draw(rows);
  const all = draw(shard.total);
  try {
    return all.slice(0, shard.offset, shard.offset + rows).contiguous();
  } finally {
    all.dispose();
  }
}
