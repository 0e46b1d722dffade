import { describe, expect, it } from 'vitest';
import { generator, rand, randn } from '../../src/random.js';
import { tidy, memoryStats } from '../../src/scope.js';
import { createSde } from '../../src/sde/index.js';
import { continuousDsmLoss, getLossFn, weightingName, type LossConfig } from '../../src/losses/index.js';
import { G, arr, batch, f64, maxRelErr, noise, times, tinyNet } from './fixtures.js';

const base: LossConfig = {
  continuous: true, likelihood_weighting: false, importance_weighting: false, reduce_mean: true,
  score_matching_order: 1, smallest_time: 1e-5,
};

describe('continuous DSM against score_sde_pytorch get_sde_loss_fn (float64, injected t and z)', () => {
  for (const g of G.sp.continuous) {
    const label = `${g.sde} continuous=${g.continuous} likelihood_weighting=${g.likelihood_weighting} reduce_mean=${g.reduce_mean}`;
    it(label, () => {
      tidy(() => {
        const sde = createSde(g.sde);
        const { net } = tinyNet();
        const fn = g.continuous
          ? getLossFn(sde, { ...base, likelihood_weighting: g.likelihood_weighting, reduce_mean: g.reduce_mean })
          : continuousDsmLoss(sde, {
            weighting: g.likelihood_weighting ? 'likelihood' : 'original', reduceMean: g.reduce_mean, eps: 1e-5,
            continuous: false, train: true, order: 1,
          });
        const r = fn(net, batch(), { generator: generator(0), t: times(), z: noise() });
        // SP computes std as √(1 − e^{2·lmc}) in float64: ~1e-10 relative at t = eps
        expect(maxRelErr(arr(r.perExample.loss1), g.per_example)).toBeLessThan(1e-8);
        expect(Math.abs(r.loss.item() - g.loss) / g.loss).toBeLessThan(1e-8);
        expect(r.terms.loss2.item()).toBe(0);
        expect(r.terms.loss3.item()).toBe(0);
      });
    });
  }
});

describe('likelihood weighting + importance sampling (score_flow formulas, float64)', () => {
  for (const g of G.jax.lw_is) {
    it(`${g.sde} reduce_mean=${g.reduce_mean}: t from the injected quantiles, then reduce((s·std + z)²)`, () => {
      tidy(() => {
        const fn = getLossFn(createSde(g.sde), {
          ...base, likelihood_weighting: true, importance_weighting: true, reduce_mean: g.reduce_mean,
        });
        const r = fn(tinyNet().net, batch(), { generator: generator(0), quantile: f64(g.quantile), z: noise() });
        arr(r.t).forEach((t, i) => expect(Math.abs(t - g.t[i])).toBeLessThan(1e-12));
        expect(maxRelErr(arr(r.perExample.loss1), g.per_example)).toBeLessThan(1e-9);
        expect(Math.abs(r.loss.item() - g.loss) / g.loss).toBeLessThan(1e-9);
      });
    });
  }
});

describe('getLossFn and randomness', () => {
  it('maps the config flags to the weightings (importance weighting only with likelihood weighting)', () => {
    expect(weightingName({ likelihood_weighting: false, importance_weighting: true })).toBe('original');
    expect(weightingName({ likelihood_weighting: true, importance_weighting: false })).toBe('likelihood');
    expect(weightingName({ likelihood_weighting: true, importance_weighting: true })).toBe('likelihood_is');
    const cfgErr = (c: Partial<LossConfig>, sde = 'vpsde') =>
      expect(() => getLossFn(createSde(sde), { ...base, ...c })).toThrowError(expect.objectContaining({ code: 'ERR_CONFIG' }));
    cfgErr({ continuous: false, likelihood_weighting: true });
    cfgErr({ continuous: false }, 'subvpsde');
    cfgErr({ continuous: false, score_matching_order: 2 });
    cfgErr({ score_matching_order: 2, reduce_mean: false });
    cfgErr({ score_matching_order: 4 });
  });

  it('is reproducible from the generator (draw order t, z), differs across seeds, and leaks nothing', () => {
    const before = memoryStats().liveHandles;
    tidy(() => {
      const { net } = tinyNet();
      for (const c of [{}, { likelihood_weighting: true }, { likelihood_weighting: true, importance_weighting: true }]) {
        for (const sde of ['vpsde', 'subvpsde', 'vesde']) {
          const fn = getLossFn(createSde(sde), { ...base, ...c });
          const a = fn(net, batch(), { generator: generator(42) }).loss.item();
          const b = fn(net, batch(), { generator: generator(42) }).loss.item();
          const d = fn(net, batch(), { generator: generator(43) }).loss.item();
          expect(a).toBe(b);
          expect(a).not.toBe(d);
          expect(Number.isFinite(a)).toBe(true);
        }
      }
      // injecting exactly the draws of the generator reproduces the generated loss
      const fn = getLossFn(createSde('vpsde'), base);
      const r1 = fn(net, batch(), { generator: generator(8) });
      const gen = generator(8);
      const x = batch();
      const t = rand([4], { dtype: 'float64', generator: gen }).mul(1 - 1e-5).add(1e-5);
      const z = randn(x.shape, { dtype: 'float64', generator: gen });
      const r2 = fn(net, x, { generator: generator(99), t, z });
      expect(r2.loss.item()).toBe(r1.loss.item());
      expect(arr(r2.t)).toEqual(arr(r1.t));
    });
    for (let i = 0; i < 3; i++) {
      tidy(() => {
        const fn = getLossFn(createSde('vpsde'), { ...base, likelihood_weighting: true, importance_weighting: true });
        fn(tinyNet().net, batch(), { generator: generator(i) }).loss.backward();
      });
    }
    expect(memoryStats().liveHandles).toBeLessThanOrEqual(before + 16); // the VP DDPM-table caches
  });

  it('backward reaches the parameters through the score (first order)', () => {
    tidy(() => {
      const { net, params } = tinyNet();
      const fn = getLossFn(createSde('subvpsde'), { ...base, likelihood_weighting: true });
      fn(net, batch(), { generator: generator(1), t: times(), z: noise() }).loss.backward();
      for (const p of Object.values(params)) expect(p.grad!.abs().sum().item()).toBeGreaterThan(0);
    });
  });
});
