import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostTensor } from '../../src/host-tensor.js';
import { OrderedDict, PyFloat, isTuple, tuple } from '../../src/formats/py-values.js';
import { floatToHalf, toNumbers } from '../../src/formats/tensor-util.js';
import { loadTorch, loadTorchFile } from '../../src/formats/torch-load.js';
import { saveTorch, saveTorchFile } from '../../src/formats/torch-save.js';
import { TorchDType } from '../../src/formats/torch-types.js';
import { readZip } from '../../src/formats/zip.js';
import { DATA, FIXTURES, expectFormatError } from './helpers.js';

/** The value whose TS-written file Python torch.load read and re-saved as ts_roundtrip_resaved.pt. */
function roundTripValue(): Map<string, unknown> {
  const sd = new OrderedDict<string, HostTensor>([
    ['w', { dtype: 'float32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, -6.5]) }],
    ['d', { dtype: 'float64', shape: [2], data: new Float64Array([Math.PI, -1e-300]) }],
    ['h', { dtype: 'float16', shape: [2], data: new Uint16Array([floatToHalf(1.5), floatToHalf(-0.1)]) }],
    ['bf', { dtype: 'bfloat16', shape: [1], data: new Uint16Array([0x3fc0]) }],
    ['l', { dtype: 'int64', shape: [2], data: new BigInt64Array([2n ** 40n, -5n]) }],
    ['i', { dtype: 'int32', shape: [1, 1], data: new Int32Array([-7]) }],
    ['s', { dtype: 'int16', shape: [1], data: new Int16Array([300]) }],
    ['c', { dtype: 'int8', shape: [1], data: new Int8Array([-8]) }],
    ['u', { dtype: 'uint8', shape: [2], data: new Uint8Array([0, 255]) }],
    ['b', { dtype: 'bool', shape: [3], data: new Uint8Array([1, 0, 1]) }],
    ['scalar', { dtype: 'float32', shape: [], data: new Float32Array([0.25]) }],
    ['empty', { dtype: 'float32', shape: [0, 4], data: new Float32Array(0) }],
  ]);
  sd.attrs = new Map([['_metadata', new OrderedDict([['', new Map([['version', 1]])]])]]);
  return new Map<string, unknown>([
    ['model', sd],
    ['step', 42],
    ['lr', new PyFloat(0)],
    ['betas', tuple(0.9, 0.999)],
    ['names', ['a', 'b']],
    ['ids', new Map([[0, 'x'], [1, 'y']])],
    ['dtype', new TorchDType('float16')],
    ['nested', { deep: { list: [1, [2, [3]]] } }],
  ]);
}

function checkRoundTrip(v: Map<string, any>): void {
  const orig = roundTripValue();
  const sd = v.get('model');
  expect(sd).toBeInstanceOf(OrderedDict);
  for (const [k, t] of orig.get('model') as OrderedDict<string, HostTensor>) {
    const got = sd.get(k) as HostTensor;
    expect(got.dtype, k).toBe(t.dtype);
    expect(got.shape, k).toEqual(t.shape);
    expect([...got.data], k).toEqual([...t.data]);
  }
  expect(sd.attrs.get('_metadata').get('').get('version')).toBe(1);
  expect(v.get('step')).toBe(42);
  expect(v.get('lr')).toBe(0);
  expect(isTuple(v.get('betas'))).toBe(true);
  expect([...v.get('betas')]).toEqual([0.9, 0.999]);
  expect(v.get('names')).toEqual(['a', 'b']);
  expect([...v.get('ids')]).toEqual([[0, 'x'], [1, 'y']]);
  expect(v.get('dtype').name).toBe('float16');
  expect(v.get('nested').get('deep').get('list')).toEqual([1, [2, [3]]]);
}

describe('torch.save writer', () => {
  it('writes a torch-layout zip (archive/data.pkl, data/<k>, version) that reads back', () => {
    const bytes = saveTorch(roundTripValue());
    if (process.env.SCOREFLOW_WRITE_ROUNDTRIP) writeFileSync(process.env.SCOREFLOW_WRITE_ROUNDTRIP, bytes);
    const names = readZip(bytes).entries.map((e) => e.name);
    expect(names[0]).toBe('archive/data.pkl');
    expect(names).toContain('archive/data/0');
    expect(names[names.length - 1]).toBe('archive/version');
    checkRoundTrip(loadTorch(bytes) as Map<string, any>);
    // deterministic output
    expect(saveTorch(roundTripValue())).toEqual(bytes);
  });

  it('is read by Python torch.load: the file torch 1.13 re-saved from ours matches', () => {
    checkRoundTrip(loadTorchFile(join(DATA, 'ts_roundtrip_resaved.pt')) as Map<string, any>);
  });

  it('streams to a file with the same bytes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scoreflow-formats-'));
    try {
      const path = join(dir, 'x.pt');
      saveTorchFile(path, roundTripValue());
      expect(new Uint8Array(readFileSync(path))).toEqual(saveTorch(roundTripValue()));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects tensors whose data does not match their shape', () => {
    const bad = new Map([['t', { dtype: 'float32', shape: [3], data: new Float32Array(2) }]]);
    expectFormatError(() => saveTorch(bad), /shape \[3\] needs 3 elements/);
  });

  it('rewrites a_ddpmpp.pth losslessly', () => {
    const orig = loadTorchFile(join(FIXTURES, 'a_ddpmpp.pth')) as OrderedDict<string, HostTensor>;
    const back = loadTorch(saveTorch(orig)) as OrderedDict<string, HostTensor>;
    expect([...back.keys()]).toEqual([...orig.keys()]);
    for (const [k, t] of orig) expect(toNumbers(back.get(k)!), k).toEqual(toNumbers(t));
  });
});
