import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Trainer } from '../../src/train/trainer.js';
import { loadConfig } from '../../src/config/index.js';
import { fakeData, TINY } from './tiny-trainer.js';

describe('Trainer', () => {
  it('the loss decreases on a fixed small dataset', async () => {
    const workdir = mkdtempSync(join(tmpdir(), 'sf-fit-'));
    const config = loadConfig('fmnist_small', [...TINY, 'training.n_iters=60', 'training.snapshot_freq_for_preemption=1000',
      'optim.warmup=5', 'optim.lr=2e-3', 'training.batch_size=16']);
    const t = new Trainer(config, workdir, { datasets: { train: fakeData(32, 3), test: fakeData(16, 4) } });
    const losses: number[] = [];
    t.logger = { log: (_s, s) => { if (s.training_loss !== undefined) losses.push(s.training_loss); } };
    const r = await t.run();
    expect(r.step).toBe(60);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-10))).toBeLessThan(0.7 * mean(losses.slice(0, 10)));
    t.dispose();
  });
});
