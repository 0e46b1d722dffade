/**
 * eval.ode_workers = 0: how many slices of a likelihood evaluation's batch the network runs at once on the CPU,
 * one intra-op thread each (ScoreModel.forward `workers`, native/nn/batch_split.h). A small batch leaves one
 * call's thread team idle at its barriers; independent slices do not. On the 2-core bench CPU with 2 threads,
 * fmnist_quick's right-hand side took 52–60 ms split in two against 59–67 ms whole at batch 4, and the same
 * at batch 16 (8 examples a thread already keep both busy), hence the limit below.
 */
import { checkInt } from '../errors.js';
import { isCuda, numThreads } from '../device.js';
import type { Device } from '../native.js';

/** The auto rule splits only when every slice has at most this many examples. */
export const MAX_EXAMPLES_PER_WORKER = 4;

/** Slices per network call for `examples` examples per call on `device` (`setting` > 0 is taken as given). */
export function likelihoodWorkers(setting: number, examples: number, device: Device, threads = numThreads()): number {
  checkInt('eval.ode_workers', setting, 0);
  if (setting > 0) return setting;
  if (isCuda(device) || threads < 2 || examples < 2) return 1;
  return examples / threads <= MAX_EXAMPLES_PER_WORKER ? Math.min(threads, examples) : 1;
}
