// A tiny in-process Trainer on synthetic Fashion-MNIST-shaped data: a step takes milliseconds.
import { loadConfig } from '../../src/config/index.js';
import { ChunkedImageDataset } from '../../src/data/index.js';
import { Trainer, type TrainOptions } from '../../src/train/trainer.js';

export function fakeData(n: number, seed: number): ChunkedImageDataset {
  const images = new Uint8Array(n * 28 * 28);
  let s = seed;
  for (let i = 0; i < images.length; i++) { s = (s * 1103515245 + 12345) >>> 0; images[i] = s >>> 24; }
  return new ChunkedImageDataset('fake', 'train', 1, 28, 28, [{ images, labels: null }], 'memory');
}

export const TINY = ['model.nf=8', 'training.batch_size=4', 'training.log_freq=1', 'training.eval_freq=100',
  'training.snapshot_freq=100', 'training.snapshot_sampling=false', 'training.snapshot_freq_for_preemption=1',
  'optim.warmup=0', 'device=cpu'];

export function tinyTrainer(workdir: string, overrides: string[] = [], opts: TrainOptions = {}): Trainer {
  return new Trainer(loadConfig('fmnist_small', [...TINY, ...overrides]), workdir,
    { datasets: { train: fakeData(16, 1), test: fakeData(8, 2) }, ...opts });
}

/** Resumes, runs and disposes a tiny trainer. */
export async function train(workdir: string, overrides: string[] = [], opts: TrainOptions = {}) {
  const t = tinyTrainer(workdir, overrides, opts);
  try {
    const resumed = t.resume();
    return { resumed, result: await t.run() };
  } finally {
    t.dispose();
  }
}
