import { describe, expect, it } from 'vitest';
import { arange, cat, full, linspace, ones, stack, tensor, Tensor, where, zeros } from '../../src/tensor.js';
import { tidy } from '../../src/scope.js';

const arr = (t: Tensor) => Array.from(t.toArray() as Float32Array);

describe('tensor creation and host transfer', () => {
  it('round-trips nested arrays and typed arrays with their dtypes', () => {
    tidy(() => {
      const a = tensor([[1, 2, 3], [4, 5, 6]]);
      expect(a.shape).toEqual([2, 3]);
      expect(a.dtype).toBe('float32');
      expect(a.device).toBe('cpu');
      expect(arr(a)).toEqual([1, 2, 3, 4, 5, 6]);
      const d = tensor(new Float64Array([0.1, 0.2]));
      expect(d.dtype).toBe('float64');
      expect(Array.from(d.toArray() as Float64Array)).toEqual([0.1, 0.2]);
      const i = tensor([1, -2, 3], { dtype: 'int64' });
      expect(Array.from(i.toArray() as BigInt64Array)).toEqual([1n, -2n, 3n]);
      const b = tensor([1, 0, 1], { dtype: 'bool' });
      expect(b.dtype).toBe('bool');
      expect(Array.from(b.toArray() as Uint8Array)).toEqual([1, 0, 1]);
      const h = tensor([1.5, -2], { dtype: 'bfloat16' });
      expect(h.dtype).toBe('bfloat16');
      expect(arr(h.to('float32'))).toEqual([1.5, -2]);
      expect(tensor(new Float32Array(6), { shape: [2, 3] }).shape).toEqual([2, 3]);
    });
  });

  it('builds zeros, ones, full, arange and linspace', () => {
    tidy(() => {
      expect(arr(zeros([2]))).toEqual([0, 0]);
      expect(arr(ones([3]))).toEqual([1, 1, 1]);
      expect(arr(full([2], 7))).toEqual([7, 7]);
      expect(arr(arange(0, 5))).toEqual([0, 1, 2, 3, 4]);
      expect(arr(arange(1, 2, 0.25))).toEqual([1, 1.25, 1.5, 1.75]);
      expect(arr(linspace(0, 1, 5))).toEqual([0, 0.25, 0.5, 0.75, 1]);
      expect(full([2], 3, { dtype: 'float64' }).dtype).toBe('float64');
    });
  });

  it('does scalar-promoting arithmetic like PyTorch', () => {
    tidy(() => {
      const a = tensor([1, 2, 3]);
      expect(a.add(0.5).dtype).toBe('float32');
      expect(arr(a.mul(2).sub(1))).toEqual([1, 3, 5]);
      expect(arr(a.div(tensor([2, 4, 6])))).toEqual([0.5, 0.5, 0.5]);
      expect(arr(a.pow(2))).toEqual([1, 4, 9]);
      const col = tensor([[1], [2]]);
      expect(a.add(col).shape).toEqual([2, 3]);
      expect(arr(a.add(col))).toEqual([2, 3, 4, 3, 4, 5]);
      expect(arr(a.axpy(tensor([1, 1, 1]), 10))).toEqual([11, 12, 13]);
      expect(arr(a.maximum(2))).toEqual([2, 2, 3]);
      expect(Array.from(a.gt(1.5).toArray() as Uint8Array)).toEqual([0, 1, 1]);
    });
  });

  it('matches closed forms for elementwise functions', () => {
    tidy(() => {
      const x = tensor(new Float64Array([-2, -0.5, 1e-8, 0.3, 3]));
      const v = Array.from(x.toArray() as Float64Array);
      const check = (t: Tensor, f: (a: number) => number) =>
        (Array.from(t.toArray() as Float64Array)).forEach((y, i) => expect(y).toBeCloseTo(f(v[i]), 12));
      check(x.exp(), Math.exp);
      check(x.expm1(), Math.expm1);
      check(x.abs().log1p(), (a) => Math.log1p(Math.abs(a)));
      check(x.tanh(), Math.tanh);
      check(x.sigmoid(), (a) => 1 / (1 + Math.exp(-a)));
      check(x.softplus(), (a) => Math.log1p(Math.exp(a)));
      check(x.square(), (a) => a * a);
      check(x.abs().sqrt(), (a) => Math.sqrt(Math.abs(a)));
      check(x.clamp(-1, 1), (a) => Math.min(1, Math.max(-1, a)));
      check(x.silu(), (a) => a / (1 + Math.exp(-a)));
      // expm1 keeps small-argument precision (exp(x) - 1 would lose ~8 digits here)
      expect(Math.abs((x.expm1().toArray()[2] as number) - Math.expm1(1e-8))).toBeLessThan(1e-23);
    });
  });

  it('reduces over dims with keepdim', () => {
    tidy(() => {
      const a = tensor([[1, 2, 3], [4, 5, 6]]);
      expect(a.sum().item()).toBe(21);
      expect(arr(a.sum(0))).toEqual([5, 7, 9]);
      expect(a.sum(1, true).shape).toEqual([2, 1]);
      expect(arr(a.mean(1))).toEqual([2, 5]);
      expect(arr(a.max(1))).toEqual([3, 6]);
      expect(arr(a.min(0))).toEqual([1, 2, 3]);
      expect(a.norm().item()).toBeCloseTo(Math.sqrt(91), 5);
      expect(arr(a.norm(2, 1))).toEqual([Math.fround(Math.sqrt(14)), Math.fround(Math.sqrt(77))]);
      expect(a.norm(1).item()).toBe(21);
      expect(a.gt(0).all().item()).toBe(1);
      expect(a.gt(5).any(1).toArray()).toEqual(new Uint8Array([0, 1]));
      expect(arr(a.logsumexp(1))[0]).toBeCloseTo(Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)), 5);
    });
  });

  it('makes views: reshape, permute, flatten, slice, index_select, cat, stack, chunk', () => {
    tidy(() => {
      const a = arange(0, 24).reshape([2, 3, 4]);
      expect(a.permute([2, 0, 1]).shape).toEqual([4, 2, 3]);
      expect(a.flatten(1).shape).toEqual([2, 12]);
      expect(arr(a.slice(2, 1, 3).flatten())).toEqual([1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22]);
      expect(arr(a.slice(0, -1).flatten().slice(0, 0, 3))).toEqual([12, 13, 14]);
      expect(arr(a.select(1, 2).flatten())).toEqual([8, 9, 10, 11, 20, 21, 22, 23]);
      const idx = tensor([2, 0], { dtype: 'int64' });
      expect(arr(a.select(0, 0).indexSelect(0, idx).slice(1, 0, 1).flatten())).toEqual([8, 0]);
      expect(cat([a, a], 1).shape).toEqual([2, 6, 4]);
      expect(stack([a, a], 0).shape).toEqual([2, 2, 3, 4]);
      const [c0, c1] = a.chunk(2, 2);
      expect(c0.shape).toEqual([2, 3, 2]);
      expect(arr(c1.flatten().slice(0, 0, 2))).toEqual([2, 3]);
      expect(a.transpose(0, 2).contiguous().shape).toEqual([4, 3, 2]);
      expect(a.unsqueeze(0).squeeze(0).shape).toEqual([2, 3, 4]);
      expect(arr(tensor([1, 2, 3]).flip([0]))).toEqual([3, 2, 1]);
      expect(arr(tensor([1, 2]).repeat([2]))).toEqual([1, 2, 1, 2]);
      expect(tensor([1, 2]).expand([3, 2]).shape).toEqual([3, 2]);
      expect(arr(where(tensor([1, 0, 1]).gt(0), tensor([1, 2, 3]), 0))).toEqual([1, 0, 3]);
    });
  });

  it('multiplies matrices and applies softmax', () => {
    tidy(() => {
      const a = tensor([[1, 2], [3, 4]]);
      expect(arr(a.matmul(tensor([[1], [1]])))).toEqual([3, 7]);
      const s = tensor([[0, Math.log(3)]]).softmax(1);
      expect(arr(s)[0]).toBeCloseTo(0.25, 6);
      expect(arr(tensor([[0, Math.log(3)]]).logSoftmax(1))[1]).toBeCloseTo(Math.log(0.75), 6);
    });
  });

  it('updates in place and copies', () => {
    tidy(() => {
      const a = zeros([3]);
      a.add_(1).mul_(3);
      expect(arr(a)).toEqual([3, 3, 3]);
      a.copy_(tensor([1, 2, 3]));
      expect(arr(a)).toEqual([1, 2, 3]);
      a.fill_(5);
      expect(arr(a)).toEqual([5, 5, 5]);
    });
  });
});

describe('scalar promotion', () => {
  it('treats integral JS numbers as int literals and fractional ones as float literals', () => {
    tidy(() => {
      const i = tensor([1, 2], { dtype: 'int64' });
      expect(i.add(2).dtype).toBe('int64');
      expect(i.mul(0.5).dtype).toBe('float32');
      expect(tensor([1, 2]).add(2).dtype).toBe('float32');
      expect(tensor(new Float64Array([1])).mul(3).dtype).toBe('float64');
      expect(Array.from(i.add(2).toArray() as BigInt64Array)).toEqual([3n, 4n]);
    });
  });
});
