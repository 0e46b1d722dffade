/**
 * `scoreflow eval` plumbing on a tiny untrained model (0 training steps) and a tiny fake dataset: result files,
 * summary values, resumption (only missing rounds are recomputed, bit for bit), the bound, the loss file,
 * and a missing checkpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { ChunkedImageDataset, Prng } from '../../src/data/index.js';
import { writeUntrainedCheckpoint } from './helpers.js';
import { readNpzFile } from '../../src/formats/npz.js';
import { runEvaluation, readRoundFile, meanCi, type EvalOptions } from '../../src/eval/index.js';

const quiet = { write: () => true };

function fakeDataset(n: number, seed: number): ChunkedImageDataset {
  const rng = new Prng(seed);
  const images = new Uint8Array(n * 64);
  for (let i = 0; i < images.length; i++) images[i] = Math.floor(rng.nextFloat32() * 256);
  return new ChunkedImageDataset('fake', 'test', 1, 8, 8, [{ images, labels: null }], 'memory');
}

const TINY = [
  'model.nf=8', 'data.image_size=8', 'eval.batch_size=2', 'eval.num_repeats=2', 'eval.begin_ckpt=1', 'eval.end_ckpt=1',
  'eval.rtol=1e-2', 'eval.atol=1e-2', 'device=cpu', 'model.init_scale=1.0',
];

describe('scoreflow eval (tiny model, fake 1×8×8 data)', () => {
  let workdir: string;
  const test = fakeDataset(5, 1); // batch 2, drop-last: 2 batches per pass; 2 passes → rounds 0..3
  const opts = (extra: Partial<EvalOptions> = {}): EvalOptions => ({ datasets: { test }, progressStream: quiet, log: () => undefined, ...extra });

  beforeAll(() => {
    workdir = mkdtempSync(join(tmpdir(), 'sf-eval-'));
    writeUntrainedCheckpoint(loadConfig('fmnist_small', TINY), join(workdir, 'checkpoints', 'checkpoint_1.pth'));
  });
  afterAll(() => rmSync(workdir, { recursive: true, force: true }));

  it('writes per-round bpd files, a summary with a 95% CI, the loss file; resumes only missing rounds', async () => {
    const config = loadConfig('fmnist_small', [...TINY, 'eval.enable_loss=true']);
    const [r] = await runEvaluation(config, workdir, opts());
    const lik = r!.likelihood!;
    expect(lik.computed).toEqual([0, 1, 2, 3]);
    const dir = join(workdir, 'eval');
    const files = readdirSync(dir).filter((f) => /^test_ckpt_1_bpd_\d+\.npz$/.test(f)).sort();
    expect(files).toEqual(['test_ckpt_1_bpd_0.npz', 'test_ckpt_1_bpd_1.npz', 'test_ckpt_1_bpd_2.npz', 'test_ckpt_1_bpd_3.npz']);
    const arr = readNpzFile(join(dir, files[0]!)).get('arr_0')!;
    expect(arr.dtype).toBe('float64');
    expect(arr.shape).toEqual([2]);
    const all = [0, 1, 2, 3].flatMap((k) => [...readRoundFile(join(dir, `test_ckpt_1_bpd_${k}.npz`))!]);
    all.forEach((v) => expect(Number.isFinite(v)).toBe(true));
    const s = JSON.parse(readFileSync(join(dir, 'test_ckpt_1_bpd_summary.json'), 'utf8'));
    expect(s.n).toBe(8);
    expect(s.complete).toBe(true);
    expect(s.mean).toBeCloseTo(meanCi(all).mean, 12);
    expect(s.ci95[0]).toBeLessThanOrEqual(s.mean);
    expect(s.ci95[1]).toBeGreaterThanOrEqual(s.mean);
    expect(s.ci95[1] - s.ci95[0]).toBeCloseTo(2 * 1.96 * meanCi(all).std / Math.sqrt(8), 12);
    expect(lik.nfe).toBeGreaterThan(0);
    // eval loss: one value per batch of one pass
    const loss = readNpzFile(join(dir, 'ckpt_1_loss.npz'));
    expect(loss.get('all_losses')!.shape).toEqual([2]);
    expect(loss.get('mean_loss')!.shape).toEqual([]);
    const ls = loss.get('all_losses')!.data as Float64Array;
    expect((loss.get('mean_loss')!.data as Float64Array)[0]).toBeCloseTo((ls[0]! + ls[1]!) / 2, 12);

    // resumption: nothing to do, then only the deleted round is recomputed, to the same values
    const again = (await runEvaluation(config, workdir, opts()))[0]!.likelihood!;
    expect(again.computed).toEqual([]);
    expect(again.nfe).toBe(0);
    expect(again.summary.mean).toBe(s.mean);
    const before = readRoundFile(join(dir, 'test_ckpt_1_bpd_2.npz'))!;
    unlinkSync(join(dir, 'test_ckpt_1_bpd_2.npz'));
    const third = (await runEvaluation(config, workdir, opts()))[0]!.likelihood!;
    expect(third.computed).toEqual([2]);
    expect(third.nfe).toBeGreaterThan(0);
    expect([...readRoundFile(join(dir, 'test_ckpt_1_bpd_2.npz'))!]).toEqual([...before]);
    expect(third.summary.mean).toBeCloseTo(s.mean, 12);
  });

  it('train split: one pass; bound: _bound_ files, finite values', async () => {
    const train = fakeDataset(4, 2);
    const config = loadConfig('fmnist_small', [...TINY, 'eval.bpd_dataset=train', 'eval.bound=true', 'eval.enable_loss=false']);
    const [r] = await runEvaluation(config, workdir, opts({ datasets: { train }, boundSamples: 8, boundChunk: 4 }));
    const lik = r!.likelihood!;
    expect(lik.computed).toEqual([0, 1]);
    expect(lik.summary.kind).toBe('bound');
    expect(existsSync(join(workdir, 'eval', 'train_ckpt_1_bound_1.npz'))).toBe(true);
    expect(existsSync(join(workdir, 'eval', 'train_ckpt_1_bound_summary.json'))).toBe(true);
    expect(Number.isFinite(lik.summary.mean)).toBe(true);
    expect(lik.summary.n).toBe(4);
  });

  it('a missing checkpoint is an error naming its path', async () => {
    const config = loadConfig('fmnist_small', [...TINY, 'eval.end_ckpt=2']);
    await expect(runEvaluation(config, workdir, opts())).rejects.toThrow(/checkpoint not found: .*checkpoints\/checkpoint_2\.pth/);
  });
});
