// Eval-loss and likelihood batches, and `scoreflow sample`'s sampler steps, report a per-image rate next to
// the per-item one.
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { ChunkedImageDataset, Prng } from '../../src/data/index.js';
import { ScoreModel } from '../../src/model/score-model.js';
import { getScoreFn, sdeFromConfig } from '../../src/sde/index.js';
import { evaluateLikelihood } from '../../src/eval/likelihood.js';
import { evaluateLoss } from '../../src/eval/loss.js';
import { sampleCheckpoint } from '../../src/commands/sample.js';
import { writeUntrainedCheckpoint } from './helpers.js';

function fakeDataset(n: number): ChunkedImageDataset {
  const rng = new Prng(3);
  const images = new Uint8Array(n * 64);
  for (let i = 0; i < images.length; i++) images[i] = Math.floor(rng.nextFloat32() * 256);
  return new ChunkedImageDataset('fake', 'test', 1, 8, 8, [{ images, labels: null }], 'memory');
}

/** `[rate per batch, rate per image]` of a plain progress line (either as `x /s` or `s/x`). */
function rates(line: string): [number, number] {
  const r = (unit: string): number => {
    const m = new RegExp(`([\\d.]+) (${unit}/s|s/${unit})`).exec(line)!;
    return m[2]!.startsWith('s/') ? 1 / Number(m[1]) : Number(m[1]);
  };
  return [r('it'), r('img')];
}

describe('eval progress', () => {
  const config = loadConfig('fmnist_small', ['model.nf=8', 'data.image_size=8', 'eval.batch_size=3', 'eval.num_repeats=1', 'device=cpu']);
  const dataset = fakeDataset(7); // 2 batches of 3 (last partial batch dropped)
  const sde = sdeFromConfig(config);

  it('eval loss and the bound: a line per batch with img/s = batch size × it/s', async () => {
    const model = new ScoreModel(config, { seed: 0, stage: 'eval' });
    model.train(false);
    const evalDir = mkdtempSync(join(tmpdir(), 'sf-eval-progress-'));
    try {
      let out = '';
      const stream = { write: (s: string) => { out += s; return true; } };
      await evaluateLoss(config, sde, model, { ckpt: 1, evalDir, device: 'cpu', dataset, progressStream: stream });
      await evaluateLikelihood(config, sde, getScoreFn(sde, model, { continuous: true, train: false }), {
        kind: 'bound', ckpt: 1, evalDir, device: 'cpu', dataset, boundSamples: 2, progressStream: stream, progressIntervalMs: 0, log: () => {},
      });
      const lines = out.trimEnd().split('\n');
      const loss = lines.filter((l) => l.startsWith('eval loss ckpt 1'));
      const bound = lines.filter((l) => l.startsWith('test bound ckpt 1'));
      expect(loss.at(-1)).toMatch(/\b2\/2\s+100\.0%/);
      expect(bound.at(-1)).toMatch(/\b2\/2\s+100\.0%/);
      for (const l of [loss.at(-1)!, bound.at(-1)!]) {
        const [perBatch, perImage] = rates(l);
        // Both rates are printed to 3 significant digits.
        expect(perImage / perBatch).toBeGreaterThan(3 * 0.99);
        expect(perImage / perBatch).toBeLessThan(3 * 1.01);
      }
    } finally {
      model.dispose();
    }
  }, 60_000);

  it('scoreflow sample: a line per sampler step over all rounds, img/s = batch / steps × it/s', async () => {
    const c = loadConfig('fmnist_small', ['model.nf=8', 'model.num_scales=4', 'device=cpu', 'training.batch_size=4']);
    const workdir = mkdtempSync(join(tmpdir(), 'sf-sample-progress-'));
    writeUntrainedCheckpoint(c, join(workdir, 'checkpoints', 'checkpoint_1.pth'));
    let out = '';
    // intervalMs is 10 s: the lines are the first step's and done()'s.
    await sampleCheckpoint({ config: c, workdir, ckpt: 1, numSamples: 16, batchSize: 8, log: () => {}, progress: { write: (s: string) => { out += s; } } });
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^sample .* 1\/8 .* round=1\/2/);
    expect(lines.at(-1)).toMatch(/^sample .* 8\/8 +100\.0% .* round=2\/2/);
    const [perStep, perImage] = rates(lines.at(-1)!);
    expect(perImage / perStep).toBeGreaterThan(2 * 0.99); // 8 images per 4 steps
    expect(perImage / perStep).toBeLessThan(2 * 1.01);
  }, 60_000);
});
