import { describe, expect, it } from 'vitest';
import { generator } from '../../src/random.js';
import { tidy, memoryStats } from '../../src/scope.js';
import { createSde, getScoreFn, type ModelFn } from '../../src/sde/index.js';
import { continuousDsmLoss, getLossFn, jacobianVectorProduct, type LossConfig } from '../../src/losses/index.js';
import { G, arr, batch, f64, maxRelErr, noise, probe, times, tinyNet } from './fixtures.js';

const cfg = (order: number, lw = false): LossConfig => ({
  continuous: true, likelihood_weighting: lw, importance_weighting: false, reduce_mean: true,
  score_matching_order: order, smallest_time: 1e-5,
});
const inputs = () => ({ generator: generator(0), t: times(), z: noise(), v: probe() });

describe('high-order DSM terms against an analytic-Jacobian float64 transcription of mle_score_ode', () => {
  for (const g of G.jax.high_order) {
    it(`${g.sde}: Jv, order-2 and order-3 per-example terms, first-order term under both weightings`, () => {
      tidy(() => {
        const sde = createSde(g.sde);
        const { net } = tinyNet();
        // Jv by the double-backward trick vs J·v from the analytic Jacobian
        const score = getScoreFn(sde, net, { continuous: true });
        const x = batch();
        const t = times();
        const { mean, std } = sde.marginalProb(x, t);
        const xt = mean.add(std.reshape([4, 1, 1, 1]).mul(noise())).detach().requiresGrad_();
        expect(maxRelErr(arr(jacobianVectorProduct(score(xt, t), xt, probe())), g.Jv, 1e-3)).toBeLessThan(1e-10);

        for (const lw of [false, true]) {
          const r2 = getLossFn(sde, cfg(2, lw))(net, x, inputs());
          expect(maxRelErr(arr(r2.perExample.loss1), lw ? g.loss1_likelihood : g.loss1_original)).toBeLessThan(1e-8);
          expect(maxRelErr(arr(r2.perExample.loss2), g.loss2)).toBeLessThan(1e-9);
          expect(arr(r2.perExample.loss3)).toEqual([0, 0, 0, 0]);
          const total = r2.terms.loss1.item() + r2.terms.loss2.item();
          expect(r2.loss.item()).toBeCloseTo(total, 6);
        }
        const r3 = getLossFn(sde, cfg(3))(net, x, inputs());
        expect(maxRelErr(arr(r3.perExample.loss1), g.loss1_original)).toBeLessThan(1e-8);
        expect(maxRelErr(arr(r3.perExample.loss2), g.loss2)).toBeLessThan(1e-9);
        expect(maxRelErr(arr(r3.perExample.loss3), g.loss3)).toBeLessThan(1e-9);
        const m = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
        expect(r3.terms.loss3.item() / m(g.loss3) - 1).toBeLessThan(1e-9);
      });
    });
  }
});

/** A model whose *value* is frozen at θ0 but whose derivatives (in x and θ) are those of θ': sg(h) made explicit. */
function frozenValue(netTheta: ModelFn, net0: ModelFn): ModelFn {
  return (x, l) => {
    const y = netTheta(x, l);
    return y.sub(y.detach()).add(net0(x, l).detach());
  };
}

describe('gradients of the high-order losses', () => {
  it('order 2: d(loss)/d(param) equals central finite differences (float64, h held fixed as the stop-gradient says)', () => {
    tidy(() => {
      const sde = createSde('vpsde');
      const base = tinyNet();
      const fn2 = getLossFn(sde, cfg(2));
      const fn1 = getLossFn(sde, cfg(1));
      const r = fn2(base.net, batch(), inputs());
      r.loss.backward();
      const grads = Object.fromEntries(Object.entries(base.params).map(([k, p]) => [k, arr(p.grad!)]));

      // L(θ') = L1(θ') + L2(θ'; h frozen at θ0)
      const lossAt = (k: string, i: number, delta: number, freeze: boolean) => tidy(() => {
        const values = [...G.params[k]];
        values[i] += delta;
        const pert = tinyNet({ [k]: values });
        const l1 = fn1(pert.net, batch(), inputs()).terms.loss1.item();
        const model = freeze ? frozenValue(pert.net, tinyNet().net) : pert.net;
        return l1 + fn2(model, batch(), inputs()).terms.loss2.item();
      });
      let worstUnfrozen = 0;
      for (const [k, idx] of [['W1', [0, 7, 33, 89]], ['b1', [0, 4]], ['c1', [1, 3]], ['W2', [2, 50, 89]], ['a', [0, 17]]] as const) {
        for (const i of idx) {
          const h = 1e-6 * Math.max(1, Math.abs(G.params[k][i]));
          const fd = (lossAt(k, i, h, true) - lossAt(k, i, -h, true)) / (2 * h);
          const ad = grads[k][i];
          expect(Math.abs(fd - ad)).toBeLessThan(1e-6 * Math.max(1, Math.abs(ad)));
          const fdRaw = (lossAt(k, i, h, false) - lossAt(k, i, -h, false)) / (2 * h);
          worstUnfrozen = Math.max(worstUnfrozen, Math.abs(fdRaw - ad) / Math.max(1, Math.abs(ad)));
        }
      }
      // without the stop-gradient on h the derivative would differ: the detach() is really in effect
      expect(worstUnfrozen).toBeGreaterThan(1e-4);
    });
  });

  it('order 3: third-order autodiff reaches every parameter; finite; nothing leaks across steps', () => {
    const before = memoryStats().liveHandles;
    for (const sde of ['vpsde', 'subvpsde', 'vesde']) {
      tidy(() => {
        const { net, params } = tinyNet();
        const r = getLossFn(createSde(sde), { ...cfg(3, true), importance_weighting: true })(net, batch(), { generator: generator(4) });
        r.terms.loss3.backward();
        // L3 depends on θ only through ∇ₓ(vᵀJv); the linear a⊙x term has a constant Jacobian, so `a` gets none
        for (const k of ['W1', 'b1', 'c1', 'W2']) expect(params[k].grad!.isfinite().all().item()).toBe(1);
        expect(params.a.grad?.abs().sum().item() ?? 0).toBe(0);
        expect(params.W1.grad!.abs().sum().item()).toBeGreaterThan(0);
        expect(params.c1.grad!.abs().sum().item()).toBeGreaterThan(0);
      });
    }
    expect(memoryStats().liveHandles).toBeLessThanOrEqual(before + 16);
  });

  it('order 3: the third-order parameter gradient of L3 equals a first-order gradient through the analytic ∇ₓ(vᵀJv)', () => {
    tidy(() => {
      const sde = createSde('vpsde');
      const { net, params } = tinyNet();
      const r3 = getLossFn(sde, cfg(3))(net, batch(), inputs());
      r3.terms.loss3.backward();
      const auto = Object.fromEntries(['W1', 'b1', 'c1', 'W2'].map((k) => [k, arr(params[k].grad!)]));
      for (const p of Object.values(params)) p.zeroGrad();

      // Independent route: ∇ₓ(vᵀJv) written out for s = −net/std (tanh MLP), differentiated once in θ.
      const B = 4, D = 18;
      const t = times();
      const std = sde.marginalStd(t).reshape([B, 1]);
      const xt = sde.meanCoef(t).reshape([B, 1]).mul(batch().reshape([B, D])).add(std.mul(noise().reshape([B, D])));
      const v = probe().reshape([B, D]);
      const { W1, b1, c1, W2 } = params;
      const hh = xt.matmul(W1).add(b1).add(t.mul(999).reshape([B, 1]).mul(c1)).tanh();
      const dh = hh.square().neg().add(1);
      const p = v.matmul(W1);
      const q = v.matmul(W2.transpose(0, 1));
      const c = std.reciprocal().neg();
      const gradDiv = q.mul(p).mul(hh.mul(dh).mul(-2)).matmul(W1.transpose(0, 1)).mul(c);
      const g = G.jax.high_order[0];
      const Jv = f64(g.Jv, [B, D]);
      const div = f64(g.vJv, [B, 1]);
      const score = net(xt.reshape([B, 2, 3, 3]), t.mul(999)).reshape([B, D]).mul(c).detach();
      const h = std.mul(score).add(noise().reshape([B, D]));
      const hv = h.mul(v).sum(1, true);
      const v2 = v.mul(v).sum(1, true);
      const s2 = std.square();
      const e = gradDiv.mul(s2.mul(std)).add(h.mul(hv.square())).sub(h.mul(div.mul(s2).add(v2)))
        .sub(Jv.mul(s2).add(v).mul(hv.mul(2)));
      const L3 = e.div(D).square().mean(1).mean();
      expect(L3.item() / r3.terms.loss3.item() - 1).toBeLessThan(1e-9);
      L3.backward();
      for (const k of ['W1', 'b1', 'c1', 'W2']) {
        expect(maxRelErr(auto[k], arr(params[k].grad!), 1e-8)).toBeLessThan(1e-8);
        expect(Math.max(...auto[k].map(Math.abs))).toBeGreaterThan(1e-6);
      }
    });
  });

  it('draws v from the generator after t and z (Rademacher), reproducibly', () => {
    tidy(() => {
      const fn = continuousDsmLoss(createSde('vesde'), { weighting: 'original', reduceMean: true, eps: 1e-5, continuous: true, train: true, order: 2 });
      const { net } = tinyNet();
      const a = fn(net, batch(), { generator: generator(21) }).loss.item();
      const b = fn(net, batch(), { generator: generator(21) }).loss.item();
      const c = fn(net, batch(), { generator: generator(21), v: probe() }).loss.item();
      expect(a).toBe(b);
      expect(c).not.toBe(a);
    });
  });
});
