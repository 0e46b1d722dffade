import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ScoreModel } from '../../src/model/score-model.js';
import { loadTorchFile, asStateDict } from '../../src/formats/torch-load.js';
import { readNpzFile } from '../../src/formats/npz.js';
import { fromHost } from '../../src/tensor.js';
import { noGrad } from '../../src/autograd.js';
import { tidy } from '../../src/scope.js';
import { configFromObject } from '../../src/config/index.js';
import { REFERENCE_FIXTURES } from '../reference-fixtures.js';

const FIX = REFERENCE_FIXTURES;

describe('reference fixture a_ddpmpp', () => {
  it('reproduces the reference forward pass to 1e-5 and reports state-dict problems by name', () => {
    const meta = JSON.parse(readFileSync(FIX + 'a_ddpmpp.json', 'utf8'));
    const config = configFromObject({ model: meta.config.model, data: meta.config.data });
    const model = new ScoreModel(config, { seed: 0 });
    expect(model.numParameters()).toBe(441_875);
    const sd = asStateDict(loadTorchFile(FIX + 'a_ddpmpp.pth'));
    expect(model.loadStateDict(sd)).toEqual({ missing: [], unexpected: [], mismatched: [] });
    const io = readNpzFile(FIX + 'a_ddpmpp.npz');
    tidy(() => {
      const out = noGrad(() => model.eval().forward(fromHost(io.get('x')!), fromHost(io.get('t')!)));
      const want = fromHost(io.get('out')!);
      expect(out.shape).toEqual(want.shape);
      expect(out.sub(want).abs().max().item()).toBeLessThanOrEqual(1e-5);
    });
    const broken = new Map(sd);
    broken.delete('all_modules.2.weight');
    broken.set('extra.weight', sd.get('all_modules.2.bias')!);
    broken.set('all_modules.0.bias', sd.get('all_modules.2.bias')!);
    expect(() => model.loadStateDict(broken)).toThrow(/missing keys: all_modules.2.weight; unexpected keys: extra.weight; shape mismatches: all_modules.0.bias expected \[64\] received \[16\]/);
    model.dispose();
  });
});
