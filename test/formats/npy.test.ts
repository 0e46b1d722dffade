import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostTensor } from '../../src/host-tensor.js';
import { readNpy, writeNpy } from '../../src/formats/npy.js';
import { readNpz, writeNpz } from '../../src/formats/npz.js';
import { toNumbers } from '../../src/formats/tensor-util.js';
import { readZip } from '../../src/formats/zip.js';
import { DATA, FIXTURES, expectFormatError } from './helpers.js';

describe('npy / npz', () => {
  it('reads numpy-written npz: stored, unnamed arr_N, big-endian, Fortran order', () => {
    const m = readNpz(readFileSync(join(DATA, 'plain.npz')));
    expect([...m.keys()]).toEqual(['named', 'arr_0', 'arr_1']);
    expect(m.get('arr_0')!.shape).toEqual([3, 4]);
    expect(toNumbers(m.get('arr_0')!)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(m.get('arr_1')!.dtype).toBe('int64');
    expect(toNumbers(m.get('arr_1')!)).toEqual([1, 2, 3, 4, 5, 6]); // Fortran-ordered on disk
    expect(m.get('named')!.dtype).toBe('float64');
    expect(toNumbers(m.get('named')!)).toEqual([1.5, -2]); // '>f8' on disk
  });

  it('reads np.savez_compressed (deflate) incl. bool, uint16 (widened), 0-d float16', () => {
    const m = readNpz(readFileSync(join(DATA, 'compressed.npz')));
    expect([...m.keys()]).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(m.get('d')!.dtype).toBe('bool');
    expect([...m.get('d')!.data]).toEqual([1, 0]);
    expect(m.get('e')!.dtype).toBe('int32');
    expect([...m.get('e')!.data]).toEqual([1, 65535]);
    expect(m.get('f')!.shape).toEqual([]);
    expect(toNumbers(m.get('f')!)).toEqual([3.5]);
  });

  it('reads a Fortran-order .npy', () => {
    const t = readNpy(readFileSync(join(DATA, 'fortran.npy')));
    expect(t.shape).toEqual([2, 3]);
    expect(toNumbers(t)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('writes npy/npz (stored and compressed, arr_N naming) that read back', () => {
    const a: HostTensor = { dtype: 'float32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) };
    const b: HostTensor = { dtype: 'int64', shape: [3], data: new BigInt64Array([1n, -2n, 3n]) };
    const npy = writeNpy(a);
    expect((npy.length - a.data.byteLength) % 64).toBe(0); // header padded to 64 bytes
    expect(readNpy(npy)).toEqual(a);
    for (const compress of [false, true]) {
      const bytes = writeNpz([a, b], { compress });
      expect(readZip(bytes).entries.map((e) => [e.name, e.method])).toEqual([['arr_0.npy', compress ? 8 : 0], ['arr_1.npy', compress ? 8 : 0]]);
      const m = readNpz(bytes);
      expect(m.get('arr_0')).toEqual(a);
      expect(m.get('arr_1')).toEqual(b);
    }
    expect(readNpz(writeNpz({ x: a })).get('x')).toEqual(a);
  });

  it('rejects bad npy data with ERR_FORMAT', () => {
    const a: HostTensor = { dtype: 'float32', shape: [4], data: new Float32Array(4) };
    const npy = writeNpy(a);
    expectFormatError(() => readNpy(npy.subarray(0, npy.length - 3)), /truncated data/);
    expectFormatError(() => readNpy(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])), /wrong magic/);
    const obj = Uint8Array.from("\x93NUMPY\x01\x00" + "  " + "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", (c) => c.charCodeAt(0));
    new DataView(obj.buffer).setUint16(8, obj.length - 10, true);
    expectFormatError(() => readNpy(obj), /unsupported numpy dtype/);
  });

  it('reads the a_ddpmpp.npz fixture', () => {
    const m = readNpz(readFileSync(join(FIXTURES, 'a_ddpmpp.npz')));
    expect(m.get('x')!.shape).toEqual([3, 3, 32, 32]);
    expect(m.get('out')!.dtype).toBe('float32');
    const t = toNumbers(m.get('t')!);
    const tsde = toNumbers(m.get('t_sde')!);
    t.forEach((v, i) => expect(v).toBeCloseTo(999 * tsde[i]!, 3));
  });
});
