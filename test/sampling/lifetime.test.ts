import { describe, expect, it } from 'vitest';
import { tensor } from '../../src/tensor.js';
import { dispose, memoryStats } from '../../src/scope.js';
import { generator } from '../../src/random.js';
import { VPSDE } from '../../src/sde/vp.js';
import { VESDE } from '../../src/sde/ve.js';
import { odeSolve } from '../../src/ode/index.js';
import { pcSample, odeSample } from '../../src/sampling/index.js';
import { odeLikelihood } from '../../src/likelihood/ode-likelihood.js';
import { likelihoodBound } from '../../src/likelihood/bound.js';
import { gaussianScore, type GaussianData } from '../likelihood/gaussian.js';

const data: GaussianData = { mu: [0.5, -1], sigma0: [0.3, 1.2] };
const live = () => memoryStats().liveHandles;

/** Runs `fn` twice outside any tidy scope (the first warms caches), then checks nothing stays alive. */
function noLeak(fn: () => unknown): void {
  dispose(fn());
  const before = live();
  dispose(fn());
  expect(live()).toBe(before);
}

describe('no tensors outlive the solvers and samplers (outside tidy)', () => {
  it('odeSolve adaptive and fixed, including rejected steps', () => {
    const y0 = tensor(new Float64Array([1, 2, 3]));
    noLeak(() => odeSolve((t, y) => y.mul(Math.cos(5 * t)).neg(), y0, 0, 3, { rtol: 1e-6 }));
    noLeak(() => odeSolve((_t, y) => y.neg(), y0, 0, 1, { method: 'rk4', steps: 7 }));
    y0.dispose();
  });

  it('odeLikelihood, likelihoodBound, pcSample, odeSample', () => {
    const sde = new VPSDE({ N: 20 });
    const score = gaussianScore(sde, data);
    const x = tensor([[0.2, -0.5], [0.7, -2]], { dtype: 'float64' });
    noLeak(() => odeLikelihood(score, sde, x, { generator: generator(1) }));
    noLeak(() => likelihoodBound(score, sde, x, { generator: generator(1), N: 10, chunk: 3 }));
    noLeak(() => pcSample(score, sde, [4, 2], { generator: generator(1), predictor: 'reverse_diffusion', corrector: 'langevin' }));
    noLeak(() => pcSample(score, sde, [4, 2], { generator: generator(1), predictor: 'none', corrector: 'none' }));
    const ve = new VESDE({ N: 20 });
    noLeak(() => odeSample(gaussianScore(ve, data), ve, [4, 2], { generator: generator(1), denoise: true }));
    x.dispose();
  });
});
