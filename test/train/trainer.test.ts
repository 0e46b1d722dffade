import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Trainer, META_CHECKPOINT } from '../../src/train/trainer.js';
import { loadConfig } from '../../src/config/index.js';
import { ChunkedImageDataset } from '../../src/data/index.js';
import { readReferenceCheckpoint } from '../../src/formats/reference-checkpoint.js';

function fakeData(n: number, seed: number): ChunkedImageDataset {
  const images = new Uint8Array(n * 28 * 28);
  let s = seed;
  for (let i = 0; i < images.length; i++) { s = (s * 1103515245 + 12345) >>> 0; images[i] = s >>> 24; }
  return new ChunkedImageDataset('fake', 'train', 1, 28, 28, [{ images, labels: null }], 'memory');
}

const tiny = ['model.nf=8', 'training.batch_size=4', 'training.log_freq=1', 'training.eval_freq=100',
  'training.snapshot_freq=100', 'training.snapshot_sampling=false', 'device=cpu'];

describe('Trainer', () => {
  it('stops on a non-finite loss without overwriting the last good checkpoint', async () => {
    const workdir = mkdtempSync(join(tmpdir(), 'sf-nan-'));
    const config = loadConfig('fmnist_small', [...tiny, 'training.n_iters=20', 'training.snapshot_freq_for_preemption=1',
      'optim.lr=1e30', 'optim.warmup=0', 'optim.grad_clip=-1']);
    const t = new Trainer(config, workdir, { handleSignals: false, datasets: { train: fakeData(16, 1), test: fakeData(8, 2) } });
    const logged: number[] = [];
    t.logger = { log: (step, s) => { if ('training_loss' in s) logged.push(step); } };
    await expect(t.run()).rejects.toMatchObject({ code: 'ERR_NUMERIC' });
    const ck = readReferenceCheckpoint(join(workdir, META_CHECKPOINT));
    expect(ck.step).toBe(logged[logged.length - 1]);
    expect([...ck.model.values()].every((h) => Array.from(h.data as Float32Array).every(Number.isFinite))).toBe(true);
    t.dispose();
  });

  it('the loss decreases on a fixed small dataset', async () => {
    const workdir = mkdtempSync(join(tmpdir(), 'sf-fit-'));
    const config = loadConfig('fmnist_small', [...tiny, 'training.n_iters=60', 'training.snapshot_freq_for_preemption=1000',
      'optim.warmup=5', 'optim.lr=2e-3', 'training.batch_size=16']);
    const t = new Trainer(config, workdir, { handleSignals: false, datasets: { train: fakeData(32, 3), test: fakeData(16, 4) } });
    const losses: number[] = [];
    t.logger = { log: (_s, s) => { if (s.training_loss !== undefined) losses.push(s.training_loss); } };
    const r = await t.run();
    expect(r.step).toBe(60);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-10))).toBeLessThan(0.7 * mean(losses.slice(0, 10)));
    t.dispose();
  });
});
