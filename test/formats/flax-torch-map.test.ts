import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildFlaxToTorchMap, classifyTorchModules, convertLeaf, flaxModuleNames, unconvertLeaf } from '../../src/formats/flax-torch-map.js';
import { toNumbers } from '../../src/formats/tensor-util.js';
import { DATA } from './helpers.js';

/** Copies of /work/shared/reference/state_dict files (the reference's own key lists and module maps). */
const REF_DIR = join(DATA, 'reference');

function readKeys(file: string): [string, number[]][] {
  return readFileSync(join(REF_DIR, file), 'utf8').trim().split('\n').map((line) => {
    const [k, s] = line.split('\t');
    return [k!, JSON.parse(s!) as number[]];
  });
}

/** "idx ('Type', …) FlaxName" lines of the reference map files. */
function readReferenceMap(file: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of readFileSync(join(REF_DIR, file), 'utf8').split('\n')) {
    const m = /^(\d+)\s.*\s(\S+)$/.exec(line.trim());
    if (m) out.set(Number(m[1]), m[2]!);
  }
  return out;
}

describe('flax ↔ torch layouts', () => {
  it('converts conv kernels [kh,kw,in,out] → [out,in,kh,kw] and transposes Dense kernels', () => {
    // kernel[kh][kw][i][o] = 1000*kh + 100*kw + 10*i + o
    const k = { dtype: 'float32' as const, shape: [2, 3, 4, 5], data: new Float32Array(120) };
    let p = 0;
    for (let a = 0; a < 2; a++) for (let b = 0; b < 3; b++) for (let i = 0; i < 4; i++) for (let o = 0; o < 5; o++) k.data[p++] = 1000 * a + 100 * b + 10 * i + o;
    const w = convertLeaf(k, 'conv');
    expect(w.shape).toEqual([5, 4, 2, 3]);
    // w[o=3][i=2][kh=1][kw=2] at ((3*4+2)*2+1)*3+2
    expect(w.data[((3 * 4 + 2) * 2 + 1) * 3 + 2]).toBe(1000 + 200 + 20 + 3);
    expect(unconvertLeaf(w, 'conv')).toEqual(k);
    const d = { dtype: 'float32' as const, shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) };
    expect(toNumbers(convertLeaf(d, 'dense'))).toEqual([1, 4, 2, 5, 3, 6]);
  });
});

describe('flax → torch module map vs the reference map files', () => {
  for (const [keys, ref, count] of [
    ['cifar10_ddpmpp_continuous_keys.tsv', 'flax_to_torch_ddpmpp.txt', 55],
    ['cifar10_ddpmpp_deep_continuous_keys.tsv', 'flax_to_torch_ddpmpp_deep.txt', 91],
  ] as const) {
    it(`matches ${ref}`, () => {
      const k = readKeys(keys);
      const modules = classifyTorchModules(k);
      expect(modules).toHaveLength(count);
      const names = flaxModuleNames(modules);
      const want = readReferenceMap(ref);
      expect(want.size).toBe(count);
      for (const [i, n] of want) expect(names.get(i), `all_modules.${i}`).toBe(n);
      const map = buildFlaxToTorchMap(k);
      expect(map).toHaveLength(k.length - 1); // everything except the 'sigmas' buffer
      const byKey = new Map(map.map((m) => [m.torchKey, m]));
      expect(byKey.get('all_modules.0.weight')).toMatchObject({ flaxPath: 'Dense_0/kernel', convert: 'dense' });
      expect(byKey.get('all_modules.2.weight')).toMatchObject({ flaxPath: 'Conv_0/kernel', convert: 'conv' });
      const attn = count === 55 ? 9 : 13; // first attention block (spec §4.4 / §4.5)
      expect(byKey.get(`all_modules.${attn}.NIN_3.W`)).toMatchObject({ flaxPath: 'AttnBlockpp_0/NIN_3/W', convert: 'identity' });
      expect(byKey.get(`all_modules.${attn - 1}.Conv_2.weight`)).toMatchObject({ flaxPath: `ResnetBlockBigGANpp_${attn - 4}/Conv_2/kernel`, convert: 'conv' });
      expect(byKey.get('all_modules.3.GroupNorm_1.weight')).toMatchObject({ flaxPath: 'ResnetBlockBigGANpp_0/GroupNorm_1/scale' });
      const last = count - 1;
      expect(byKey.get(`all_modules.${last - 1}.weight`)).toMatchObject({ flaxPath: 'GroupNorm_0/scale' });
      expect(byKey.get(`all_modules.${last}.bias`)).toMatchObject({ flaxPath: 'Conv_1/bias' });
    });
  }

  it('handles DataParallel prefixes, DDPM++ NIN shortcuts, pyramids and Fourier features', () => {
    const k: [string, number[]][] = [
      ['module.sigmas', [10]],
      ['module.all_modules.0.W', [8]],
      ['module.all_modules.1.weight', [32, 16]], ['module.all_modules.1.bias', [32]],
      ['module.all_modules.2.weight', [8, 3, 3, 3]], ['module.all_modules.2.bias', [8]],
      ...res(3, 8, 16, true),
      ['module.all_modules.4.Conv2d_0.weight', [16, 3, 3, 3]], ['module.all_modules.4.Conv2d_0.bias', [16]],
      ['module.all_modules.5.Conv_0.weight', [16, 3, 1, 1]], ['module.all_modules.5.Conv_0.bias', [16]],
      ...res(6, 32, 16, true),
      ['module.all_modules.7.Conv_0.weight', [16, 16, 3, 3]], ['module.all_modules.7.Conv_0.bias', [16]],
    ];
    const mods = classifyTorchModules(k);
    expect(mods.map((m) => m.flaxClass)).toEqual(['GaussianFourierProjection', 'Dense', 'Conv', 'ResnetBlockDDPMpp', 'Downsample', 'Combine', 'ResnetBlockDDPMpp', 'Upsample']);
    const map = new Map(buildFlaxToTorchMap(k).map((m) => [m.torchKey, m.flaxPath]));
    expect(map.get('all_modules.0.W')).toBe('GaussianFourierProjection_0/W');
    expect(map.get('all_modules.3.NIN_0.W')).toBe('ResnetBlockDDPMpp_0/NIN_0/W');
    expect(map.get('all_modules.4.Conv2d_0.weight')).toBe('Downsample_0/Conv2d_0/weight');
    expect(map.get('all_modules.7.Conv_0.weight')).toBe('Upsample_0/Conv_0/kernel');
    // With the flax tree's names, gaps from parameter-free modules are respected.
    const withNames = new Map(buildFlaxToTorchMap(k, { flaxNames: ['GaussianFourierProjection_0', 'Dense_0', 'Conv_0', 'ResnetBlockDDPMpp_0', 'ResnetBlockDDPMpp_1', 'Downsample_0', 'Combine_0', 'Upsample_2'] }).map((m) => [m.torchKey, m.flaxPath]));
    expect(withNames.get('all_modules.7.Conv_0.weight')).toBe('Upsample_2/Conv_0/kernel');
  });
});

function res(i: number, cin: number, cout: number, nin: boolean): [string, number[]][] {
  const p = `module.all_modules.${i}.`;
  const out: [string, number[]][] = [
    [p + 'GroupNorm_0.weight', [cin]], [p + 'GroupNorm_0.bias', [cin]], [p + 'Conv_0.weight', [cout, cin, 3, 3]], [p + 'Conv_0.bias', [cout]],
    [p + 'Dense_0.weight', [cout, 32]], [p + 'Dense_0.bias', [cout]], [p + 'GroupNorm_1.weight', [cout]], [p + 'GroupNorm_1.bias', [cout]],
    [p + 'Conv_1.weight', [cout, cout, 3, 3]], [p + 'Conv_1.bias', [cout]],
  ];
  if (nin) out.push([p + 'NIN_0.W', [cin, cout]], [p + 'NIN_0.b', [cout]]);
  return out;
}
