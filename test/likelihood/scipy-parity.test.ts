/**
 * End-to-end parity with the references' scipy pipelines (solve_ivp RK45 on the flattened float64 state):
 * same number of evaluations, same bits/dim, latents and samples. Reference numbers: scipy-ode-likelihood.py.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { tensor, type Tensor } from '../../src/tensor.js';
import { tidy } from '../../src/scope.js';
import { generator } from '../../src/random.js';
import { VPSDE } from '../../src/sde/vp.js';
import { odeLikelihood } from '../../src/likelihood/ode-likelihood.js';
import { odeSample } from '../../src/sampling/index.js';
import { gaussianScore } from './gaussian.js';

const ref = JSON.parse(readFileSync(new URL('./scipy-ode-likelihood.json', import.meta.url), 'utf8'));
const f64 = (t: Tensor) => Array.from(t.toArray() as Float64Array);
const data = { mu: ref.mu as number[], sigma0: ref.sigma0 as number[] };

describe('probability-flow ODE: parity with scipy solve_ivp (VP, Gaussian data, closed-form score)', () => {
  for (const hutchinson of ['exact', 'rademacher']) {
    it(`likelihood (${hutchinson}): nfe, bpd, Δlogp and z as the reference pipeline`, () => {
      tidy(() => {
        const sde = new VPSDE();
        const x = tensor(ref.x, { dtype: 'float64' });
        const res = odeLikelihood(gaussianScore(sde, data), sde, x, {
          eps: ref.likelihood.eps, hutchinson, generator: generator(3), offset: 'none',
        });
        expect(res.nfe).toBe(ref.likelihood.nfev);
        expect(res.nSteps).toBe(ref.likelihood.nsteps);
        f64(res.bpd).forEach((v, i) => expect(v).toBeCloseTo(ref.likelihood.bpd[i], 9));
        f64(res.deltaLogp).forEach((v, i) => expect(v).toBeCloseTo(ref.likelihood.delta[i], 9));
        f64(res.z).forEach((v, i) => expect(v).toBeCloseTo(ref.likelihood.z.flat()[i], 9));
      });
    });
  }

  it('ODE sampler: nfe and samples as the reference pipeline', () => {
    tidy(() => {
      const sde = new VPSDE();
      const res = odeSample(gaussianScore(sde, data), sde, [2, 4], {
        generator: generator(1), init: tensor(ref.sampler.latent, { dtype: 'float64' }), eps: ref.sampler.eps,
      });
      expect(res.nfe).toBe(ref.sampler.nfev);
      f64(res.x).forEach((v, i) => expect(v).toBeCloseTo(ref.sampler.x.flat()[i], 9));
    });
  });
});
