// `scoreflow stats` end to end on 4 FashionMNIST images with random Inception weights (a smoke test of the
// plumbing: dataset → uint8 batches → grayscale to RGB → Inception → stats npz), plus its argument errors.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/commands/stats.js';
import { readReferenceStats } from '../../src/metrics/index.js';
import { FASHION_MNIST_DEFAULT_ROOT } from '../../src/data/index.js';

describe.skipIf(!existsSync(FASHION_MNIST_DEFAULT_ROOT))('scoreflow stats', () => {
  it('writes pool_3, mu, sigma and logits for the first N images', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-statscmd-'));
    try {
      const out = join(dir, 'stats.npz');
      await run({ config: 'fmnist_small', out, inception: 'random', 'max-images': 4, 'batch-size': 3, device: 'cpu' }, []);
      const s = readReferenceStats(out);
      expect(s.pool3!.shape).toEqual([4, 2048]);
      expect(s.mu.shape).toEqual([2048]);
      expect(s.sigma.shape).toEqual([2048, 2048]);
      expect(s.logits!.shape).toEqual([4, 1008]);
      expect(Array.from(s.pool3!.data as Float32Array).every(Number.isFinite)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('explains missing weights', async () => {
    const saved = process.env.SCOREFLOW_INCEPTION;
    delete process.env.SCOREFLOW_INCEPTION;
    try {
      await expect(run({ config: 'fmnist_small', out: join(tmpdir(), 'x.npz') }, [])).rejects.toThrow(/--inception/);
      await expect(run({ config: 'fmnist_small', out: join(tmpdir(), 'x.npz'), inception: '/nonexistent/w.pth' }, []))
        .rejects.toThrow(/inception weights \/nonexistent/);
    } finally {
      if (saved !== undefined) process.env.SCOREFLOW_INCEPTION = saved;
    }
  });
});
