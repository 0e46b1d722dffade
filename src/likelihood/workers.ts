/**
 * eval.ode_workers = 0: how many slices of a likelihood evaluation's batch the network runs at once on the CPU,
 * one intra-op thread each (ScoreModel.forward `workers`, native/nn/batch_split.h): one slice a thread. One
 * call's thread team idles at its barriers; independent slices do not. On the 2-core bench CPU with 2 threads,
 * the right-hand side split in two against whole, alternated in one process (scripts/bench/likelihood-split.ts;
 * test/model/batch-split.test.ts checks the values), ms per evaluation:
 *   fmnist_quick  batch 4: 52–60 vs 59–67   batch 16: 191–209 vs 225–240   batch 64: 787–919 vs 962–1270
 *   golden        batch 4: 62–68 vs 69–81   batch 16: 183–190 vs 210–238   batch 64: 632–657 vs 874–919
 */
import { checkInt } from '../errors.js';
import { isCuda, numThreads } from '../device.js';
import type { Device } from '../native.js';

/** Slices per network call for `examples` examples per call on `device` (`setting` > 0 is taken as given). */
export function likelihoodWorkers(setting: number, examples: number, device: Device, threads = numThreads()): number {
  checkInt('eval.ode_workers', setting, 0);
  if (setting > 0) return setting;
  if (isCuda(device) || threads < 2 || examples < 2) return 1;
  return Math.min(threads, examples);
}
