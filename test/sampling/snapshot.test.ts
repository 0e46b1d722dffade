import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { ScoreModel } from '../../src/model/score-model.js';
import { Ema } from '../../src/model/ema.js';
import { readNpy } from '../../src/formats/npy.js';
import { decodePng } from '../../src/data/png.js';
import { samplesToUint8Nhwc } from '../../src/data/transforms.js';
import { generator } from '../../src/random.js';
import { sampleImages, snapshotBatchSize, snapshotSamples, snapshotSeed } from '../../src/sampling/index.js';

const OVERRIDES = ['model.nf=8', 'model.num_scales=3', 'device=cpu', 'training.batch_size=9'];
const config = loadConfig('fmnist_small', OVERRIDES);

const flat = (m: ScoreModel) => m.parameters().map((p) => Array.from(p.toArray() as Float32Array)).flat();

describe('training snapshots (snapshotSamples)', () => {
  it('samples with the EMA weights, writes samples/iter_<step>/sample.{np,png}, restores the live weights', () => {
    const workdir = mkdtempSync(join(tmpdir(), 'sf-snap-'));
    const model = new ScoreModel(config, { seed: 3 });
    const ema = new Ema(model.parameters(), 0.99); // shadow = seed-3 init
    const other = new ScoreModel(config, { seed: 4 });
    const sd = other.stateDict();
    model.loadStateDict(sd); // live weights = seed 4's
    for (const t of sd.values()) t.dispose();
    model.train(true);
    const live = flat(model);
    const images: unknown[][] = [];
    const steps: number[] = [];
    const r = snapshotSamples(model, ema, config, 1200, workdir, {
      image: (...a) => images.push(a),
      onProgress: (i) => steps.push(i.step),
    });

    expect(flat(model)).toEqual(live); // EMA swapped out again
    expect(model.training).toBe(true);
    expect(steps).toEqual([1, 2, 3]);
    const dir = join(workdir, 'samples', 'iter_1200');
    expect(r.dir).toBe(dir);
    expect(readdirSync(dir).sort()).toEqual(['sample.np', 'sample.png']);

    const np = readNpy(readFileSync(join(dir, 'sample.np')));
    expect(np.dtype).toBe('uint8');
    expect(np.shape).toEqual([9, 28, 28, 1]);
    const emaModel = new ScoreModel(config, { seed: 3 });
    const b = sampleImages(emaModel, config, 9, { generator: generator(snapshotSeed(config)) });
    expect(Buffer.from(np.data as Uint8Array).equals(Buffer.from(samplesToUint8Nhwc(b.data, 9, 1, 28, 28)))).toBe(true);
    expect(Buffer.from(r.samples.data).equals(Buffer.from(np.data as Uint8Array))).toBe(true);

    const bytes = readFileSync(join(dir, 'sample.png'));
    expect(Buffer.from(r.png).equals(bytes)).toBe(true);
    const png = decodePng(bytes);
    // 9 images, nrow ⌊√9⌋ = 3, padding 2: 3·30 + 2 = 92 square.
    expect([png.width, png.height, png.channels]).toEqual([92, 92, 3]);
    expect([r.width, r.height, r.channels]).toEqual([92, 92, 3]);
    expect(images).toEqual([['samples', r.png, 92, 92, 3, 1200]]);

    // The same latents at every snapshot: the same weights give the same files.
    const again = snapshotSamples(model, ema, config, 1300, workdir);
    expect(Buffer.from(again.png).equals(bytes)).toBe(true);
    for (const m of [model, other, emaModel]) m.dispose();
    ema.dispose();
  });

  it('caps the batch at 64', () => {
    expect(snapshotBatchSize(config)).toBe(9);
    expect(snapshotBatchSize(loadConfig('fmnist_small', ['training.batch_size=128']))).toBe(64);
  });
});
