/**
 * eval.ode_chunk = 0: how many examples of a probability-flow likelihood evaluation (the network forward with
 * autograd, then its vector–Jacobian product) to run per network call on this device. Throughput grows with
 * the batch (on a 2-core CPU 3.3× from 1 to 16 examples at the same NFE) while the autograd graph grows
 * linearly with it: the chunk is the whole batch unless half the device's available memory cannot hold it.
 */
import { availableMemory, bytesPerExample, examplesThatFit } from '../device-memory.js';
import { full, type Tensor } from '../tensor.js';
import { tidy } from '../scope.js';
import type { ScoreFn, Sde } from '../sde/types.js';
import { valueAndDivergence } from './divergence.js';
import { probabilityFlowDrift } from './ode-likelihood.js';

export interface ChunkChoice {
  /** Examples per network call. */
  chunk: number;
  /** Peak bytes one example added to an evaluation (null: not measured or not measurable here). */
  perExample: number | null;
  /** Bytes the device could still give (null: unknown). */
  available: number | null;
}

/** Probe batch of the measurement: evaluations at 2 and 4 examples (so batches up to 4 are never probed). */
const PROBE = 2;

/** The chunk for x ([B, ...], the model's dtype and device) under (sde, scoreFn) on `device`. */
export function likelihoodChunk(scoreFn: ScoreFn, sde: Sde, x: Tensor, device: string, fraction?: number): ChunkChoice {
  const B = x.shape[0]!;
  if (B <= 2 * PROBE) return { chunk: B, perExample: null, available: null };
  const drift = probabilityFlowDrift(sde, scoreFn);
  const run = (b: number) => tidy(() => {
    const xs = x.slice(0, 0, b);
    valueAndDivergence(drift, xs, full([b], 0.5 * sde.T, { dtype: x.dtype, device: x.device }), full(xs.shape, 1, { dtype: x.dtype, device: x.device }));
  });
  const available = availableMemory(device);
  const perExample = available === null ? null : bytesPerExample(device, run, PROBE);
  if (available === null || perExample === null) return { chunk: B, perExample, available };
  return { chunk: examplesThatFit({ perExample, available, fraction, max: B }), perExample, available };
}

/** "250 of 250 examples per network call (3.1 MB each, 18.2 GB available)". */
export function describeChunk(c: ChunkChoice, batch: number): string {
  const mb = (v: number) => (v < 0.05 * 2 ** 20 ? '< 0.1 MB' : `${(v / 2 ** 20).toFixed(1)} MB`), gb = (v: number) => `${(v / 2 ** 30).toFixed(1)} GB`;
  const why = c.perExample === null ? 'memory not measured' : `${mb(c.perExample)} each, ${gb(c.available!)} available`;
  return `${c.chunk} of ${batch} examples per network call (${why})`;
}
