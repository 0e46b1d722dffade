import { describe, expect, it } from 'vitest';
import { tensor, Tensor } from '../../src/tensor.js';
import { addon } from '../../src/native.js';
import { tidy } from '../../src/scope.js';

const f64 = (t: Tensor) => Array.from(t.toArray() as Float64Array);

/** Adam by hand, as torch.optim.Adam (1.13) computes it. */
function adamByHand(p: number[], grads: number[][], lr: number, b1 = 0.9, b2 = 0.999, eps = 1e-8): number[] {
  const m = p.map(() => 0), v = p.map(() => 0);
  grads.forEach((g, k) => {
    const t = k + 1;
    p = p.map((pi, i) => {
      m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
      v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
      const denom = Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** t) + eps;
      return pi - (lr / (1 - b1 ** t)) * (m[i]! / denom);
    });
  });
  return p;
}

describe('native optimizer and parameter loops', () => {
  it('Adam matches the hand-computed update; stepAsync equals step', async () => {
    const opts = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
    const gradsSeq = [[0.5, -1, 2], [0.1, 0.2, -0.3], [1, 1, 1]];
    const run = async (useAsync: boolean) => {
      const p = tensor(new Float64Array([1, 2, 3])).requiresGrad_();
      const adam = new (addon().Adam)([p], opts);
      for (const g of gradsSeq) {
        tidy(() => p.mul(tensor(new Float64Array(g))).sum().backward());
        if (useAsync) await adam.stepAsync(0.01); else adam.step(0.01);
        adam.zeroGrad();
      }
      const st = adam.state();
      expect(st.step).toEqual([3]);
      for (const t of [...st.expAvg, ...st.expAvgSq]) t.dispose();
      adam.dispose();
      adam.dispose(); // idempotent
      expect(() => adam.step(0.1)).toThrow(expect.objectContaining({ code: 'ERR_DISPOSED' }));
      return f64(p);
    };
    const want = adamByHand([1, 2, 3], gradsSeq, 0.01);
    const sync = await run(false);
    sync.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 14));
    expect(await run(true)).toEqual(sync);
  });

  it('gradient norm, scaling and the reference EMA update', () => {
    tidy(() => {
      const a = tensor(new Float64Array([1, 2])).requiresGrad_();
      const b = tensor(new Float64Array([3])).requiresGrad_();
      a.mul(tensor(new Float64Array([3, 4]))).sum().add(b.mul(12).sum()).backward();
      const n = addon().gradNorm([a, b]) as Tensor;
      expect(n.item()).toBeCloseTo(13, 12); // √(9 + 16 + 144)
      addon().scaleGrads([a, b], 0.5);
      expect(f64(a.grad!)).toEqual([1.5, 2]);
      const shadow = tensor(new Float64Array([0, 10]));
      addon().emaUpdate([shadow], [tensor(new Float64Array([1, 0]))], 0.9);
      expect(f64(shadow)[0]).toBeCloseTo(0.1, 15);
      expect(f64(shadow)[1]).toBeCloseTo(9, 15);
    });
  });
});
