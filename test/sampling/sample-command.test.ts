import { describe, expect, it, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type ResolvedConfig } from '../../src/config/index.js';
import { ScoreModel } from '../../src/model/score-model.js';
import { Ema } from '../../src/model/ema.js';
import { Optimizer } from '../../src/train/optimizer.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { readNpzFile } from '../../src/formats/npz.js';
import { writeSafetensors } from '../../src/formats/safetensors.js';
import { decodePng } from '../../src/data/png.js';
import { samplesToUint8Nhwc } from '../../src/data/transforms.js';
import { generator } from '../../src/random.js';
import { sampleImages, samplerOptionsFromConfig } from '../../src/sampling/index.js';
import {
  checkpointLabel, loadEmaWeights, roundSeed, sampleCheckpoint, samplingRounds, type SampleRunOptions,
} from '../../src/commands/sample.js';

const ROOT = new URL('../../', import.meta.url).pathname;
// A tiny model and few sampler steps: what matters is files, formats, seeding and resumption.
const OVERRIDES = ['model.nf=8', 'model.num_scales=4', 'device=cpu', 'eval.batch_size=4', 'eval.num_samples=6', 'training.batch_size=4'];
const config: ResolvedConfig = loadConfig('fmnist_small', OVERRIDES);

let workdir: string;
/** NHWC uint8 that the EMA weights (the seed-7 init) give for round r; the raw weights are seed 8's. */
let expected: (r: number) => Uint8Array;

const quiet = { progress: false as const, log: () => {} };
const opts = (o: Partial<SampleRunOptions> = {}): SampleRunOptions => ({ config, workdir, ...quiet, ...o });

function drawNhwc(model: ScoreModel, r: number): Uint8Array {
  const b = sampleImages(model, config, 4, { generator: generator(roundSeed(config, r)) });
  return samplesToUint8Nhwc(b.data, 4, 1, 28, 28);
}

beforeAll(() => {
  workdir = mkdtempSync(join(tmpdir(), 'sf-sample-'));
  // EMA shadow = the seed-7 initialisation; model weights = seed 8's: sampling must use the EMA.
  const model = new ScoreModel(config, { seed: 7 });
  const ema = new Ema(model.parameters(), 0.99);
  const other = new ScoreModel(config, { seed: 8 });
  const sd = other.stateDict();
  model.loadStateDict(sd);
  for (const t of sd.values()) t.dispose();
  const optimizer = new Optimizer(model.parameters(), config.optim);
  saveCheckpoint(join(workdir, 'checkpoints', `checkpoint_${config.eval.ckpt_id}.pth`), { step: 5, model, ema, optimizer });
  const emaModel = new ScoreModel(config, { seed: 7 });
  const cache = new Map<number, Uint8Array>();
  expected = (r) => {
    if (!cache.has(r)) cache.set(r, drawNhwc(emaModel, r));
    return cache.get(r)!;
  };
  // The raw weights must give other samples, or the EMA check below would prove nothing.
  expect(Buffer.from(drawNhwc(other, 0)).equals(Buffer.from(expected(0)))).toBe(false);
  other.dispose();
  optimizer.dispose();
  ema.dispose();
  model.dispose();
});

describe('scoreflow sample', () => {
  it('writes ckpt_<c>/samples_<r>.npz (uint8 NHWC, EMA weights, per-round seeds) and a PNG grid per round', async () => {
    const r = await sampleCheckpoint(opts());
    const dir = join(workdir, 'eval', `ckpt_${config.eval.ckpt_id}`);
    expect(r.dir).toBe(dir);
    expect(r.rounds).toBe(2); // ⌈6 / 4⌉ full batches
    expect(r.written).toEqual([0, 1]);
    expect(r.skipped).toEqual([]);
    expect(r.nfe).toBe(4 * 2); // PC: N·(n_steps_each + 1)
    expect(readdirSync(dir).sort()).toEqual(['samples_0.npz', 'samples_0.png', 'samples_1.npz', 'samples_1.png']);
    for (const round of [0, 1]) {
      const npz = readNpzFile(join(dir, `samples_${round}.npz`));
      expect([...npz.keys()]).toEqual(['samples']);
      const s = npz.get('samples')!;
      expect(s.dtype).toBe('uint8');
      expect(s.shape).toEqual([4, 28, 28, 1]);
      const data = s.data as Uint8Array;
      expect(Math.max(...data)).toBeGreaterThan(Math.min(...data)); // not a constant image
      expect(Buffer.from(data).equals(Buffer.from(expected(round)))).toBe(true);
      const png = decodePng(readFileSync(join(dir, `samples_${round}.png`)));
      // nrow = ⌊√4⌋ = 2, padding 2: 2·(28 + 2) + 2 = 62; gray becomes RGB as torchvision's make_grid.
      expect([png.width, png.height, png.channels]).toEqual([62, 62, 3]);
      // Top-left image pixel (2, 2) of the grid is sample 0's (0, 0), rounded as save_image.
      expect(Math.abs(png.data[(2 * 62 + 2) * 3]! - data[0]!)).toBeLessThanOrEqual(1);
    }
    expect(Buffer.from(expected(0)).equals(Buffer.from(expected(1)))).toBe(false); // rounds draw different noise
  });

  it('resumes: existing rounds are skipped, missing ones redrawn identically; more samples only add rounds', async () => {
    const dir = join(workdir, 'eval', `ckpt_${config.eval.ckpt_id}`);
    const before1 = readFileSync(join(dir, 'samples_1.npz'));
    const mtime0 = statSync(join(dir, 'samples_0.npz')).mtimeMs;
    unlinkSync(join(dir, 'samples_1.npz'));
    const r = await sampleCheckpoint(opts());
    expect(r.skipped).toEqual([0]);
    expect(r.written).toEqual([1]);
    expect(statSync(join(dir, 'samples_0.npz')).mtimeMs).toBe(mtime0);
    expect(readFileSync(join(dir, 'samples_1.npz')).equals(before1)).toBe(true);

    const again = await sampleCheckpoint(opts());
    expect(again.written).toEqual([]);
    expect(again.skipped).toEqual([0, 1]);

    const more = await sampleCheckpoint(opts({ numSamples: 12 }));
    expect(more.skipped).toEqual([0, 1]);
    expect(more.written).toEqual([2]);
    const s2 = readNpzFile(join(dir, 'samples_2.npz')).get('samples')!;
    expect(Buffer.from(s2.data as Uint8Array).equals(Buffer.from(expected(2)))).toBe(true);
  });

  it('refuses to mix batch sizes in one folder', async () => {
    await expect(sampleCheckpoint(opts({ batchSize: 2 }))).rejects.toThrow(/--batch-size/);
  });

  it('reproduces: the same seed gives the same bytes in another folder, another seed other samples', async () => {
    const a = await sampleCheckpoint(opts({ out: join(workdir, 'again'), numSamples: 4 }));
    expect(a.written).toEqual([0]);
    const first = readFileSync(join(workdir, 'eval', `ckpt_${config.eval.ckpt_id}`, 'samples_0.npz'));
    expect(readFileSync(join(a.dir, 'samples_0.npz')).equals(first)).toBe(true);
    const seeded = loadConfig('fmnist_small', [...OVERRIDES, 'seed=43']);
    const b = await sampleCheckpoint({ ...opts({ out: join(workdir, 'seed43'), numSamples: 4 }), config: seeded });
    expect(readFileSync(join(b.dir, 'samples_0.npz')).equals(first)).toBe(false);
  });

  it('--checkpoint: any file (our training checkpoint under another name, a safetensors state dict)', async () => {
    const src = join(workdir, 'checkpoints', `checkpoint_${config.eval.ckpt_id}.pth`);
    const renamed = join(workdir, 'my model.pth');
    copyFileSync(src, renamed);
    const a = await sampleCheckpoint(opts({ checkpoint: renamed, numSamples: 4 }));
    expect(a.dir).toBe(join(workdir, 'eval', 'ckpt_my_model'));
    const s = readNpzFile(join(a.dir, 'samples_0.npz')).get('samples')!;
    expect(Buffer.from(s.data as Uint8Array).equals(Buffer.from(expected(0)))).toBe(true);

    // A plain state dict holding the EMA weights (what `scoreflow convert` writes).
    const m = new ScoreModel(config, { seed: 0 });
    loadEmaWeights(m, src);
    const sd = m.stateDict();
    const host = new Map([...sd].map(([k, t]) => [k, t.toHost()]));
    for (const t of sd.values()) t.dispose();
    m.dispose();
    const st = join(workdir, 'checkpoint_9.safetensors');
    writeFileSync(st, writeSafetensors(host));
    const b = await sampleCheckpoint(opts({ checkpoint: st, numSamples: 4 }));
    expect(b.dir).toBe(join(workdir, 'eval', 'ckpt_9'));
    expect(readFileSync(join(b.dir, 'samples_0.npz')).equals(readFileSync(join(a.dir, 'samples_0.npz')))).toBe(true);
  });

  it('names a missing checkpoint, and a model that does not fit', async () => {
    await expect(sampleCheckpoint(opts({ ckpt: 99 }))).rejects.toThrow(/checkpoint not found: .*checkpoint_99\.pth/);
    const wide = loadConfig('fmnist_small', [...OVERRIDES, 'model.nf=16']);
    await expect(sampleCheckpoint({ ...opts({ out: join(workdir, 'wide') }), config: wide })).rejects.toThrow(/shape/);
    expect(existsSync(join(workdir, 'wide'))).toBe(false);
  });

  it('the probability-flow ODE sampler (sampling.method=ode): progress counts rounds, nfe is the solver\'s', async () => {
    const ode = loadConfig('fmnist_small', [...OVERRIDES, 'sampling.method=ode']);
    let text = '';
    const stream = { write: (s: string) => { text += s; }, isTTY: false };
    const r = await sampleCheckpoint({ ...opts({ out: join(workdir, 'ode'), numSamples: 2, batchSize: 2 }), config: ode, progress: stream });
    expect(r.written).toEqual([0]);
    expect(r.nfe).toBeGreaterThan(6); // adaptive RK45: at least one step of 6 evaluations
    expect(text).toMatch(/sample \(rounds\)\s+\[#+\]\s+1\/1\s+100\.0%.*nfe=/);
    const s = readNpzFile(join(r.dir, 'samples_0.npz')).get('samples')!;
    expect([s.dtype, ...s.shape]).toEqual(['uint8', 2, 28, 28, 1]);
  });

  it('runs from the command line with a progress bar', () => {
    const out = join(workdir, 'cli');
    const p = spawnSync(process.execPath, ['--import', './scripts/register-ts.js', 'scripts/dev-cli.ts', 'sample',
      '--config', 'fmnist_small', '--workdir', workdir, '--num_samples', '2', '--batch_size', '2', '--out', out,
      ...OVERRIDES.map((o) => `--config.${o}`)], { cwd: ROOT, encoding: 'utf8' });
    expect(p.status, p.stderr).toBe(0);
    expect(p.stderr).toMatch(/sample\s+\[#+\]\s+4\/4\s+100\.0%/);
    const s = readNpzFile(join(out, `ckpt_${config.eval.ckpt_id}`, 'samples_0.npz')).get('samples')!;
    expect(s.shape).toEqual([2, 28, 28, 1]);
    const png = decodePng(readFileSync(join(out, `ckpt_${config.eval.ckpt_id}`, 'samples_0.png')));
    expect([png.width, png.height]).toEqual([32, 62]); // nrow ⌊√2⌋ = 1: one image per row, two rows
  });
});

describe('sampling helpers', () => {
  it('rounds, labels and sampler options from the config', () => {
    expect(samplingRounds(6, 4)).toBe(2);
    expect(samplingRounds(8, 4)).toBe(2);
    expect(samplingRounds(1, 4)).toBe(1);
    expect(checkpointLabel('/x/checkpoint_26.pth')).toBe('26');
    expect(checkpointLabel('/x/checkpoint_26')).toBe('26');
    expect(checkpointLabel('/x/cifar10 vp.safetensors')).toBe('cifar10_vp');
    const pc = samplerOptionsFromConfig(loadConfig('fmnist_small', ['sampling.corrector=langevin', 'sampling.snr=0.2', 'sampling.n_steps_each=2']));
    expect(pc.method).toBe('pc');
    expect(pc.opts).toMatchObject({ predictor: 'euler_maruyama', corrector: 'langevin', snr: 0.2, nStepsEach: 2, noiseRemoval: true, probabilityFlow: false, eps: 1e-3 });
    expect(typeof pc.opts.inverseScaler).toBe('function'); // centered data
    const ode = samplerOptionsFromConfig(loadConfig('fmnist_small', ['sampling.method=ode', 'sampling.noise_removal=false', 'data.centered=false']));
    expect(ode).toMatchObject({ method: 'ode', opts: { rtol: 1e-5, atol: 1e-5, denoise: false, eps: 1e-3, inverseScaler: undefined } });
  });
});
