import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostTensor } from '../../src/host-tensor.js';
import { flaxGet, readFlaxCheckpoint, writeFlaxCheckpoint } from '../../src/formats/flax.js';
import { decodeMsgpack, encodeMsgpack, MsgpackExt } from '../../src/formats/msgpack.js';
import { interpretFlaxState, toFlaxState } from '../../src/formats/reference-checkpoint.js';
import { torchToFlaxParams } from '../../src/formats/flax-torch-map.js';
import { toNumbers } from '../../src/formats/tensor-util.js';
import { loadTorchFile } from '../../src/formats/torch-load.js';
import { DATA, expectFormatError } from './helpers.js';

describe('msgpack', () => {
  it('round-trips every type family', () => {
    const v = new Map<unknown, unknown>([
      ['ints', [0, 127, 128, 255, 256, 65535, 65536, 2 ** 32, 2 ** 53 - 1, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, 2n ** 63n, -(2n ** 63n)]],
      ['floats', [0.5, -1e300]], ['s', 'x'.repeat(40)], ['long', 'y'.repeat(70000)], ['bin', new Uint8Array(300).fill(7)],
      ['nil', null], ['b', [true, false]], ['arr', Array.from({ length: 20 }, (_, i) => i)],
      ['ext', new MsgpackExt(5, new Uint8Array([1, 2, 3]))], ['ext8', new MsgpackExt(1, new Uint8Array(8))],
    ]);
    expect(decodeMsgpack(encodeMsgpack(v))).toEqual(v);
  });

  it('keeps map keys as strings in file order, ext -1 raw (no Dates), and deep nesting as an error', () => {
    // flax keys are strings; a number key comes back as its string, as in Python's msgpack of a flax tree
    expect(decodeMsgpack(encodeMsgpack(new Map<unknown, unknown>([['b', 1], [7, 'int key']])))).toEqual(new Map([['b', 1], ['7', 'int key']]));
    expect(decodeMsgpack(new Uint8Array([0xd6, 0xff, 0, 0, 0, 1]))).toEqual(new MsgpackExt(-1, new Uint8Array([0, 0, 0, 1])));
    const deep = new Uint8Array(100001).fill(0x91);
    deep[100000] = 0xc0;
    expectFormatError(() => decodeMsgpack(deep), /nesting deeper than 512 levels/);
    expectFormatError(() => encodeMsgpack(new Map([[{}, 1]])), /map keys must be strings or numbers, received a key of type object/);
  });

  it('rejects truncated and trailing data', () => {
    const b = encodeMsgpack({ a: [1, 2, 3] });
    expectFormatError(() => decodeMsgpack(b.subarray(0, b.length - 1)), /truncated msgpack/);
    expectFormatError(() => decodeMsgpack(new Uint8Array([...b, 0])), /trailing/);
    expectFormatError(() => decodeMsgpack(new Uint8Array([0xc1])), /invalid type byte/);
  });
});

describe('flax checkpoints', () => {
  const bytes = readFileSync(join(DATA, 'tiny_flax_checkpoint'));
  const expected = loadTorchFile(join(DATA, 'tiny_flax_expected.pt')) as Map<string, any>;

  it('decodes a Python-msgpack flax State: ext 1 arrays, ext 3 numpy scalars, uint32 rng', () => {
    const tree = readFlaxCheckpoint(bytes) as Map<string, any>;
    expect([...tree.keys()].sort()).toEqual(['ema_rate', 'lr', 'model_state', 'optimizer', 'params_ema', 'rng', 'step']);
    expect(tree.get('step')).toBe(12);
    expect(tree.get('lr')).toBe(2e-4);
    expect(tree.get('ema_rate')).toBe(0.999);
    expect(flaxGet(tree, 'optimizer/state/step')).toBe(12);
    const rng = tree.get('rng') as HostTensor;
    expect(rng.dtype).toBe('int64');
    expect([...rng.data]).toEqual([0n, 4000000000n]);
    const k = flaxGet(tree, 'optimizer/target/Conv_0/kernel') as HostTensor;
    expect(k.shape).toEqual([3, 3, 3, 4]);
    expect(flaxGet(tree, 'optimizer/target/GroupNorm_0/scale')).toBeDefined();
  });

  it('converts the State to torch names/layouts (params, EMA, Adam moments)', () => {
    const sd = expected.get('params') as Map<string, HostTensor>;
    const keys = [...sd].map(([k, t]) => [k, t.shape] as const);
    const st = interpretFlaxState(readFlaxCheckpoint(bytes), keys);
    expect(st.step).toBe(12);
    expect(st.lr).toBe(2e-4);
    expect(st.emaRate).toBe(0.999);
    expect(st.params.size).toBe(sd.size - 1); // all but the 'sigmas' buffer
    for (const [name, want] of [['params', sd], ['paramsEma', expected.get('ema')], ['expAvg', expected.get('m')], ['expAvgSq', expected.get('v')]] as const) {
      const got = st[name as 'params']!;
      for (const [k, t] of got) {
        const w = (want as Map<string, HostTensor>).get(k)!;
        expect(t.shape, `${name} ${k}`).toEqual(w.shape);
        expect(toNumbers(t), `${name} ${k}`).toEqual(toNumbers(w));
      }
    }
    const names = new Map((expected.get('flax_names') as [number, string][]).map(([i, n]) => [i, n]));
    for (const m of st.mapping) {
      const idx = Number(m.torchKey.split('.')[1]);
      expect(m.flaxPath.split('/')[0]).toBe(names.get(idx));
    }
  });

  it('converts torch params back to a flax tree (inverse map)', () => {
    const sd = expected.get('params') as Map<string, HostTensor>;
    const keys = [...sd].map(([k, t]) => [k, t.shape] as const);
    const tree = readFlaxCheckpoint(bytes) as Map<string, any>;
    const st = interpretFlaxState(tree, keys);
    const flaxTree = torchToFlaxParams(st.params, st.mapping);
    const again = readFlaxCheckpoint(writeFlaxCheckpoint(flaxTree));
    expect(again).toEqual(tree.get('optimizer').get('target'));
  });

  it('writes a State tree (toFlaxState) that interprets back to the same tensors', () => {
    const sd = expected.get('params') as Map<string, HostTensor>;
    const keys = [...sd].map(([k, t]) => [k, t.shape] as const);
    const st = interpretFlaxState(readFlaxCheckpoint(bytes), keys);
    const tree = toFlaxState({ params: st.params, paramsEma: st.paramsEma!, expAvg: st.expAvg!, expAvgSq: st.expAvgSq!, step: 12, lr: 2e-4, emaRate: 0.999 }, st.mapping);
    const again = interpretFlaxState(readFlaxCheckpoint(writeFlaxCheckpoint(tree)), keys);
    expect(again.step).toBe(12);
    expect(again.optimizerStep).toBe(12);
    for (const k of ['params', 'paramsEma', 'expAvg', 'expAvgSq'] as const) expect(again[k]).toEqual(st[k]);
    // and the raw tree matches the Python-written one leaf for leaf
    const orig = readFlaxCheckpoint(bytes) as Map<string, any>;
    expect(flaxGet(tree, 'optimizer/state/param_states')).toEqual(flaxGet(orig, 'optimizer/state/param_states'));
  });

  it('writes flax msgpack that reads back', () => {
    const t: HostTensor = { dtype: 'float32', shape: [2, 1], data: new Float32Array([1, -1]) };
    const tree = new Map<string, unknown>([['params', new Map([['Dense_0', new Map([['kernel', t]])]])], ['step', 3]]);
    const back = readFlaxCheckpoint(writeFlaxCheckpoint(tree));
    expect(back).toEqual(tree);
  });

  it('rejects corrupt array payloads and mismatched shapes', () => {
    const bad = encodeMsgpack({ a: new MsgpackExt(1, encodeMsgpack([[4], 'float32', new Uint8Array(8)])) });
    expectFormatError(() => readFlaxCheckpoint(bad), /has 8 bytes, expected 16/);
    const odd = encodeMsgpack({ a: new MsgpackExt(1, encodeMsgpack([[1], 'complex64', new Uint8Array(8)])) });
    expectFormatError(() => readFlaxCheckpoint(odd), /unsupported numpy dtype/);
    const sd = expected.get('params') as Map<string, HostTensor>;
    const keys = [...sd].map(([k, t]) => [k, k === 'all_modules.0.weight' ? [9, 9] : t.shape] as const);
    expectFormatError(() => interpretFlaxState(readFlaxCheckpoint(bytes), keys), /shape mismatch for all_modules\.0\.weight/);
    expectFormatError(() => readFlaxCheckpoint(bytes.subarray(0, 1000)), /truncated msgpack/);
  });
});
