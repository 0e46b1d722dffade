import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostTensor } from '../../src/host-tensor.js';
import { asStateDict, loadTorch, loadTorchFile } from '../../src/formats/torch-load.js';
import { OrderedDict, PyReduce, isTuple, tuple } from '../../src/formats/py-values.js';
import { dumpPickle } from '../../src/formats/pickle-writer.js';
import { readZip, writeZip } from '../../src/formats/zip.js';
import { saveTorch } from '../../src/formats/torch-save.js';
import { TorchDType } from '../../src/formats/torch-types.js';
import { toNumbers } from '../../src/formats/tensor-util.js';
import { DATA, FIXTURES, expectSummary, readJson, type Summary } from './helpers.js';

function checkMixed(obj: unknown): void {
  const golden = readJson<Record<string, Summary>>(join(DATA, 'mixed_golden.json'));
  expect(obj).toBeInstanceOf(Map);
  const m = obj as Map<string, any>;
  const sd = m.get('sd');
  expect(sd).toBeInstanceOf(OrderedDict);
  expect([...sd.keys()]).toEqual(Object.keys(golden));
  for (const [k, s] of Object.entries(golden)) expectSummary(sd.get(k) as HostTensor, s);
  // permute(2,0,1) of arange(24).reshape(2,3,4): element [1,0,2] = base[0,2,1] = 9
  expect(toNumbers(sd.get('f32_t')).slice(0, 6)).toEqual([0, 4, 8, 12, 16, 20]);
  expect(toNumbers(sd.get('f16'))).toEqual([1.5, -2.25, 65504, 6.097555160522461e-5]);
  expect(toNumbers(sd.get('bf16'))[0]).toBe(1.5);
  expect(sd.get('i64').data[2]).toBe(2n ** 40n);
  expect(sd.get('scalar').shape).toEqual([]);
  expect(sd.get('empty').shape).toEqual([0, 3]);
  expect(m.get('step')).toBe(7);
  expect(m.get('lr')).toBe(2e-4);
  expect(m.get('n64')).toBe(-3);
  const arr = m.get('arr') as HostTensor;
  expect(arr.dtype).toBe('float32');
  expect(arr.shape).toEqual([2, 3]);
  expect(toNumbers(arr)).toEqual([0, 1, 2, 3, 4, 5]);
  const arrF = m.get('arr_f') as HostTensor;
  expect(arrF.dtype).toBe('int16');
  expect(toNumbers(arrF)).toEqual([0, 1, 2, 3, 4, 5]);
  expect(m.get('dev')).toBe('cpu');
  expect(m.get('dtype')).toBeInstanceOf(TorchDType);
  expect((m.get('dtype') as TorchDType).name).toBe('float16');
  expect(isTuple(m.get('tup'))).toBe(true);
  expect([...m.get('tup')]).toEqual([1, 2.5, 'x']);
  const lst = m.get('lst');
  expect(lst.slice(0, 3)).toEqual([null, true, false]);
  expect([...lst[3]]).toEqual([114, 97, 119, 0, 255]);
  expect([...m.get('ikeys').entries()]).toEqual([[0, 'a'], [5, 'b']]);
  expect(m.get('big')).toBe(2n ** 70n);
  expect(m.get('neg')).toBe(-123456789);
  expect(m.get('float_int')).toBe(2);
  expect(m.get('uni')).toBe('héllo ✓');
}

describe('torch.load (zip format)', () => {
  it('reads every dtype, views, numpy objects and python values', () => {
    checkMixed(loadTorchFile(join(DATA, 'mixed_zip.pt')));
  });
});

describe('torch.load (legacy format)', () => {
  it('reads the pre-1.6 format written with _use_new_zipfile_serialization=False', () => {
    checkMixed(loadTorchFile(join(DATA, 'mixed_legacy.pt')));
  });
});

describe('reference fixtures', () => {
  it('loads a_ddpmpp.pth: 289 tensors, 441,875 parameters, float64 sigmas', () => {
    const golden = readJson(join(DATA, 'a_ddpmpp_golden.json'));
    const value = loadTorchFile(join(FIXTURES, 'a_ddpmpp.pth'));
    expect(value).toBeInstanceOf(OrderedDict);
    const sd = asStateDict(value);
    expect(sd.size).toBe(289);
    expect([...sd.keys()]).toEqual(golden.keys);
    let n = 0;
    for (const [k, t] of sd) if (k !== 'sigmas') n += t.data.length;
    expect(n).toBe(441_875);
    expect(sd.get('sigmas')!.dtype).toBe('float64');
    for (const [k, s] of Object.entries(golden.tensors)) expectSummary(sd.get(k)!, s as Summary, 1e-9);
    // torch's `_metadata` attribute of state dicts survives as OrderedDict attrs.
    expect((value as OrderedDict).attrs?.get('_metadata')).toBeInstanceOf(OrderedDict);
  });

  it('loads ckpt_a.pth from bytes', () => {
    const v = loadTorch(readFileSync(join(FIXTURES, 'ckpt_a.pth'))) as Map<string, any>;
    expect(v.get('step')).toBe(3);
    expect(v.get('ema').get('shadow_params')).toHaveLength(288);
    expect(typeof v.get('optimizer').get('param_groups')[0].get('lr')).toBe('number');
  });
});

describe('torch 2.x layouts', () => {
  it('reads _rebuild_tensor_v3 over a torch.UntypedStorage (dtype as argument, 2.x zip entries)', () => {
    const storage = { persid: true };
    const untyped = { global: true };
    const f16 = new TorchDType('float16');
    // 3 float16 values after one skipped element: offset 1 (in float16 elements), size [3], stride [1]
    const raw = new Uint16Array([0, 0x3c00, 0x4000, 0xc200]);
    const pkl = dumpPickle(new Map([['t', new PyReduce('torch._utils', '_rebuild_tensor_v3', [storage, 1, tuple(3), tuple(1), false, new OrderedDict(), f16])]]), (v, w) => {
      if (v === untyped) w.global('torch', 'UntypedStorage');
      else if (v === f16) w.global('torch', 'float16');
      else if (v === storage) w.persid(tuple<unknown>('storage', untyped, '0', 'cpu', 8));
      else return false;
      return true;
    });
    const enc = new TextEncoder();
    const zip = writeZip([
      { name: 'archive/data.pkl', data: pkl },
      { name: 'archive/.format_version', data: enc.encode('1') },
      { name: 'archive/byteorder', data: enc.encode('little') },
      { name: 'archive/data/0', data: new Uint8Array(raw.buffer) },
      { name: 'archive/version', data: enc.encode('3\n') },
      { name: 'archive/.data/serialization_id', data: enc.encode('123') },
    ], { align: 64 });
    const t = (loadTorch(zip) as Map<string, HostTensor>).get('t')!;
    expect(t.dtype).toBe('float16');
    expect(toNumbers(t)).toEqual([1, 2, -3]);
  });
});

describe('pickle protocols 4 and 5 (torch.save pickle_protocol=4/5)', () => {
  for (const p of [4, 5]) {
    it(`reads proto${p}.pt`, () => {
      const v = loadTorchFile(join(DATA, `proto${p}.pt`)) as Map<string, any>;
      const t = v.get('t') as HostTensor;
      expect(t.shape).toEqual([2, 2]);
      expect(toNumbers(t)).toEqual([0, 2, 1, 3]);
      expect(toNumbers(v.get('arr'))).toEqual([0, 1, 2, 3, 4, 5]);
      expect(v.get('arr').shape).toEqual([2, 3]);
      expect(v.get('arr_f').dtype).toBe('int32');
      expect(toNumbers(v.get('arr_f'))).toEqual([0, 1, 2, 3, 4, 5]);
      expect(v.get('lr')).toBe(0.5);
      expect([...v.get('b')]).toEqual([120, 121]);
      expect(v.get('s')).toEqual(new Set([1, 2]));
      expect(v.get('fs')).toEqual(new Set([3]));
      expect([...v.get('od')]).toEqual([['a', 1]]);
      expect(v.get('long')).toBe('z'.repeat(300));
    });
  }
});

describe('byte order', () => {
  it("honours a 2.x 'byteorder' record of 'big'", () => {
    const little = saveTorch(new Map([['t', { dtype: 'float32', shape: [2], data: new Float32Array([1.5, -2]) } as HostTensor]]));
    const z = readZip(little);
    const entries = z.entries.map((e) => {
      let data = z.read(e);
      if (e.name.endsWith('byteorder')) data = new TextEncoder().encode('big');
      return { name: e.name, data };
    });
    // byte-swap each float32 (reverse 4-byte groups) of the storage
    const st = entries.find((e) => e.name.includes('/data/'))!;
    const orig = z.read(st.name);
    st.data = new Uint8Array(orig.length);
    for (let i = 0; i < orig.length; i += 4) for (let j = 0; j < 4; j++) st.data[i + j] = orig[i + 3 - j]!;
    const t = (loadTorch(writeZip(entries, { align: 64 })) as Map<string, HostTensor>).get('t')!;
    expect(toNumbers(t)).toEqual([1.5, -2]);
  });
});
