import { describe, expect, it } from 'vitest';
import { tensor, type Tensor } from '../../src/tensor.js';
import { tidy } from '../../src/scope.js';
import { generator } from '../../src/random.js';
import { VPSDE } from '../../src/sde/vp.js';
import { SubVPSDE } from '../../src/sde/subvp.js';
import { VESDE } from '../../src/sde/ve.js';
import type { Sde } from '../../src/sde/types.js';
import { pcSample, odeSample, sample, timeGrid } from '../../src/sampling/index.js';
import { gaussianScore, type GaussianData } from '../likelihood/gaussian.js';

const data: GaussianData = { mu: [0.5, -1], sigma0: [0.3, 1.2] };
const B = 2000;
const shape = [B, 2];

function moments(x: Tensor) {
  const m = Array.from(x.mean(0).to('float64').toArray() as Float64Array);
  const v = Array.from(x.to('float64').variance(0).toArray() as Float64Array);
  return { m, v };
}

const SDES: Record<string, () => Sde> = {
  vpsde: () => new VPSDE({ N: 200 }),
  subvpsde: () => new SubVPSDE({ N: 200 }),
  vesde: () => new VESDE({ N: 200 }),
};

function check(x: Tensor, tolMean: number, tolVarRel: number) {
  const { m, v } = moments(x);
  const out = { m, v };
  data.mu.forEach((mu, i) => expect(Math.abs(m[i] - mu), JSON.stringify(out)).toBeLessThan(tolMean));
  data.sigma0.forEach((s, i) => expect(Math.abs(v[i] / (s * s) - 1), JSON.stringify(out)).toBeLessThan(tolVarRel));
}

describe('PC sampler with the exact Gaussian score', () => {
  const cases: [string, string, string][] = [
    ['vpsde', 'euler_maruyama', 'none'],
    ['vpsde', 'reverse_diffusion', 'langevin'],
    ['vpsde', 'ancestral_sampling', 'none'],
    ['subvpsde', 'euler_maruyama', 'langevin'],
    ['subvpsde', 'reverse_diffusion', 'ald'],
    ['vesde', 'reverse_diffusion', 'langevin'],
    ['vesde', 'ancestral_sampling', 'none'],
    ['vesde', 'none', 'ald'],
  ];
  for (const [sdeName, predictor, corrector] of cases) {
    it(`${sdeName} ${predictor} + ${corrector}: sample mean/variance match the data`, () => {
      tidy(() => {
        const sde = SDES[sdeName]();
        const eps = sdeName === 'vesde' ? 1e-5 : 1e-3;
        let calls = 0;
        const res = pcSample(gaussianScore(sde, data), sde, shape, {
          generator: generator(21), eps, predictor, corrector, snr: 0.16, onProgress: () => { calls++; },
          nStepsEach: predictor === 'none' ? 10 : 1, // corrector-only sampling needs several steps per level
        });
        expect(res.nfe).toBe(200 * (predictor === 'none' ? 11 : 2));
        expect(calls).toBe(200);
        expect(res.x.shape).toEqual(shape);
        expect(res.x.dtype).toBe('float32');
        check(res.x, 0.1, 0.15);
      });
    });
  }

  it('probability-flow predictor, denoising off, inverse scaler', () => {
    tidy(() => {
      const sde = SDES.vpsde();
      const res = pcSample(gaussianScore(sde, data), sde, shape, {
        generator: generator(22), predictor: 'euler_maruyama', probabilityFlow: true, noiseRemoval: false,
        inverseScaler: (x) => x.mul(2),
      });
      const half = res.x.div(2);
      check(half, 0.1, 0.15);
    });
  });

  it('rejects ancestral sampling for subVP and unknown names', () => {
    tidy(() => {
      const sde = SDES.subvpsde();
      const score = gaussianScore(sde, data);
      expect(() => pcSample(score, sde, shape, { generator: generator(1), predictor: 'ancestral_sampling' })).toThrow(/vpsde, vesde/);
      expect(() => pcSample(score, sde, shape, { generator: generator(1), corrector: 'hmc' })).toThrow(/langevin/);
      expect(() => sample('ddim', score, sde, shape, { generator: generator(1) })).toThrow(/pc, ode/);
    });
  });

  it('time grid is linspace(T, eps, N) with exact endpoints', () => {
    const g = timeGrid(1, 1e-3, 5);
    expect(g[0]).toBe(1);
    expect(g[4]).toBe(1e-3);
    expect(g[2]).toBeCloseTo(0.5005, 12);
  });
});

describe('probability-flow ODE sampler with the exact Gaussian score', () => {
  for (const name of ['vpsde', 'subvpsde', 'vesde']) {
    for (const denoise of [false, true]) {
      it(`${name} denoise=${denoise}: sample mean/variance match the data`, () => {
        tidy(() => {
          const sde = SDES[name]();
          const eps = name === 'vesde' ? 1e-5 : 1e-3;
          const steps: number[] = [];
          const res = sample('ode', gaussianScore(sde, data), sde, shape, {
            generator: generator(31), eps, denoise, onProgress: (p) => steps.push(p.step),
          });
          expect(res.nfe).toBeGreaterThan(20);
          expect(steps.length).toBeGreaterThan(3);
          check(res.x, 0.1, 0.12);
        });
      });
    }
  }

  for (const name of ['vpsde', 'subvpsde', 'vesde']) {
    it(`${name}: maps a latent to the closed-form flow x_eps = m_eps·μ + √(v_eps/v_T)(z − m_T·μ), deterministically`, () => {
      tidy(() => {
        const sde = SDES[name]();
        const eps = 1e-3;
        const zs = name === 'vesde' ? [[10, -30], [45, 70]] : [[0.1, -0.3], [1.2, 0.7]];
        const z = tensor(zs, { dtype: 'float64' });
        const a = odeSample(gaussianScore(sde, data), sde, [2, 2], { generator: generator(1), init: z, eps });
        const b = odeSample(gaussianScore(sde, data), sde, [2, 2], { generator: generator(2), init: z, eps });
        expect(Array.from(a.x.toArray() as Float64Array)).toEqual(Array.from(b.x.toArray() as Float64Array));
        const coef = (t: number) => {
          const tt = tensor([t], { dtype: 'float64' });
          return { m: sde.meanCoef(tt).item(), s: sde.marginalStd(tt).item() };
        };
        const e = coef(eps);
        const T = coef(1);
        const got = Array.from(a.x.toArray() as Float64Array);
        zs.forEach((row, bi) => row.forEach((zi, d) => {
          const v = (c: { m: number; s: number }) => c.m * c.m * data.sigma0[d] ** 2 + c.s * c.s;
          const want = e.m * data.mu[d] + Math.sqrt(v(e) / v(T)) * (zi - T.m * data.mu[d]);
          expect(Math.abs(got[2 * bi + d] - want)).toBeLessThan(2e-4 * Math.max(1, Math.abs(zi)));
        }));
      });
    });
  }
});
