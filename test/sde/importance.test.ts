import { describe, expect, it } from 'vitest';
import { tensor } from '../../src/tensor.js';
import { generator, rand } from '../../src/random.js';
import { tidy, memoryStats } from '../../src/scope.js';
import { createSde, importanceSampler } from '../../src/sde/index.js';
import { G, arr, f64 } from '../losses/fixtures.js';

const b0 = 0.1, b1 = 20, smin = 0.01, smax = 50;
const EPS = 1e-5;
const Bint = (t: number) => b0 * t + 0.5 * (b1 - b0) * t * t;
const logExpm1 = (b: number) => b + Math.log(-Math.expm1(-b));
/** g²/std² and F(t) in float64 host arithmetic. */
const ratio: Record<string, (t: number) => number> = {
  vpsde: (t) => (b0 + t * (b1 - b0)) / -Math.expm1(-Bint(t)),
  subvpsde: (t) => ((b0 + t * (b1 - b0)) * -Math.expm1(-2 * Bint(t))) / Math.expm1(-Bint(t)) ** 2,
  vesde: () => 2 * Math.log(smax / smin),
};
const F: Record<string, (t: number) => number> = {
  vpsde: (t) => logExpm1(Bint(t)) - logExpm1(Bint(EPS)),
  subvpsde: (t) => 2 * logExpm1(Bint(t)) - Bint(t) - (2 * logExpm1(Bint(EPS)) - Bint(EPS)),
  vesde: (t) => 2 * Math.log(smax / smin) * (t - EPS),
};

/** ∫_eps^1 f(t) dt by composite Simpson in s = ln t (f·t is smooth even though f ~ 1/t near 0). */
function quad(f: (t: number) => number, upper = 1, n = 20000): number {
  const a = Math.log(EPS), b = Math.log(upper), h = (b - a) / n;
  let acc = 0;
  for (let i = 0; i <= n; i++) {
    const s = a + i * h;
    const w = i === 0 || i === n ? 1 : i % 2 ? 4 : 2;
    acc += w * f(Math.exp(s)) * Math.exp(s);
  }
  return (acc * h) / 3;
}

const names = ['vpsde', 'subvpsde', 'vesde'] as const;

describe('likelihood importance sampling of t', () => {
  for (const name of names) {
    it(`${name}: F(t) and Z match the closed forms, quadrature of g²/std², and the JAX goldens`, () => {
      tidy(() => {
        const g = G.jax.is[name];
        const s = importanceSampler(createSde(name), EPS);
        const sj = importanceSampler(createSde(name, { numerics: 'jax' }), EPS);
        const grid = f64(g.t_grid);
        const Fd = arr(s.cumWeight(grid));
        const Fj = arr(sj.cumWeight(grid));
        g.t_grid.forEach((t, i) => {
          expect(Math.abs(Fd[i] - g.F_exact[i])).toBeLessThan(1e-11 * Math.max(1, Math.abs(g.F_exact[i])));
          expect(Math.abs(Fj[i] - g.F_jax[i])).toBeLessThan(1e-11 * Math.max(1, Math.abs(g.F_jax[i])));
          expect(Math.abs(Fd[i] - F[name](t))).toBeLessThan(1e-11 * Math.max(1, Math.abs(F[name](t))));
        });
        expect(s.normalizer).toBeCloseTo(g.Z_exact, 11);
        expect(sj.normalizer).toBeCloseTo(g.Z_jax, 11);
        // F really is the integral of g²/std²
        expect(Math.abs(quad(ratio[name]) - s.normalizer) / s.normalizer).toBeLessThan(1e-9);
        expect(Math.abs(quad(ratio[name], 0.1) - F[name](0.1)) / F[name](0.1)).toBeLessThan(1e-9);
        // the reference's guard (B ≤ 1e-3 ⇒ 1 − e^{−B} ≈ B) is a first-order approximation near eps
        if (name !== 'vesde') expect(Math.abs(g.F_jax[1] - g.F_exact[1])).toBeGreaterThan(1e-7);
      });
    });

    it(`${name}: 100-step bisection inverse matches the golden quantile → t map (exact and JAX forms)`, () => {
      tidy(() => {
        const g = G.jax.is[name];
        const s = importanceSampler(createSde(name), EPS);
        const sj = importanceSampler(createSde(name, { numerics: 'jax' }), EPS);
        const t = arr(s.invert(f64(g.q_frac.map((q) => q * s.normalizer))));
        const tj = arr(sj.invert(f64(g.q_frac.map((q) => q * sj.normalizer))));
        g.t_exact.forEach((want, i) => expect(Math.abs(t[i] - want)).toBeLessThan(1e-12));
        g.t_jax.forEach((want, i) => expect(Math.abs(tj[i] - want)).toBeLessThan(1e-12));
        // F(F⁻¹(q)) = q
        const back = arr(s.cumWeight(f64(t)));
        g.q_frac.forEach((q, i) => expect(Math.abs(back[i] - q * s.normalizer)).toBeLessThan(1e-9 * s.normalizer));
      });
    });

    it(`${name}: draws pass a Kolmogorov–Smirnov test against F(t)/Z (n = 4000, seed 11)`, () => {
      tidy(() => {
        const n = 4000;
        const s = importanceSampler(createSde(name), EPS);
        const draws = Array.from(arr(s.sample(n, generator(11), { dtype: 'float64' }))).sort((a, b) => a - b);
        expect(draws[0]).toBeGreaterThanOrEqual(EPS);
        expect(draws[n - 1]).toBeLessThanOrEqual(1);
        const ks = (cdf: (t: number) => number) =>
          draws.reduce((m, t, i) => Math.max(m, Math.abs(cdf(t) - i / n), Math.abs(cdf(t) - (i + 1) / n)), 0);
        const Z = s.normalizer;
        const D = ks((t) => F[name](t) / Z);
        expect(D * Math.sqrt(n)).toBeLessThan(1.63); // α = 0.01 critical value of the KS statistic
        if (name !== 'vesde') {
          // power check: the same draws are far from uniform on [eps, 1]
          expect(ks((t) => (t - EPS) / (1 - EPS)) * Math.sqrt(n)).toBeGreaterThan(5);
        } else {
          expect(ks((t) => (t - EPS) / (1 - EPS)) * Math.sqrt(n)).toBeLessThan(1.63); // VE: IS = uniform
        }
      });
    });

    it(`${name}: the IS-weighted Monte-Carlo estimate of ∫ (g²/std²)·h dt matches quadrature`, () => {
      tidy(() => {
        const n = 20000;
        const s = importanceSampler(createSde(name), EPS);
        const h = (t: number) => Math.cos(3 * t) + t * t;
        const t = s.sample(n, generator(5), { dtype: 'float64' });
        const w = arr(s.weight(t));
        const tv = arr(t);
        const vals = Array.from(tv, (tt, i) => ratio[name](tt) * h(tt) * w[i]);
        const mean = vals.reduce((a, b) => a + b, 0) / n;
        const sd = Math.sqrt(vals.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
        const I = quad((tt) => ratio[name](tt) * h(tt));
        expect(Math.abs(mean - I)).toBeLessThan(4 * (sd / Math.sqrt(n)) + 1e-9);
        // the weight itself: Z·std²/g²
        const wg = arr(s.weight(f64(G.jax.is[name].t_grid)));
        G.jax.is[name].weight_exact.forEach((want, i) => expect(Math.abs(wg[i] - want) / want).toBeLessThan(1e-12));
      });
    });
  }

  it('VE: the closed-form inverse equals bisection and maps U[0, Z) linearly onto [eps, T)', () => {
    tidy(() => {
      const s = importanceSampler(createSde('vesde'), EPS);
      const q = rand([64], { dtype: 'float64', generator: generator(3) }).mul(s.normalizer);
      const exact = arr(s.invert(q));
      const bis = arr(s.invert(q, 100));
      exact.forEach((e, i) => expect(Math.abs(e - bis[i])).toBeLessThan(1e-13));
      expect(s.normalizer).toBeCloseTo(2 * Math.log(smax / smin) * (1 - EPS), 12);
      expect(arr(s.weight(f64([0.3, 0.9])))).toEqual([expect.closeTo(1 - EPS, 13), expect.closeTo(1 - EPS, 13)]);
    });
  });

  it('float32 sampling: reproducible per seed, inside [eps, T], on the requested dtype; no leaked tensors', () => {
    const before = memoryStats().liveHandles;
    tidy(() => {
      for (const name of names) {
        const s = importanceSampler(createSde(name), 1e-2);
        const a = s.sample(256, generator(9));
        const b = s.sample(256, generator(9));
        expect(a.dtype).toBe('float32');
        expect(arr(a.to('float64'))).toEqual(arr(b.to('float64')));
        expect(a.min().item()).toBeGreaterThanOrEqual(1e-2 - 1e-7);
        expect(a.max().item()).toBeLessThanOrEqual(1);
      }
    });
    expect(memoryStats().liveHandles).toBeLessThanOrEqual(before);
    expect(() => importanceSampler(createSde('vpsde'), 0)).toThrowError(expect.objectContaining({ code: 'ERR_ARG' }));
    void tensor;
  });
});
