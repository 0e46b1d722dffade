import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostTensor } from '../../src/host-tensor.js';
import { readStateDict } from '../../src/formats/state-dict.js';
import { writeSafetensors } from '../../src/formats/safetensors.js';
import { loadTorchFile } from '../../src/formats/torch-load.js';
import { toNumbers } from '../../src/formats/tensor-util.js';
import { DATA, FIXTURES, expectFormatError } from './helpers.js';

describe('readStateDict', () => {
  it('maps a flax State with the model key list (target or EMA)', () => {
    const expected = loadTorchFile(join(DATA, 'tiny_flax_expected.pt')) as Map<string, any>;
    const sd = expected.get('params') as Map<string, HostTensor>;
    const torchKeys = [...sd].filter(([k]) => k !== 'sigmas').map(([k, t]) => [k, t.shape] as const);
    const bytes = readFileSync(join(DATA, 'tiny_flax_checkpoint'));
    const target = readStateDict(bytes, 'checkpoint_12', { torchKeys });
    expect(toNumbers(target.get('all_modules.3.Conv_0.weight')!)).toEqual(toNumbers(sd.get('all_modules.3.Conv_0.weight')!));
    const ema = readStateDict(bytes, 'checkpoint_12', { torchKeys, ema: true });
    expect(toNumbers(ema.get('all_modules.0.weight')!)).toEqual(toNumbers(expected.get('ema').get('all_modules.0.weight')));
    expectFormatError(() => readStateDict(bytes, 'checkpoint_12'), /need the model key list/);
  });

  it('checks keys and shapes against the model', () => {
    const t: HostTensor = { dtype: 'float32', shape: [2], data: new Float32Array(2) };
    const st = writeSafetensors({ 'module.a': t });
    expect([...readStateDict(st).keys()]).toEqual(['a']);
    expectFormatError(() => readStateDict(st, '', { torchKeys: [['a', [3]]] }), /shape mismatch for 'a'/);
    expectFormatError(() => readStateDict(st, '', { torchKeys: [['b', [2]]] }), /missing 'b'/);
  });

  it('reads the model or EMA weights of ckpt_a.pth', () => {
    const bytes = readFileSync(join(FIXTURES, 'ckpt_a.pth'));
    const model = readStateDict(bytes, 'ckpt_a.pth');
    const ema = readStateDict(bytes, 'ckpt_a.pth', { ema: true });
    expect(model.size).toBe(289);
    expect([...ema.keys()]).toEqual([...model.keys()]);
    expect(ema.get('sigmas')).toEqual(model.get('sigmas'));
    expect(ema.get('all_modules.0.weight')).not.toBe(model.get('all_modules.0.weight'));
    const a = readStateDict(readFileSync(join(FIXTURES, 'a_ddpmpp.pth')));
    const keys = [...a].map(([k, v]) => [k, v.shape] as const);
    expect(readStateDict(bytes, 'ckpt_a.pth', { torchKeys: keys }).size).toBe(289);
  });
});
