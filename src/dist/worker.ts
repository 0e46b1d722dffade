/**
 * One rank of a data-parallel job, as a command sees it: when the environment names a job
 * (src/dist/env.ts) the process joins it — Gloo for a CPU run, NCCL with one GPU per rank (cuda:LOCAL_RANK)
 * for a CUDA one — and reports its progress to a launcher that started it (src/dist/launch.ts), if any.
 */
import { cuda } from '../device.js';
import type { ResolvedConfig } from '../config/index.js';
import { DataParallel } from './data-parallel.js';
import { distEnvFrom, type DistEnv } from './env.js';
import { ProcessGroup } from './process-group.js';
import type { RankMessage } from './launch.js';

export interface RankContext {
  env: DistEnv;
  group: ProcessGroup;
  /** The device this rank computes on. */
  device: string;
  /** Tells the launcher (if ours) how far this rank is: it names stuck ranks when a job fails. */
  reportStep(step: number): void;
  /** Calls `fn` when the launcher that started this rank is gone (its IPC channel closed). */
  onOrphaned(fn: () => void): void;
  dispose(): void;
}

/** A training rank: the group plus the data-parallel policy (src/dist/data-parallel.ts). */
export interface TrainingRank extends RankContext { dp: DataParallel }

/** 'auto' and 'cuda' mean this rank's GPU, cuda:LOCAL_RANK; an explicit device is kept. */
export function rankDevice(device: string, env: DistEnv): string {
  if (device === 'cuda' || (device === 'auto' && cuda.isAvailable())) return `cuda:${env.localRank}`;
  return device === 'auto' ? 'cpu' : device;
}

/** Joins the job the environment names; undefined when this process runs alone. */
export async function joinGroup(config: ResolvedConfig, processEnv: NodeJS.ProcessEnv = process.env): Promise<RankContext | undefined> {
  const env = distEnvFrom(processEnv);
  if (!env) return undefined;
  const device = rankDevice(config.device, env);
  const group = await ProcessGroup.join(env, device.startsWith('cuda') ? 'nccl' : 'gloo', { device });
  let lastSent = -1;
  let orphaned: (() => void) | undefined;
  return {
    env, group, device,
    reportStep: (step) => {
      if (!process.send || !process.connected || step === lastSent) return;
      lastSent = step;
      process.send({ type: 'step', step } satisfies RankMessage);
    },
    onOrphaned: (fn) => {
      if (!process.send) return;
      orphaned = fn;
      process.once('disconnect', fn);
      process.channel?.unref(); // listening must not keep a finished rank alive
    },
    dispose: () => {
      if (orphaned) process.off('disconnect', orphaned);
      group.dispose();
    },
  };
}

/** Joins as a training rank: training.batch_size is the global batch, split over the ranks. */
export async function joinJob(config: ResolvedConfig, processEnv: NodeJS.ProcessEnv = process.env): Promise<TrainingRank | undefined> {
  const env = distEnvFrom(processEnv);
  // The batch check fails on every rank alike, before anyone waits for the others.
  if (env) DataParallel.checkBatch(config.training.batch_size, env.worldSize);
  const rank = await joinGroup(config, processEnv);
  return rank && { ...rank, dp: new DataParallel(rank.group, config.training.batch_size) };
}
