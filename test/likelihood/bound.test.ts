import { describe, expect, it } from 'vitest';
import { type Tensor } from '../../src/tensor.js';
import { tidy } from '../../src/scope.js';
import { generator, randn } from '../../src/random.js';
import { VPSDE } from '../../src/sde/vp.js';
import { SubVPSDE } from '../../src/sde/subvp.js';
import { VESDE } from '../../src/sde/ve.js';
import type { Sde } from '../../src/sde/types.js';
import { odeLikelihood } from '../../src/likelihood/ode-likelihood.js';
import { likelihoodBound } from '../../src/likelihood/bound.js';
import { gaussianSamples, gaussianScore, type GaussianData } from './gaussian.js';

const f64 = (t: Tensor) => Array.from(t.toArray() as Float64Array);
const mean = (a: number[]) => a.reduce((p, q) => p + q, 0) / a.length;
const base: GaussianData = { mu: [0.3, -0.2, 0.1, 0], sigma0: [0.5, 1, 1.5, 0.8] };
// D = 16 keeps the per-example Monte Carlo noise (∝ √D/D bits) small.
const data: GaussianData = { mu: [0, 1, 2, 3].flatMap(() => base.mu), sigma0: [0, 1, 2, 3].flatMap(() => base.sigma0) };
const D = data.mu.length;
const POINTS = 3;
const REPEATS = 128;

describe('likelihoodBound: Gaussian data with the closed-form score', () => {
  for (const [name, make, eps] of [
    ['vpsde', () => new VPSDE(), 1e-5],
    ['vpsde', () => new VPSDE(), 1e-3],
    ['subvpsde', () => new SubVPSDE(), 1e-2],
    ['vesde', () => new VESDE(), 1e-5],
  ] as [string, () => Sde, number][]) {
    for (const [form, importanceWeighting] of [['dsm', true], ['ssm', true], ['ssm', false]] as [string, boolean][]) {
      it(`${name} eps=${eps} ${form}${importanceWeighting ? '' : ' uniform t'}: bound ≥ exact ODE bpd (statistically) and close to it`, () => {
        tidy(() => {
          const sde = make();
          const score = gaussianScore(sde, data);
          const x = gaussianSamples(data, randn([POINTS, D], { dtype: 'float64', generator: generator(11) }));
          const ode = f64(odeLikelihood(score, sde, x, { eps, hutchinson: 'exact', offset: 'none' }).bpd);
          // Each point repeated REPEATS times: the per-point average of the unbiased bound estimates.
          const xr = x.unsqueeze(1).expand([POINTS, REPEATS, D]).reshape([POINTS * REPEATS, D]);
          const progress: number[] = [];
          const res = likelihoodBound(score, sde, xr, {
            eps, form, importanceWeighting, N: 100, chunk: 50, generator: generator(12), offset: 'none', onProgress: (d) => progress.push(d),
          });
          expect(progress).toEqual([50, 100]);
          expect(res.nfe).toBe(form === 'ssm' ? 201 : 101);
          const b = f64(res.bpd);
          const per = Array.from({ length: POINTS }, (_, p) => mean(b.slice(p * REPEATS, (p + 1) * REPEATS)));
          const sd = Math.sqrt(mean(b.map((v, i) => (v - per[Math.floor(i / REPEATS)]) ** 2)));
          const se = sd / Math.sqrt(REPEATS); // per point; sd ≈ 0.5–0.7 bits here
          expect(sd).toBeLessThan(1);
          const diff = per.map((v, i) => v - ode[i]);
          // With the exact score the bound is tight in expectation: each point within 3.5 standard errors…
          diff.forEach((d) => expect(Math.abs(d)).toBeLessThan(3.5 * se));
          // …and on average not below the exact value beyond Monte Carlo noise.
          expect(mean(diff)).toBeGreaterThan(-3 * se / Math.sqrt(POINTS));
        });
      });
    }
  }
});
