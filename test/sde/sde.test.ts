import { describe, expect, it } from 'vitest';
import { tensor, type Tensor } from '../../src/tensor.js';
import { generator } from '../../src/random.js';
import { tidy, memoryStats } from '../../src/scope.js';
import { DEFAULT_CONFIG } from '../../src/config/index.js';
import {
  createSde, sdeFromConfig, sdeNames, getScoreFn, VPSDE, SubVPSDE, VESDE, type Sde, type SdeNumerics,
} from '../../src/sde/index.js';
import { G, arr, batch, maxRelErr, noise, times, tinyNet } from '../losses/fixtures.js';

const b0 = 0.1, b1 = 20, smin = 0.01, smax = 50;
const Bint = (t: number) => b0 * t + 0.5 * (b1 - b0) * t * t;
/** float64 closed forms (spec §1), written with expm1 so that they are exact at every t. */
const exact = {
  vpsde: { mean: (t: number) => Math.exp(-Bint(t) / 2), std: (t: number) => Math.sqrt(-Math.expm1(-Bint(t))), g2: (t: number) => b0 + t * (b1 - b0) },
  subvpsde: {
    mean: (t: number) => Math.exp(-Bint(t) / 2), std: (t: number) => -Math.expm1(-Bint(t)),
    g2: (t: number) => (b0 + t * (b1 - b0)) * -Math.expm1(-2 * Bint(t)),
  },
  vesde: {
    mean: () => 1, std: (t: number) => smin * (smax / smin) ** t,
    g2: (t: number) => (smin * (smax / smin) ** t) ** 2 * 2 * Math.log(smax / smin),
  },
} as const;

const GRID = [0, 1e-7, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 0.37, 0.5, 0.9, 1];
const names = ['vpsde', 'subvpsde', 'vesde'] as const;

describe('SDE marginals and coefficients (float64 closed forms)', () => {
  for (const name of names) {
    it(`${name}: meanCoef, marginalStd, g² match the closed forms to 1e-13 (default expm1 numerics)`, () => {
      tidy(() => {
        const sde = createSde(name);
        const t = tensor(Float64Array.from(GRID));
        const std = arr(sde.marginalStd(t));
        const mean = arr(sde.meanCoef(t));
        const g2 = arr(sde.diffusionSquared(t));
        const { diffusion } = sde.sde(tensor(new Float64Array(GRID.length * 2), { shape: [GRID.length, 2] }), t);
        GRID.forEach((tt, i) => {
          const e = exact[name];
          if (tt > 0) expect(Math.abs(std[i] - e.std(tt)) / e.std(tt)).toBeLessThan(1e-13);
          expect(Math.abs(mean[i] - e.mean(tt))).toBeLessThan(1e-15);
          expect(Math.abs(g2[i] - e.g2(tt))).toBeLessThanOrEqual(1e-13 * Math.max(1, e.g2(tt)));
          expect(Math.abs(arr(diffusion)[i] ** 2 - e.g2(tt))).toBeLessThanOrEqual(1e-12 * Math.max(1, e.g2(tt)));
        });
      });
    });
  }

  it('small t in float32: expm1 forms keep full relative precision; the score_sde_pytorch forms lose ~1% (spec §12.1)', () => {
    tidy(() => {
      const t = tensor([1e-5, 1e-6, 1e-4], { dtype: 'float32' });
      for (const name of ['vpsde', 'subvpsde'] as const) {
        const good = arr(createSde(name).marginalStd(t).to('float64'));
        const naive = arr(createSde(name, { numerics: 'naive' }).marginalStd(t).to('float64'));
        const jax = arr(createSde(name, { numerics: 'jax' }).marginalStd(t).to('float64'));
        [1e-5, 1e-6, 1e-4].forEach((tt, i) => {
          const e = exact[name].std(tt);
          expect(Math.abs(good[i] - e) / e).toBeLessThan(1e-6); // float32 rounding only
          expect(Math.abs(jax[i] - e) / e).toBeLessThan(2e-4); // Taylor branch: error ≈ |lmc|/4 (VP) or |lmc|/2 (subVP)
        });
        // the reference float32 form at t = 1e-5: 0.6 % (VP) / 1.3 % (subVP) off
        const errNaive = Math.abs(naive[0] - exact[name].std(1e-5)) / exact[name].std(1e-5);
        expect(errNaive).toBeGreaterThan(1e-3);
      }
    });
  });

  it("'jax' numerics reproduce score_flow's high_precision branches exactly (float64)", () => {
    tidy(() => {
      const t = tensor(Float64Array.from([1e-5, 1e-4, 9.9e-5, 0.2]));
      const vp = new VPSDE({ numerics: 'jax' });
      const sub = new SubVPSDE({ numerics: 'jax' });
      const lmcs = [1e-5, 1e-4, 9.9e-5, 0.2].map((x) => -Bint(x) / 2);
      const vpStd = arr(vp.marginalStd(t));
      const subStd = arr(sub.marginalStd(t));
      const vpMean = arr(vp.meanCoef(t));
      const subDisc = arr(sub.discount(t));
      lmcs.forEach((l, i) => {
        const small = Math.abs(l) <= 1e-3;
        expect(vpStd[i]).toBeCloseTo(small ? Math.sqrt(-2 * l) : Math.sqrt(1 - Math.exp(2 * l)), 15);
        expect(subStd[i]).toBeCloseTo(small ? -2 * l : 1 - Math.exp(2 * l), 15);
        expect(vpMean[i]).toBeCloseTo(small ? 1 + l : Math.exp(l), 15);
        const ex = 4 * l; // exponent = −2β0t − (β1−β0)t² = −2B = 4·lmc
        expect(subDisc[i]).toBeCloseTo(Math.abs(ex) <= 1e-3 ? -ex : 1 - Math.exp(ex), 15);
      });
    });
  });
});

describe('SDEs against score_sde_pytorch (float64, fixed x and t)', () => {
  for (const name of names) {
    it(`${name}: sde, marginal_prob, discretize, prior_logp, score, reverse SDE/ODE`, () => {
      tidy(() => {
        const g = G.sp.sde[name];
        const sde = createSde(name);
        const x = batch();
        const t = times();
        const { drift, diffusion } = sde.sde(x, t);
        const { mean, std } = sde.marginalProb(x, t);
        const { f, G: Gd } = sde.discretize(x, t);
        const tol = 1e-12;
        expect(maxRelErr(arr(drift), g.drift, 1e-9)).toBeLessThan(tol);
        // SP's subVP discount 1 − exp(−2B) cancels in float64 at t = 1e-5 (~1e-11 relative)
        expect(maxRelErr(arr(diffusion), g.diffusion)).toBeLessThan(1e-9);
        expect(maxRelErr(arr(mean), g.mean, 1e-9)).toBeLessThan(tol);
        // SP evaluates 1 − exp(2·lmc) in float64: ~1e-11 relative cancellation at t = 1e-5
        expect(maxRelErr(arr(std), g.std)).toBeLessThan(1e-9);
        expect(maxRelErr(arr(f), g.f, 1e-9)).toBeLessThan(tol);
        const tolG = name === 'subvpsde' ? 1e-9 : tol; // Euler–Maruyama G inherits the discount's cancellation
        expect(maxRelErr(arr(Gd), g.G)).toBeLessThan(tolG);
        expect(maxRelErr(arr(sde.priorLogp(noise())), g.prior_logp)).toBeLessThan(tol);

        const { net } = tinyNet();
        const score = getScoreFn(sde, net, { continuous: true });
        expect(maxRelErr(arr(score(x, t)), g.score, 1e-6)).toBeLessThan(1e-8);
        if (name !== 'subvpsde') {
          const sd = getScoreFn(sde, net, { continuous: false });
          expect(maxRelErr(arr(sd(x, t)), g.score_discrete, 1e-6)).toBeLessThan(1e-10);
        }
        for (const pf of [false, true]) {
          const r = sde.reverse(score, { probabilityFlow: pf });
          const want = pf ? g.reverse_ode : g.reverse_sde;
          const rs = r.sde(x, t);
          const rd = r.discretize(x, t);
          expect(r.probabilityFlow).toBe(pf);
          expect(maxRelErr(arr(rs.drift), want.drift, 1e-3)).toBeLessThan(1e-8);
          expect(maxRelErr(arr(rs.diffusion), want.diffusion)).toBeLessThan(tolG);
          expect(maxRelErr(arr(rd.f), want.f, 1e-3)).toBeLessThan(1e-8);
          expect(maxRelErr(arr(rd.G), want.G)).toBeLessThan(tolG);
        }
      });
    });
  }
});

describe('SDE registry, priors and discretisations', () => {
  it('creates the three SDEs by their config names, with the config parameters', () => {
    expect(sdeNames()).toEqual(['vpsde', 'subvpsde', 'vesde']);
    expect(createSde('vpsde')).toBeInstanceOf(VPSDE);
    expect(createSde('SubVPSDE')).toBeInstanceOf(SubVPSDE);
    const ve = createSde('vesde', { sigma_min: 0.02, sigma_max: 10, num_scales: 7 }) as VESDE;
    expect([ve.sigmaMin, ve.sigmaMax, ve.N, ve.T]).toEqual([0.02, 10, 7, 1]);
    expect(() => createSde('ddim')).toThrowError(expect.objectContaining({ code: 'ERR_CONFIG' }));
    expect(() => createSde('vpsde', { numerics: 'fast' as SdeNumerics })).toThrowError(expect.objectContaining({ code: 'ERR_ARG' }));
    const fromCfg = sdeFromConfig({ ...DEFAULT_CONFIG, training: { ...DEFAULT_CONFIG.training, sde: 'subvpsde' } });
    expect(fromCfg.kind).toBe('subvpsde');
    expect((fromCfg as SubVPSDE).betaMax).toBe(DEFAULT_CONFIG.model.beta_max);
  });

  it('prior sampling is reproducible per seed and has the prior std; prior entropy is the closed form', () => {
    tidy(() => {
      for (const [name, s] of [['vpsde', 1], ['vesde', smax]] as const) {
        const sde = createSde(name);
        const a = sde.priorSampling([64, 3, 8, 8], generator(7), { dtype: 'float64' });
        const b = sde.priorSampling([64, 3, 8, 8], generator(7), { dtype: 'float64' });
        expect(arr(a)).toEqual(arr(b));
        expect(a.shape).toEqual([64, 3, 8, 8]);
        expect(Math.abs(a.std().item() / s - 1)).toBeLessThan(0.03);
        const H = arr(sde.priorEntropy(a));
        expect(H[0]).toBeCloseTo(192 * (0.5 * Math.log(2 * Math.PI * s * s) + 0.5), 9);
      }
    });
  });

  it('DDPM / SMLD discretisations index the discrete tables at int(t(N−1)); subVP is Euler–Maruyama', () => {
    tidy(() => {
      const N = 100;
      const vp = new VPSDE({ N });
      const ve = new VESDE({ N });
      const sub = new SubVPSDE({ N });
      const x = tensor(Float64Array.from([1, 2, 3]), { shape: [3, 1] });
      const t = tensor(Float64Array.from([0, 0.5, 1]));
      const betas = Array.from({ length: N }, (_, i) => b0 / N + ((b1 - b0) / N) * (i / (N - 1)));
      const idx = [0, 49, 99];
      const vd = vp.discretize(x, t);
      idx.forEach((j, k) => {
        expect(arr(vd.G)[k]).toBeCloseTo(Math.sqrt(betas[j]), 14);
        expect(arr(vd.f)[k]).toBeCloseTo((Math.sqrt(1 - betas[j]) - 1) * (k + 1), 14);
      });
      const sig = Array.from({ length: N }, (_, i) => Math.exp(Math.log(smin) + ((Math.log(smax) - Math.log(smin)) * i) / (N - 1)));
      const vd2 = ve.discretize(x, t);
      expect(arr(vd2.G)[0]).toBeCloseTo(sig[0], 14);
      expect(arr(vd2.G)[1]).toBeCloseTo(Math.sqrt(sig[49] ** 2 - sig[48] ** 2), 12);
      expect(arr(vd2.G)[2]).toBeCloseTo(Math.sqrt(sig[99] ** 2 - sig[98] ** 2), 12);
      expect(arr(vd2.f)).toEqual([0, 0, 0]);
      const sd = sub.discretize(x, t);
      const { drift, diffusion } = sub.sde(x, t);
      expect(maxRelErr(arr(sd.f), arr(drift).map((d) => d / N))).toBeLessThan(1e-15);
      expect(maxRelErr(arr(sd.G), arr(diffusion).map((d) => d * Math.sqrt(1 / N)))).toBeLessThan(1e-15);
    });
  });

  it('rejects times that are not per-example [B]; leaves no tensors behind', () => {
    const before = memoryStats().liveHandles;
    tidy(() => {
      const sde: Sde = createSde('vpsde');
      const x = tensor(new Float64Array(6), { shape: [3, 2] });
      expect(() => sde.marginalProb(x, tensor(Float64Array.from([0.1, 0.2])))).toThrowError(expect.objectContaining({ code: 'ERR_ARG' }));
      const t: Tensor = tensor(Float64Array.from([0.1, 0.2, 0.3]));
      sde.marginalProb(x, t);
      sde.discretize(x, t);
    });
    expect(memoryStats().liveHandles).toBeLessThanOrEqual(before + 8); // discrete-table caches only
  });
});
