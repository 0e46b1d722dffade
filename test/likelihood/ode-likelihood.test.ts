import { describe, expect, it } from 'vitest';
import { full, tensor, type Tensor } from '../../src/tensor.js';
import { tidy } from '../../src/scope.js';
import { generator, randn } from '../../src/random.js';
import { VPSDE } from '../../src/sde/vp.js';
import { SubVPSDE } from '../../src/sde/subvp.js';
import { VESDE } from '../../src/sde/ve.js';
import type { Sde } from '../../src/sde/types.js';
import { odeLikelihood } from '../../src/likelihood/ode-likelihood.js';
import { valueAndDivergence, drawProbe } from '../../src/likelihood/divergence.js';
import { offsetBits } from '../../src/likelihood/bits.js';
import { gaussianLogp, gaussianSamples, gaussianScore, type GaussianData } from './gaussian.js';

const f64 = (t: Tensor) => Array.from(t.toArray() as Float64Array);
const data: GaussianData = { mu: [0.3, -0.2, 0.1, 0], sigma0: [0.5, 1, 1.5, 0.8] };
const D = data.mu.length;
const SDES: [string, () => Sde][] = [
  ['vpsde', () => new VPSDE()],
  ['subvpsde', () => new SubVPSDE()],
  ['vesde', () => new VESDE()],
];

describe('odeLikelihood: Gaussian data with the closed-form score', () => {
  for (const [name, make] of SDES) {
    for (const hutchinson of ['rademacher', 'exact']) {
      it(`${name}, ${hutchinson} divergence: ODE bits/dim = analytic log p_eps within 0.01`, () => {
        tidy(() => {
          const sde = make();
          const eps = 1e-5;
          const x = gaussianSamples(data, randn([3, D], { dtype: 'float64', generator: generator(1) }));
          const res = odeLikelihood(gaussianScore(sde, data), sde, x, { eps, hutchinson, generator: generator(2), offset: 'none' });
          const analytic = gaussianLogp(sde, data, x, full([3], eps, { dtype: 'float64' })).neg().div(D * Math.LN2);
          const got = f64(res.bpd);
          const want = f64(analytic);
          got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(0.01));
          // Comfortably tighter in fact (residual: rtol·|z| with |z| ~ σmax for VE, prior mismatch at T).
          got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(5e-3));
          expect(res.nfe).toBeGreaterThan(10);
          expect(res.z.shape).toEqual([3, D]);
          expect(res.bpd.dtype).toBe('float64');
        });
      });
    }
  }

  it('float32 model dtype with a float64 state; offsets 7/8 added; the Gaussian probe is unbiased on average', () => {
    tidy(() => {
      const sde = new VPSDE();
      const x64 = gaussianSamples(data, randn([16, D], { dtype: 'float64', generator: generator(3) }));
      const score = gaussianScore(sde, data);
      const base = f64(odeLikelihood(score, sde, x64, { generator: generator(4), offset: 'none' }).bpd);
      const c = f64(odeLikelihood(score, sde, x64.to('float32'), { generator: generator(4) }).bpd);
      c.forEach((v, i) => expect(v - 7).toBeCloseTo(base[i], 3));
      const g = f64(odeLikelihood(score, sde, x64, { generator: generator(5), hutchinson: 'gaussian', offset: 'uncentered' }).bpd);
      const mean = (a: number[]) => a.reduce((p, q) => p + q, 0) / a.length;
      expect(Math.abs(mean(g) - 8 - mean(base))).toBeLessThan(0.15);
      expect(offsetBits('centered')).toBe(7);
      expect(offsetBits('uncentered')).toBe(8);
    });
  });

  it('image-shaped inputs [B, C, H, W] give the same result as flat ones; progress per step', () => {
    tidy(() => {
      const sde = new SubVPSDE();
      const flat = gaussianScore(sde, data);
      const image = (x: Tensor, t: Tensor) => flat(x.reshape([x.shape[0], D]), t).reshape(x.shape);
      const x = gaussianSamples(data, randn([2, D], { dtype: 'float64', generator: generator(9) }));
      const a = odeLikelihood(flat, sde, x, { generator: generator(1) });
      let steps = 0;
      const b = odeLikelihood(image, sde, x.reshape([2, 1, 2, 2]), { generator: generator(1), onStep: () => { steps++; } });
      expect(b.z.shape).toEqual([2, 1, 2, 2]);
      expect(steps).toBe(b.nSteps);
      f64(b.bpd).forEach((v, i) => expect(v).toBeCloseTo(f64(a.bpd)[i], 12));
    });
  });

  it('a score that turns non-finite raises ERR_ODE', () => {
    tidy(() => {
      const sde = new VPSDE();
      const bad = (x: Tensor, t: Tensor) => x.mul(t.reshape([-1, 1]).sub(0.5).reciprocal().log()); // NaN for t < 0.5
      const x = tensor(new Float64Array([0.1, 0.2, 0.3, 0.4]), { shape: [1, D] });
      expect(() => odeLikelihood(bad, sde, x, { generator: generator(1) })).toThrow(expect.objectContaining({ code: 'ERR_ODE' }));
    });
  });

  it('requires a generator for Hutchinson probes and rejects unknown probe kinds', () => {
    tidy(() => {
      const sde = new VPSDE();
      const x = tensor(new Float64Array(D), { shape: [1, D] });
      expect(() => odeLikelihood(gaussianScore(sde, data), sde, x)).toThrow(/generator/);
      expect(() => odeLikelihood(gaussianScore(sde, data), sde, x, { hutchinson: 'cauchy', generator: generator(1) })).toThrow(/rademacher/);
    });
  });
});

describe('odeLikelihood with a non-linear, non-diagonal score', () => {
  it('the Hutchinson estimate averaged over probes matches the exact-divergence likelihood', () => {
    tidy(() => {
      const sde = new VPSDE();
      const W = tensor(new Float64Array([0.8, -0.3, 0.2, 0.1, 0.4, 1.1, -0.5, 0.3, 0.0, 0.6, 0.9, -0.2, 0.3, 0.2, -0.1, 0.7]), { shape: [4, 4] });
      // s(x, t) = −x/(1 + t) + tanh(xW)·t: smooth, non-linear, dense Jacobian.
      const score = (x: Tensor, t: Tensor) => x.div(t.reshape([-1, 1]).add(1)).neg().add(x.matmul(W).tanh().mul(t.reshape([-1, 1])));
      const R = 64;
      const x1 = tensor(new Float64Array([0.3, -0.4, 0.8, 0.1]), { shape: [1, D] });
      const exact = odeLikelihood(score, sde, x1, { hutchinson: 'exact', offset: 'none' }).bpd.item();
      const est = f64(odeLikelihood(score, sde, x1.expand([R, D]), { generator: generator(6), offset: 'none' }).bpd);
      const m = est.reduce((p, q) => p + q, 0) / R;
      const sd = Math.sqrt(est.reduce((p, q) => p + (q - m) ** 2, 0) / (R - 1));
      expect(sd).toBeGreaterThan(1e-4); // the estimate is genuinely random here
      expect(Math.abs(m - exact)).toBeLessThan(3.5 * sd / Math.sqrt(R) + 1e-4);
    });
  });
});

describe('divergence', () => {
  it('exact divergence of a non-diagonal linear field is its trace; Rademacher Hutchinson is unbiased', () => {
    tidy(() => {
      const W = tensor(new Float64Array([1, 2, 0, -1, 3, 0.5, 0.25, 0, -2]), { shape: [3, 3] });
      const field = (x: Tensor) => x.matmul(W).add(x.square().mul(0)); // Jacobian Wᵀ: trace 2
      const x = randn([2, 3], { dtype: 'float64', generator: generator(7) });
      const t = full([2], 0.5, { dtype: 'float64' });
      expect(f64(valueAndDivergence(field, x, t, 'exact').div)).toEqual([2, 2]);
      const probe = drawProbe('rademacher', [2, 3], { dtype: 'float64', device: 'cpu', generator: generator(8) });
      const est = f64(valueAndDivergence(field, x, t, probe).div);
      const p = f64(probe);
      // εᵀWᵀε for each row
      const w = f64(W);
      for (let b = 0; b < 2; b++) {
        let s = 0;
        for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) s += p[3 * b + i] * w[3 * i + j] * p[3 * b + j];
        expect(est[b]).toBeCloseTo(s, 12);
      }
    });
  });
});
