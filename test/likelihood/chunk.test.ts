import { describe, expect, it } from 'vitest';
import { cat, zeros, type Tensor } from '../../src/tensor.js';
import { tidy } from '../../src/scope.js';
import { generator, randn } from '../../src/random.js';
import { VPSDE } from '../../src/sde/vp.js';
import { batchView, type ScoreFn } from '../../src/sde/index.js';
import { augmentedRhs, odeLikelihood, probabilityFlowDrift } from '../../src/likelihood/ode-likelihood.js';
import { drawProbe } from '../../src/likelihood/divergence.js';
import { likelihoodChunk, describeChunk } from '../../src/likelihood/chunk.js';
import { availableMemory, bytesPerExample, examplesThatFit, peakBytesOf } from '../../src/device-memory.js';
import { addon } from '../../src/native.js';

const arr = (t: Tensor) => Array.from(t.toArray() as Float64Array);
// A nonlinear, example-wise score (no batch coupling), so a chunked evaluation must equal the whole one.
const score: ScoreFn = (x, t) => x.tanh().mul(batchView(t, x)).neg().sub(x.mul(0.5));
const sde = new VPSDE();

describe('ODE likelihood evaluated in chunks (eval.ode_chunk)', () => {
  it('the right-hand side in chunks of 1, 2, 3 equals the whole batch: values and divergences', () => {
    tidy(() => {
      const shape = [5, 2, 3];
      const gen = generator(3);
      const x = randn(shape, { dtype: 'float64', generator: gen });
      const probe = drawProbe('rademacher', shape, { dtype: 'float64', device: 'cpu', generator: gen });
      const state = cat([x.reshape([30]), zeros([5], { dtype: 'float64' })]);
      const rhs = (chunk: number) => arr(augmentedRhs(probabilityFlowDrift(sde, score), shape, probe, 'float64', 'float64', 'cpu', chunk)(0.3, state));
      const whole = rhs(5);
      expect(whole.slice(30).some((v) => v !== 0)).toBe(true);
      for (const c of [1, 2, 3]) expect(rhs(c)).toEqual(whole);
      expect(() => rhs(0)).toThrow(/chunk/);
    });
  });

  it('a whole solve in chunks of 2 gives the bits/dim and NFE of the unchunked solve', () => {
    tidy(() => {
      const x = randn([5, 4], { dtype: 'float64', generator: generator(4) });
      const solve = (chunk?: number) => odeLikelihood(score, sde, x, { generator: generator(5), rtol: 1e-5, atol: 1e-5, offset: 'none', chunk });
      const a = solve(), b = solve(2);
      expect(b.nfe).toBe(a.nfe);
      expect(arr(b.bpd)).toEqual(arr(a.bpd));
    });
  });

  it('examplesThatFit: ⌊fraction·available / perExample⌋ within [1, batch]', () => {
    expect(examplesThatFit({ perExample: 100, available: 10_000, max: 1024 })).toBe(50);
    expect(examplesThatFit({ perExample: 100, available: 10_000, fraction: 1, max: 64 })).toBe(64);
    expect(examplesThatFit({ perExample: 1e9, available: 10, max: 8 })).toBe(1);
    expect(examplesThatFit({ perExample: 0, available: 10, max: 8 })).toBe(8);
    expect(() => examplesThatFit({ perExample: 1, available: 1, fraction: 0, max: 8 })).toThrow(/fraction/);
    expect(() => examplesThatFit({ perExample: 1, available: 1, max: 0 })).toThrow(/max/);
  });

  it.runIf(process.platform === 'linux')('CPU memory: available bytes, and the peak one example adds (8 MB buffers)', () => {
    const avail = availableMemory('cpu');
    expect(avail).toBeGreaterThan(2 ** 26);
    const MB8 = 2 ** 20; // float64 elements in 8 MB
    const run = (b: number) => tidy(() => { zeros([b * MB8], { dtype: 'float64' }).add(1).sum().item(); });
    const one = peakBytesOf('cpu', () => run(4));
    expect(one).not.toBeNull();
    const per = bytesPerExample('cpu', run)!;
    // zeros + add: two live 8 MB buffers per example at the peak (16 MB). The malloc allocator counts them
    // (to its block rounding); from the resident set (libtorch's allocator) pages kept from the smaller
    // probe make the difference larger (measured 24–32 MB): an overestimate, the safe side for a memory fit.
    const counted = addon().heapInfo().liveBytes !== null;
    if (counted) expect(Math.abs(per / (16 * 2 ** 20) - 1)).toBeLessThan(0.01);
    expect(per).toBeGreaterThan(0.75 * 16 * 2 ** 20);
    expect(per).toBeLessThan(2.5 * 16 * 2 ** 20);
  });

  it('likelihoodChunk keeps small batches whole without measuring, and fits larger ones in memory', () => {
    tidy(() => {
      const small = likelihoodChunk(score, sde, randn([4, 3], { dtype: 'float64' }), 'cpu');
      expect(small).toEqual({ chunk: 4, perExample: null, available: null });
      const c = likelihoodChunk(score, sde, randn([16, 3, 8, 8], { dtype: 'float64' }), 'cpu');
      expect(c.chunk).toBe(16); // kilobytes per example: the whole batch fits
      expect(describeChunk(c, 16)).toMatch(/^16 of 16 examples per network call \(/);
      expect(describeChunk({ chunk: 3, perExample: 3 * 2 ** 20, available: 2 ** 31 }, 8)).toBe('3 of 8 examples per network call (3.0 MB each, 2.0 GB available)');
    });
  });
});
