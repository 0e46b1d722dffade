import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run as convert } from '../../src/commands/convert.js';
import { run as inspect } from '../../src/commands/inspect.js';
import { loadWeights } from '../../src/commands/weights.js';
import { readReferenceCheckpoint, toFlaxState } from '../../src/formats/reference-checkpoint.js';
import { buildFlaxToTorchMap } from '../../src/formats/flax-torch-map.js';
import { writeFlaxCheckpointFile } from '../../src/formats/flax.js';
import { readNpzFile } from '../../src/formats/npz.js';
import { ScoreModel } from '../../src/model/score-model.js';
import { configFromObject } from '../../src/config/index.js';
import { fromHost } from '../../src/tensor.js';
import { noGrad } from '../../src/autograd.js';
import { tidy } from '../../src/scope.js';
import { REFERENCE_FIXTURES } from '../reference-fixtures.js';

const FIX = REFERENCE_FIXTURES;
const meta = JSON.parse(readFileSync(FIX + 'a_ddpmpp.json', 'utf8'));

function quiet<T>(fn: () => Promise<T>): Promise<T> {
  const log = console.log, err = console.error;
  console.log = console.error = () => {};
  return fn().finally(() => { console.log = log; console.error = err; });
}

describe('convert and inspect', () => {
  it('converts a reference training checkpoint to its EMA state dict', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'sf-conv-')), 'ema.pth');
    await quiet(() => convert({ input: FIX + 'ckpt_a.pth', output: out, weights: 'ema' }, []));
    const sd = loadWeights(out, 'raw').weights;
    const ck = readReferenceCheckpoint(FIX + 'ckpt_a.pth');
    expect(sd.size).toBe(289);
    expect([...sd.keys()][0]).toBe('sigmas');
    expect(Array.from(sd.get('all_modules.0.weight')!.data as Float32Array)).toEqual(Array.from(ck.ema.shadowParams[0]!.data as Float32Array));
    await quiet(() => inspect({ file: out }));
  });

  it('reads a flax checkpoint through the name map and reproduces the reference forward pass', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-flax-'));
    const configPath = join(dir, 'a_ddpmpp.json');
    writeFileSync(configPath, JSON.stringify({ model: meta.config.model, data: meta.config.data }));
    const sd = loadWeights(FIX + 'a_ddpmpp.pth', 'raw').weights;
    const keys = [...sd].map(([k, t]) => [k, t.shape] as const);
    const params = new Map([...sd].filter(([k]) => k !== 'sigmas'));
    writeFlaxCheckpointFile(join(dir, 'checkpoint_1'), toFlaxState({ params, paramsEma: params, step: 1 }, buildFlaxToTorchMap(keys)));
    const out = join(dir, 'from_flax.safetensors');
    await quiet(() => convert({ input: join(dir, 'checkpoint_1'), output: out, weights: 'ema', config: configPath }, []));
    const model = new ScoreModel(configFromObject({ model: meta.config.model, data: meta.config.data }), { seed: 3 });
    model.loadStateDict(loadWeights(out, 'raw').weights);
    const io = readNpzFile(FIX + 'a_ddpmpp.npz');
    tidy(() => {
      const y = noGrad(() => model.eval().forward(fromHost(io.get('x')!), fromHost(io.get('t')!)));
      expect(y.sub(fromHost(io.get('out')!)).abs().max().item()).toBeLessThanOrEqual(1e-5);
    });
    model.dispose();
  });

  it('rejects malformed input with a clear error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-bad-'));
    writeFileSync(join(dir, 'junk.pth'), 'not a checkpoint');
    await expect(convert({ input: join(dir, 'junk.pth'), output: join(dir, 'o.pth') }, [])).rejects.toMatchObject({ code: 'ERR_FORMAT' });
  });
});
