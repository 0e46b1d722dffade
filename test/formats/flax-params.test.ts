// flax files in every form users save (issue 10): the fixtures tiny_flax_params / _params_ema / _modules
// hold the State fixture's own params, written by flax 0.12.8's to_bytes (scripts/goldens/flax_bare_trees.py).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostTensor } from '../../src/host-tensor.js';
import { flaxGet, readFlaxCheckpoint, writeFlaxCheckpoint } from '../../src/formats/flax.js';
import { chooseFlaxWeights, locateFlaxParams } from '../../src/formats/flax-params.js';
import { interpretFlaxState } from '../../src/formats/reference-checkpoint.js';
import { readStateDict } from '../../src/formats/state-dict.js';
import { toNumbers } from '../../src/formats/tensor-util.js';
import { loadTorchFile } from '../../src/formats/torch-load.js';
import { DATA, expectFormatError } from './helpers.js';

const expected = loadTorchFile(join(DATA, 'tiny_flax_expected.pt')) as Map<string, any>;
const torchKeys = [...(expected.get('params') as Map<string, HostTensor>)].filter(([k]) => k !== 'sigmas').map(([k, t]) => [k, t.shape] as const);
const stateBytes = readFileSync(join(DATA, 'tiny_flax_checkpoint'));
const fromState = {
  raw: readStateDict(stateBytes, 'checkpoint_12', { torchKeys }),
  ema: readStateDict(stateBytes, 'checkpoint_12', { torchKeys, ema: true }),
};

function expectSameWeights(got: Map<string, HostTensor>, want: Map<string, HostTensor>): void {
  expect([...got.keys()]).toEqual([...want.keys()]);
  for (const [k, t] of want) {
    expect(got.get(k)!.shape, k).toEqual(t.shape);
    expect(toNumbers(got.get(k)!), k).toEqual(toNumbers(t));
  }
}

describe('flax params trees besides a State', () => {
  it('the State fixture reads as before: raw and EMA differ (EMA = raw / 2)', () => {
    expect(fromState.raw.size).toBe(torchKeys.length);
    const k = 'all_modules.0.weight';
    expect(toNumbers(fromState.ema.get(k)!)).toEqual(toNumbers(fromState.raw.get(k)!).map((x) => Math.fround(x * 0.5)));
  });

  // file, top-level keys, weights for --weights ema, for --weights raw (null: refused)
  const cases = [
    ['tiny_flax_params', ['params'], 'raw', 'raw'],
    ['tiny_flax_params_ema', ['params_ema'], 'ema', null],
    ['tiny_flax_modules', null, 'ema', 'ema'],
  ] as const;
  for (const [file, keys, forEma, forRaw] of cases) {
    it(`${file}: converts to the State fixture's ${forEma} weights`, () => {
      const bytes = readFileSync(join(DATA, file));
      const tree = readFlaxCheckpoint(bytes) as Map<string, unknown>;
      if (keys) expect([...tree.keys()]).toEqual(keys);
      else expect([...tree.keys()].slice(0, 3)).toEqual(['Dense_0', 'Dense_1', 'Conv_0']);
      expectSameWeights(readStateDict(bytes, file, { torchKeys, ema: true }), fromState[forEma]);
      if (forRaw) expectSameWeights(readStateDict(bytes, file, { torchKeys }), fromState[forRaw]);
      else expectFormatError(() => readStateDict(bytes, file, { torchKeys }), new RegExp(`^${file}: the file holds only EMA weights \\('params_ema'\\).*use --weights ema`));
      const st = interpretFlaxState(tree, torchKeys);
      expect([st.step, st.expAvg, st.lr]).toEqual([0, null, null]);
    });
  }

  it('a State with both params and params_ema: ema picks params_ema, raw picks params', () => {
    const orig = readFlaxCheckpoint(stateBytes);
    const both = writeFlaxCheckpoint(new Map([['step', 12], ['params', flaxGet(orig, 'optimizer/target')], ['params_ema', flaxGet(orig, 'params_ema')]]));
    expectSameWeights(readStateDict(both, 'both', { torchKeys, ema: true }), fromState.ema);
    expectSameWeights(readStateDict(both, 'both', { torchKeys }), fromState.raw);
    expect(locateFlaxParams(readFlaxCheckpoint(both))).toMatchObject({ raw: { path: 'params' }, ema: { path: 'params_ema' } });
    expect(locateFlaxParams(orig)).toMatchObject({ raw: { path: 'optimizer/target' }, ema: { path: 'params_ema' } });
  });

  it('rejects other trees naming the file, the keys found and what is accepted', () => {
    const t: HostTensor = { dtype: 'float32', shape: [1], data: new Float32Array(1) };
    const other = writeFlaxCheckpoint(new Map<string, unknown>([['step', 3], ['weights', new Map([['Dense_0', new Map([['kernel', t]])]])]]));
    expectFormatError(() => readStateDict(other, '/ckpts/other_3', { torchKeys, ema: true }),
      /^\/ckpts\/other_3: no flax params tree: top-level keys found: 'step', 'weights'; accepted: a flax State \('optimizer\/target' or 'params', and\/or 'params_ema'\), a variables dict \{'params': …\} or \{'params_ema': …\}, or a bare params tree whose top-level keys are module names/);
    expectFormatError(() => locateFlaxParams(new Map()), /no flax params tree: the file holds an empty dict/);
    // module-like names with a leaf at the top level are not a params tree
    expectFormatError(() => locateFlaxParams(new Map([['Dense_0', t]])), /top-level keys found: 'Dense_0'/);
  });

  it('a bare tree with names the map does not know says which names it expected and found', () => {
    const modules = readFlaxCheckpoint(readFileSync(join(DATA, 'tiny_flax_modules'))) as Map<string, unknown>;
    const renamed = new Map([...modules.values()].map((v, i) => [`all_modules_${i}`, v]));
    expect(locateFlaxParams(renamed).raw!.path).toBe('');
    expectFormatError(() => readStateDict(writeFlaxCheckpoint(renamed), 'renamed', { torchKeys, ema: true }),
      /^renamed: flax tree has no \w+ #0 for torch all_modules\.\d+ \(expected flax's '<Class>_<k>' module names; its top-level names: all_modules_0, all_modules_1, .*, … \(\d+\)\)/);
  });

  it('chooseFlaxWeights: the rule on its own', () => {
    expect(chooseFlaxWeights({ params: 'r', paramsEma: 'e' }, 'ema')).toBe('e');
    expect(chooseFlaxWeights({ params: 'r', paramsEma: 'e' }, 'raw')).toBe('r');
    expect(chooseFlaxWeights({ params: 'r', paramsEma: null }, 'ema')).toBe('r');
    expectFormatError(() => chooseFlaxWeights({ params: null, paramsEma: 'e' }, 'raw'), /only EMA weights/);
  });
});
