import { describe, expect, it } from 'vitest';
import type { DType, HostTensor } from '../../src/host-tensor.js';
import { hostBytes } from '../../src/host-tensor.js';
import { bfloat16ToFloat, floatToHalf, halfToFloat, permute, tensorFromStorage, toNumbers } from '../../src/formats/tensor-util.js';
import { expectFormatError } from './helpers.js';

function iota(dtype: DType, shape: number[]): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const vals = Array.from({ length: n }, (_, i) => i);
  const data = dtype === 'float64' ? Float64Array.from(vals) : dtype === 'int64' ? BigInt64Array.from(vals.map(BigInt))
    : dtype === 'float16' ? Uint16Array.from(vals.map(floatToHalf)) : dtype === 'int8' ? Int8Array.from(vals) : Float32Array.from(vals);
  return { dtype, shape, data };
}

describe('strided materialisation', () => {
  for (const dtype of ['float32', 'float64', 'int64', 'float16', 'int8'] as DType[]) {
    it(`permutes ${dtype} tensors`, () => {
      const t = iota(dtype, [2, 3, 4]);
      const p = permute(t, [2, 0, 1]);
      expect(p.shape).toEqual([4, 2, 3]);
      // p[a][b][c] = t[b][c][a] = 12b + 4c + a
      const want: number[] = [];
      for (let a = 0; a < 4; a++) for (let b = 0; b < 2; b++) for (let c = 0; c < 3; c++) want.push(12 * b + 4 * c + a);
      expect(toNumbers(p)).toEqual(want);
      expect(permute(p, [1, 2, 0])).toEqual(t);
    });
  }

  it('honours storage offsets and unaligned storages; checks bounds', () => {
    const t = iota('float64', [10]);
    const bytes = new Uint8Array(hostBytes(t).length + 3);
    bytes.set(hostBytes(t), 3);
    const unaligned = bytes.subarray(3);
    expect(toNumbers(tensorFromStorage('float64', unaligned, 1, [2, 2], [1, 3], 'v'))).toEqual([1, 4, 2, 5]);
    expect(toNumbers(tensorFromStorage('float64', unaligned, 2, [3], [2], 'v'))).toEqual([2, 4, 6]);
    expectFormatError(() => tensorFromStorage('float64', unaligned, 2, [5], [2], 'v'), /exceeds its storage of 10 elements/);
    expectFormatError(() => tensorFromStorage('float64', unaligned, 0, [2], [1, 1], 'v'), /size has 1 dims but stride has 2/);
  });

  it('converts half and bfloat16 bits', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(floatToHalf(65504)).toBe(0x7bff);
    expect(floatToHalf(1e6)).toBe(0x7c00);
    expect(floatToHalf(-0.1)).toBe(0xae66);
    expect(bfloat16ToFloat(0x3fc0)).toBe(1.5);
  });
});
