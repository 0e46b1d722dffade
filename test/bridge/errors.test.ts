import { describe, expect, it } from 'vitest';
import { arange, cat, ones, tensor, zeros } from '../../src/tensor.js';
import { grad } from '../../src/autograd.js';
import { randn, generator } from '../../src/random.js';
import { addon } from '../../src/native.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).not.toMatch(/Exception raised from|frame #/); // no C++ backtrace
    return (e as { code?: string }).code;
  }
  return undefined;
}

describe('errors are JS errors with codes', () => {
  it('shape and dtype mismatches → ERR_TORCH', () => {
    expect(code(() => ones([2, 3]).matmul(ones([2, 3])))).toBe('ERR_TORCH');
    expect(code(() => ones([2]).add(ones([3])))).toBe('ERR_TORCH');
    expect(code(() => ones([2, 3]).view([4]))).toBe('ERR_TORCH');
    expect(code(() => cat([ones([2, 3]), ones([2, 4])], 0))).toBe('ERR_TORCH');
    expect(code(() => ones([2]).indexSelect(0, tensor([5], { dtype: 'int64' })))).toBe('ERR_TORCH');
    expect(code(() => ones([2]).select(0, 7))).toBe('ERR_TORCH');
    expect(code(() => ones([2]).permute([0, 1]))).toBe('ERR_TORCH');
    expect(code(() => ones([2]).sum(3))).toBe('ERR_TORCH');
  });

  it('bad arguments → ERR_ARG naming the argument', () => {
    expect(code(() => zeros([2, -1]))).toBe('ERR_ARG');
    expect(code(() => tensor([1, 2], { shape: [3] }))).toBe('ERR_ARG');
    expect(code(() => tensor([[1, 2], [3]]))).toBe('ERR_ARG');
    expect(code(() => tensor([1], { dtype: 'complex' as never }))).toBe('ERR_ARG');
    expect(code(() => ones([3]).item())).toBe('ERR_ARG');
    expect(code(() => ones([3]).slice(0, 0, 2, 0))).toBe('ERR_ARG');
    expect(code(() => arange(0, 1, 0))).toBe('ERR_ARG');
    expect(code(() => randn([2], { dtype: 'int64' }))).toBe('ERR_ARG');
    expect(code(() => grad([], []))).toBe('ERR_ARG');
    expect(code(() => (ones([2]) as any).add('x'))).toBe('ERR_ARG');
    expect(code(() => addon().fromBuffer(new Float32Array(3), [2], 'float32', null))).toBe('ERR_ARG');
    expect(code(() => new (addon().NativeTensor as any)())).toBe('ERR_ARG');
    try { zeros([2, -1]); } catch (e) { expect((e as Error).message).toMatch(/shape: expected .* received \[2, -1\]/); }
  });

  it('bad devices → ERR_DEVICE or ERR_ARG', () => {
    expect(code(() => ones([2]).to('tpu' as never))).toBe('ERR_ARG');
    expect(code(() => addon().full([2], 1, null, 'tpu'))).toBe('ERR_DEVICE');
    if (!addon().cudaIsAvailable()) {
      expect(code(() => ones([2], { device: 'cuda' }))).toBe('ERR_DEVICE');
      expect(code(() => generator(1, 'cuda:0'))).toBe('ERR_DEVICE');
    }
  });

  it('disposed handles → ERR_DISPOSED, and dispose is idempotent', () => {
    const t = ones([2]);
    t.dispose();
    t.dispose();
    expect(t.isDisposed).toBe(true);
    expect(code(() => t.add(1))).toBe('ERR_DISPOSED');
    expect(code(() => t.shape)).toBe('ERR_DISPOSED');
    expect(code(() => ones([2]).add(t))).toBe('ERR_DISPOSED');
    expect(code(() => t.toArray())).toBe('ERR_DISPOSED');
    expect(String(t)).toBe('Tensor(disposed)');
  });

  it('autograd misuse → ERR_TORCH', () => {
    const x = ones([2]);
    expect(code(() => x.sum().backward())).toBe('ERR_TORCH'); // no grad_fn
    const y = ones([2]).requiresGrad_();
    expect(code(() => y.mul(2).backward())).toBe('ERR_TORCH'); // non-scalar without gradient
  });
});
