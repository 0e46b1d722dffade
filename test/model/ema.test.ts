import { describe, expect, it } from 'vitest';
import { tensor, Tensor } from '../../src/tensor.js';
import { Ema } from '../../src/model/ema.js';

const f64 = (t: Tensor) => Array.from(t.toArray() as Float64Array);

describe('EMA conventions', () => {
  it("'torch' warms up with min(rate, (1+n)/(10+n)); 'jax' uses the rate from the first step", () => {
    const p = tensor(new Float64Array([1]));
    const torchEma = new Ema([p], 0.999, 'torch');
    const jaxEma = new Ema([p], 0.999, 'jax');
    expect(torchEma.nextDecay()).toBeCloseTo(2 / 11, 15);
    p.fill_(0);
    torchEma.update([p]);
    jaxEma.update([p]);
    expect(f64(torchEma.shadow[0]!)[0]).toBeCloseTo(2 / 11, 15); // 1 − (1 − 2/11)·(1 − 0)
    expect(f64(jaxEma.shadow[0]!)[0]).toBeCloseTo(0.999, 15);
    expect(torchEma.nextDecay()).toBeCloseTo(3 / 12, 15);
    torchEma.numUpdates = 10_000; // (1+n)/(10+n) passes 0.999 at n ≈ 8991
    expect(torchEma.nextDecay()).toBe(0.999);
  });

  it('store/restore swaps the averaged weights in and out', () => {
    const p = tensor(new Float64Array([5]));
    const ema = new Ema([p], 0.5, 'jax');
    p.fill_(1);
    ema.update([p]); // shadow = 0.5·5 + 0.5·1 = 3
    ema.store([p]);
    expect(f64(p)).toEqual([3]);
    ema.restore([p]);
    expect(f64(p)).toEqual([1]);
    expect(() => ema.restore([p])).toThrow(/nothing stored/);
    ema.dispose();
  });
});
