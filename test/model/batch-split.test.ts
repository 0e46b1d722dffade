import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScoreModel } from '../../src/model/score-model.js';
import { configFromObject } from '../../src/config/index.js';
import { enableGrad, grad, noGrad } from '../../src/autograd.js';
import { generator, rademacher, randn, rand } from '../../src/random.js';
import { tidy } from '../../src/scope.js';
import { numThreads, setNumThreads } from '../../src/device.js';
import { getScoreFn, VPSDE } from '../../src/sde/index.js';
import { odeLikelihood, valueAndDivergence, probabilityFlowDrift, likelihoodWorkers } from '../../src/likelihood/index.js';
import type { Tensor } from '../../src/tensor.js';

const arr = (t: Tensor) => Array.from(t.toArray() as ArrayLike<number>);
/** max |a − b| / max |b| */
const relMax = (a: Tensor, b: Tensor) => tidy(() => a.sub(b).abs().max().item() / b.abs().max().item());

// A small DDPM++ with every layer kind the likelihood meets: GroupNorm, attention at 4x4, resampling.
const config = configFromObject({
  model: { nf: 16, ch_mult: [1, 2], num_res_blocks: 1, attn_resolutions: [4], num_scales: 100 },
  data: { image_size: 8, num_channels: 1 },
  training: { sde: 'vpsde', continuous: true },
});

describe('ScoreModel.forward with opts.workers (batch slices at once, native/nn/batch_split.cc)', () => {
  let model: ScoreModel;
  let x: Tensor, labels: Tensor;
  const threads = numThreads();
  beforeAll(() => {
    setNumThreads(2);
    model = new ScoreModel(config, { seed: 0 }).eval();
    const gen = generator(7);
    x = randn([5, 1, 8, 8], { generator: gen }).keep();
    labels = rand([5], { generator: gen }).mul(999).keep();
  });
  afterAll(() => {
    model.dispose();
    x.dispose();
    labels.dispose();
    setNumThreads(threads);
  });

  it('the output equals the whole call to float32 rounding, for even and uneven slices', () => {
    tidy(() => {
      const whole = noGrad(() => model.forward(x, labels));
      for (const workers of [2, 3, 5, 8]) {
        const split = noGrad(() => model.forward(x, labels, { workers }));
        expect(split.shape).toEqual(whole.shape);
        expect(relMax(split, whole)).toBeLessThan(1e-5);
      }
    });
  });

  it('the vector-Jacobian product to x equals the whole call\'s', () => {
    tidy(() => {
      const v = rademacher(x.shape, { generator: generator(8) });
      const vjp = (workers: number) => enableGrad(() => {
        const xg = x.detach().requiresGrad_();
        const out = model.forward(xg, labels, { workers });
        return grad(out, xg, { gradOutputs: [v] })[0]!;
      });
      const want = vjp(1);
      expect(want.abs().max().item()).toBeGreaterThan(0);
      expect(relMax(vjp(2), want)).toBeLessThan(1e-5);
      expect(relMax(vjp(3), want)).toBeLessThan(1e-5);
    });
  });

  it('the graph may be differentiated more than once (the exact divergence: one VJP per dimension)', () => {
    tidy(() => {
      const xs = x.slice(0, 0, 2);
      const sde = new VPSDE();
      const drift = (workers: number) => probabilityFlowDrift(sde, getScoreFn(sde, model.withOptions({ workers }), { continuous: true }));
      const t = rand([2], { generator: generator(9) }).mul(0.9).add(0.05);
      const want = valueAndDivergence(drift(1), xs, t, 'exact');
      const got = valueAndDivergence(drift(2), xs, t, 'exact');
      expect(relMax(got.value, want.value)).toBeLessThan(1e-5);
      expect(relMax(got.div, want.div)).toBeLessThan(1e-5);
    });
  });

  it('a likelihood solve gives the bits/dim of the whole calls', () => {
    tidy(() => {
      const sde = new VPSDE();
      const solve = (workers: number) => odeLikelihood(getScoreFn(sde, model.withOptions({ workers }), { continuous: true }), sde, x.tanh(), {
        generator: generator(10), rtol: 1e-4, atol: 1e-4,
      });
      const a = solve(1), b = solve(2);
      const [pa, pb] = [arr(a.bpd), arr(b.bpd)];
      pa.forEach((v, i) => expect(Math.abs(pb[i]! - v)).toBeLessThan(1e-4));
      expect(Math.abs(b.nfe - a.nfe)).toBeLessThanOrEqual(6); // at most one step attempt apart
    });
  });

  it('refuses a training step (grad mode, parameters but not x requiring grad), higher-order gradients and bad counts', () => {
    tidy(() => {
      expect(() => enableGrad(() => model.forward(x, labels, { workers: 2 }))).toThrow(/workers > 1 differentiates to x only/);
      expect(() => enableGrad(() => {
        const xg = x.detach().requiresGrad_();
        const out = model.forward(xg, labels, { workers: 2 });
        const [g] = grad(out.square().sum(), xg, { createGraph: true });
        return g;
      })).toThrow(/higher-order gradients/);
      expect(() => model.forward(x, labels, { workers: 0 })).toThrow(/opts\.workers/);
      expect(() => model.forward(x, labels, { workers: 1.5 })).toThrow(/opts\.workers/);
    });
  });
});

describe('eval.ode_workers = 0: the rule (src/likelihood/workers.ts)', () => {
  it('one slice a thread on the CPU (at most one per example), the whole call on CUDA or with one thread', () => {
    expect(likelihoodWorkers(0, 4, 'cpu', 2)).toBe(2);
    expect(likelihoodWorkers(0, 250, 'cpu', 2)).toBe(2);
    expect(likelihoodWorkers(0, 64, 'cpu', 16)).toBe(16);
    expect(likelihoodWorkers(0, 3, 'cpu', 8)).toBe(3);
    expect(likelihoodWorkers(0, 4, 'cpu', 1)).toBe(1);
    expect(likelihoodWorkers(0, 1, 'cpu', 2)).toBe(1);
    expect(likelihoodWorkers(0, 4, 'cuda:0', 2)).toBe(1);
    expect(likelihoodWorkers(3, 250, 'cpu', 2)).toBe(3);
    expect(() => likelihoodWorkers(-1, 4, 'cpu', 2)).toThrow(/eval\.ode_workers/);
  });
});
