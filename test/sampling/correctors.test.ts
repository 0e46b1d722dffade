import { describe, expect, it } from 'vitest';
import { full, tensor, type Tensor } from '../../src/tensor.js';
import { tidy } from '../../src/scope.js';
import { generator } from '../../src/random.js';
import { VPSDE } from '../../src/sde/vp.js';
import { SubVPSDE } from '../../src/sde/subvp.js';
import { VESDE } from '../../src/sde/ve.js';
import type { Sde } from '../../src/sde/types.js';
import { getCorrector, getPredictor } from '../../src/sampling/index.js';

const f64 = (t: Tensor) => Array.from(t.toArray() as Float64Array);
const score = (x: Tensor) => x.mul(-2);

function langevinOnce(sde: Sde, seed: number, t: number, name = 'langevin') {
  const update = getCorrector(name, { sde, scoreFn: score, generator: generator(seed), snr: 0.16, nSteps: 1 });
  const x = tensor([[1, -2, 0.5], [0.3, 0.1, -1]], { dtype: 'float64' });
  return update(x, full([2], t, { dtype: 'float64' }));
}

describe('correctors', () => {
  it('Langevin step: x + ε·s + √(2ε)·z with ε = 2α(snr·mean‖z‖/mean‖s‖)², α = 1 − βᵢ (VP) or 1 (VE)', () => {
    tidy(() => {
      const vp = new VPSDE();
      const t = 0.5;
      const { x, xMean } = langevinOnce(vp, 5, t);
      const x0 = [[1, -2, 0.5], [0.3, 0.1, -1]];
      const s = x0.map((r) => r.map((v) => -2 * v));
      const z = f64(x).map((v, i) => v - f64(xMean)[i]); // = √(2ε)·z
      const i = Math.floor(t * 999);
      const beta = 0.1 / 1000 + ((20 - 0.1) / 1000) * (i / 999);
      const norm = (r: number[]) => Math.hypot(...r);
      const sNorm = (norm(s[0]) + norm(s[1])) / 2;
      // ε from the identity √(2ε)·z = x − xMean: mean‖z‖ = mean‖x − xMean‖/√(2ε) ⇒ solve for ε.
      const dNorm = (norm(z.slice(0, 3)) + norm(z.slice(3))) / 2;
      // ε = 2α snr² (dNorm/√(2ε))² / sNorm² ⇒ ε² = α snr² dNorm² / sNorm²
      const eps = Math.sqrt(1 - beta) * 0.16 * dNorm / sNorm;
      f64(xMean).forEach((v, k) => expect(v).toBeCloseTo(x0.flat()[k] + eps * s.flat()[k], 10));
      const ve = langevinOnce(new VESDE(), 5, t);
      const sVe = f64(ve.xMean).map((v, k) => (v - x0.flat()[k]) / s.flat()[k]);
      sVe.forEach((e) => expect(e).toBeCloseTo(eps / (1 - beta), 10)); // α = 1 with the same draws: ε_VE = ε_VP/α
    });
  });

  it('subVP Langevin uses the VP discretisation α (the references crash here): same update as VP', () => {
    tidy(() => {
      for (const t of [1e-3, 0.37, 1]) {
        for (const name of ['langevin', 'ald']) {
          const a = langevinOnce(new VPSDE(), 9, t, name);
          const b = langevinOnce(new SubVPSDE(), 9, t, name);
          if (name === 'langevin') expect(f64(b.x)).toEqual(f64(a.x));
          else expect(f64(b.x)).not.toEqual(f64(a.x)); // ALD also scales by the (different) marginal std
        }
      }
    });
  });

  it('none predictor/corrector pass the state through', () => {
    tidy(() => {
      const sde = new VPSDE();
      const x = tensor([[1, 2]], { dtype: 'float64' });
      const t = full([1], 0.5, { dtype: 'float64' });
      expect(getCorrector('none', { sde, scoreFn: score, generator: generator(1), snr: 0.16, nSteps: 1 })(x, t).x).toBe(x);
      const p = getPredictor('none', { sde, scoreFn: score, rsde: sde.reverse(score), probabilityFlow: false, generator: generator(1) });
      expect(p(x, t).xMean).toBe(x);
    });
  });
});
