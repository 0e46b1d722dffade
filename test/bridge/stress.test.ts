import { describe, expect, it } from 'vitest';
import { Tensor, cat, full, stack, tensor } from '../../src/tensor.js';
import { grad } from '../../src/autograd.js';
import { memoryStats, tidy } from '../../src/scope.js';

// A tiny seeded PRNG so failures are reproducible.
function mulberry32(seed: number) {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('stress', () => {
  it('5,000 random op sequences (valid and invalid) never crash and never leak', () => {
    const rnd = mulberry32(1234);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
    const randShape = () => Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => Math.floor(rnd() * 4));
    const dtypes = ['float32', 'float64', 'int64', 'bool', 'bfloat16', 'int32'] as const;
    const ops: ((a: Tensor, b: Tensor) => unknown)[] = [
      (a, b) => a.add(b), (a, b) => a.mul(b), (a, b) => a.div(b), (a, b) => a.matmul(b), (a, b) => a.sub(b),
      (a) => a.exp(), (a) => a.log(), (a) => a.sqrt(), (a) => a.sum(Math.floor(rnd() * 4) - 1),
      (a) => a.mean(), (a) => a.reshape([-1]), (a) => a.view([2, -1]), (a) => a.permute([1, 0]),
      (a) => a.slice(0, 1, Math.floor(rnd() * 5) - 1), (a) => a.select(0, Math.floor(rnd() * 5) - 2),
      (a, b) => cat([a, b], Math.floor(rnd() * 3)), (a, b) => stack([a, b], 0), (a) => a.chunk(2, 0),
      (a) => a.norm(2, 0), (a) => a.softmax(0), (a) => a.clamp(0, 1), (a) => a.to('float64'),
      (a) => a.item(), (a) => a.toArray(), (a) => a.flip([0]), (a) => a.transpose(0, 1), (a) => a.max(0),
      (a) => a.expand([3, ...a.shape]), (a) => a.indexSelect(0, tensor([0, 1], { dtype: 'int64' })),
      (a) => a.requiresGrad_().sum().backward(), (a) => grad(a.sum(), a),
      (a) => { a.dispose(); return a.add(1); }, (a, b) => a.copy_(b), (a) => a.unsqueeze(5),
    ];
    const base = memoryStats();
    const seen = new Map<string, number>();
    for (let i = 0; i < 5000; i++) {
      tidy(() => {
        let a: Tensor, b: Tensor;
        try {
          a = full(randShape(), rnd() * 4 - 2, { dtype: pick([...dtypes]) });
          b = full(randShape(), rnd() * 4 - 2, { dtype: pick([...dtypes]) });
        } catch (e) {
          seen.set((e as { code: string }).code, (seen.get((e as { code: string }).code) ?? 0) + 1);
          return;
        }
        for (let k = 0; k < 3; k++) {
          try {
            const r = pick(ops)(a, b);
            if (r instanceof Tensor && rnd() < 0.5) a = r;
            seen.set('ok', (seen.get('ok') ?? 0) + 1);
          } catch (e) {
            const c = (e as { code?: string }).code;
            expect(['ERR_TORCH', 'ERR_ARG', 'ERR_DISPOSED', 'ERR_DEVICE']).toContain(c);
            seen.set(c!, (seen.get(c!) ?? 0) + 1);
          }
        }
      });
    }
    expect(seen.get('ok')).toBeGreaterThan(1000);
    expect(seen.get('ERR_TORCH')).toBeGreaterThan(100);
    expect(memoryStats()).toEqual(base);
  });
});
