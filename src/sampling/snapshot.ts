/**
 * Sample snapshots during training (spec §6 "Saving"; score_sde_pytorch run_lib.train with
 * `training.snapshot_sampling`): at each snapshot the EMA weights are swapped in, a small batch is sampled
 * with the configured sampler, and `<workdir>/samples/iter_<step>/` receives
 *  - `sample.np`: np.save of uint8 NHWC clip(x·255) (the references' file name, without the `y`),
 *  - `sample.png`: a torchvision-style grid (nrow = ⌊√B⌋, padding 2, save_image's rounding).
 * The PNG bytes and size are returned so that the caller can log the grid to TensorBoard.
 *
 * The batch is `training.batch_size` capped at 64 (the references sample a whole training batch). Its random
 * draws come from a generator seeded from `config.seed` alone, not from the trainer's streams: snapshots do
 * not perturb training (resumed runs stay bit-identical), and every snapshot of a run starts from the same
 * latents, so successive grids show the model's progress on the same noise.
 *
 * Sampling a snapshot takes minutes on a CPU (200 PC steps of a 64-image batch): `snapshotProgressShape`
 * gives the progress line's total and per-image rate, and the progress sink gets every sampler step.
 */
import { join } from 'node:path';
import type { ResolvedConfig } from '../config/index.js';
import type { ScoreModel } from '../model/score-model.js';
import type { Ema } from '../model/ema.js';
import { generator } from '../random.js';
import { checkInt } from '../errors.js';
import { writeNpy } from '../formats/npy.js';
import { encodePng, makeGrid } from '../data/png.js';
import { samplesToUint8Nhwc } from '../data/transforms.js';
import { writeFileAtomic } from '../train/atomic.js';
import type { PhaseProgress, PerUnit } from '../train/progress.js';
import { sampleImages, derivedSeed, stepsPerBatch, type ImageBatch } from './from-config.js';
import type { ProgressInfo } from './types.js';

/** Largest snapshot batch. */
export const SNAPSHOT_MAX_BATCH = 64;

/** Optional sinks: a TensorBoard-style image logger and sampler progress (a callback, or a progress line ended here). */
export interface SnapshotLogger {
  image?(tag: string, png: Uint8Array, height: number, width: number, channels: number, step: number): void;
  onProgress?(info: ProgressInfo): void;
  progress?: PhaseProgress;
}

export interface SnapshotResult {
  /** `<workdir>/samples/iter_<step>`. */
  dir: string;
  /** The grid as PNG bytes (also written to `sample.png`). */
  png: Uint8Array;
  height: number;
  width: number;
  /** Always 3: the grid is RGB (gray images are repeated, as torchvision's make_grid). */
  channels: number;
  /** uint8 NHWC samples (also written to `sample.np`). */
  samples: { shape: [number, number, number, number]; data: Uint8Array };
  nfe: number;
}

/** The snapshot batch size: training.batch_size capped at 64. */
export function snapshotBatchSize(config: ResolvedConfig): number {
  return Math.min(config.training.batch_size, SNAPSHOT_MAX_BATCH);
}

/**
 * Network calls of one snapshot batch when known in advance (PC: per grid point one for the predictor and
 * n_steps_each for the corrector, 'none' making none; the adaptive ODE sampler: undefined). The sampler's own
 * nfe counts N·(n_steps_each + 1) whatever the corrector; this counts what costs time.
 */
export function snapshotNetworkCalls(config: ResolvedConfig): number | undefined {
  const steps = stepsPerBatch(config);
  if (steps === undefined) return undefined;
  const s = config.sampling;
  return steps * ((s.predictor === 'none' ? 0 : 1) + (s.corrector === 'none' ? 0 : s.n_steps_each));
}

/** The progress line of a snapshot: sampler steps out of the known total (PC), and images per step. */
export function snapshotProgressShape(config: ResolvedConfig): { label: string; total?: number; per?: PerUnit } {
  const steps = stepsPerBatch(config);
  if (steps === undefined) return { label: 'sample' };
  return { label: 'sample', total: steps, per: { unit: 'img', count: snapshotBatchSize(config) / steps } };
}

/** Seed of the snapshot latents (the same for every snapshot of a run). */
export function snapshotSeed(config: ResolvedConfig): number {
  return derivedSeed(config.seed, 2);
}

/** Writes `sample.np` and `sample.png` for an already drawn batch; returns what snapshotSamples returns. */
export function writeSnapshot(batch: ImageBatch, dir: string): SnapshotResult {
  const [B, C, H, W] = batch.shape;
  const u8 = samplesToUint8Nhwc(batch.data, B, C, H, W);
  const grid = makeGrid({ shape: batch.shape, data: batch.data }, Math.max(1, Math.floor(Math.sqrt(B))), 2);
  const png = encodePng(grid);
  writeFileAtomic(join(dir, 'sample.np'), writeNpy({ dtype: 'uint8', shape: [B, H, W, C], data: u8 }));
  writeFileAtomic(join(dir, 'sample.png'), png);
  return {
    dir, png, height: grid.height, width: grid.width, channels: grid.channels,
    samples: { shape: [B, H, W, C], data: u8 }, nfe: batch.nfe,
  };
}

/**
 * Samples a snapshot batch with the EMA weights of `model` (restored afterwards, also on error), writes
 * `<workdir>/samples/iter_<step>/sample.{np,png}`, logs the grid as image `samples` when the logger takes
 * images, and returns the PNG bytes and size. `logger.progress` is updated at every sampler step and ended
 * here (also on error).
 */
export function snapshotSamples(model: ScoreModel, ema: Ema, config: ResolvedConfig, step: number, workdir: string,
  logger?: SnapshotLogger): SnapshotResult {
  checkInt('step', step, 0);
  const params = model.parameters();
  ema.store(params);
  const progress = logger?.progress;
  const onProgress = logger?.onProgress || progress ? (i: ProgressInfo) => {
    logger!.onProgress?.(i);
    progress?.update(i.step, { t: i.t, nfe: i.nfe });
  } : undefined;
  let batch: ImageBatch;
  try {
    batch = sampleImages(model, config, snapshotBatchSize(config), { generator: generator(snapshotSeed(config)), onProgress });
  } finally {
    ema.restore(params);
    progress?.done();
  }
  const r = writeSnapshot(batch, join(workdir, 'samples', `iter_${step}`));
  logger?.image?.('samples', r.png, r.height, r.width, r.channels, step);
  return r;
}
