import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { tensor, type Tensor } from '../../src/tensor.js';
import { tidy } from '../../src/scope.js';
import { odeSolve, nextAfter, getTableau, registerTableau, type OdeStepInfo } from '../../src/ode/index.js';
import { ScoreflowError } from '../../src/errors.js';

interface Case {
  problem: 'linear' | 'logistic'; t0: number; t1: number; rtol: number; atol: number; nfev: number; nsteps: number;
  y: number[]; ts: number[]; y0?: number[]; exact?: number[];
}
const ref = JSON.parse(readFileSync(new URL('./scipy-reference.json', import.meta.url), 'utf8')) as {
  A: number[][]; y0: number[]; r: number[]; cases: Case[];
};
const f64 = (t: Tensor) => Array.from(t.toArray() as Float64Array);

const A = () => tensor(new Float64Array(ref.A.flat()), { shape: [3, 3] });
// y' = A y on a column vector stored flat.
const linear = (a: Tensor) => (_t: number, y: Tensor) => a.matmul(y.reshape([3, 1])).reshape([3]);
const r = () => tensor(new Float64Array(ref.r));
const logistic = (rate: Tensor) => (_t: number, y: Tensor) => rate.mul(y).mul(y.neg().add(1));
const logisticExact = (t: number) => ref.r.map((ri) => 0.1 / (0.1 + 0.9 * Math.exp(-ri * t)));

describe('odeSolve (adaptive RK45, scipy conventions)', () => {
  for (const c of ref.cases) {
    it(`${c.problem} ${c.t0}→${c.t1} rtol=${c.rtol} atol=${c.atol}: same steps, nfev and result as scipy`, () => {
      tidy(() => {
        const fn = c.problem === 'linear' ? linear(A()) : logistic(r());
        const y0 = tensor(new Float64Array(c.problem === 'linear' ? ref.y0 : c.y0!));
        const ts: number[] = [c.t0];
        const res = odeSolve(fn, y0, c.t0, c.t1, { rtol: c.rtol, atol: c.atol, onStep: (s: OdeStepInfo) => { ts.push(s.t); } });
        expect(res.nfe).toBe(c.nfev);
        expect(res.nSteps).toBe(c.nsteps);
        expect(res.t).toBe(c.t1);
        // Same decisions; values agree to rounding (the error estimate cancels, so its last bits differ from numpy's).
        ts.forEach((t, i) => expect(Math.abs(t - c.ts[i])).toBeLessThan(1e-8 * Math.max(1, Math.abs(t))));
        const y = f64(res.y);
        y.forEach((v, i) => expect(Math.abs(v - c.y[i])).toBeLessThan(1e-9));
        // Global error against the closed form is of the order of the tolerances.
        const exact = c.problem === 'linear' ? c.exact! : logisticExact(c.t1);
        const tol = 50 * (c.atol + c.rtol * Math.max(1, ...exact.map(Math.abs))); // |y| along the path is ≲ 1–2
        y.forEach((v, i) => expect(Math.abs(v - exact[i])).toBeLessThan(tol));
        expect(f64(y0)).toEqual(c.problem === 'linear' ? ref.y0 : c.y0); // input untouched
      });
    });
  }

  it('float32 state, tight tolerances: converges to float32 precision', () => {
    tidy(() => {
      const y0 = tensor([0.1, 0.1, 0.1], { dtype: 'float32' });
      const res = odeSolve(logistic(r().to('float32')), y0, 0, 3, { rtol: 1e-5, atol: 1e-6 });
      expect(res.y.dtype).toBe('float32');
      Array.from(res.y.toArray() as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(logisticExact(3)[i], 4));
    });
  });

  it('t0 = t1 returns a copy with no evaluations', () => {
    tidy(() => {
      const y0 = tensor(new Float64Array([1, 2]));
      const res = odeSolve((_t, y) => y, y0, 1, 1);
      expect(res.nfe).toBe(0);
      expect(res.y).not.toBe(y0);
      expect(f64(res.y)).toEqual([1, 2]);
    });
  });

  it('an RHS returning its input (y\' = y) is handled and accurate', () => {
    tidy(() => {
      const res = odeSolve((_t, y) => y, tensor(new Float64Array([1])), 0, 1, { rtol: 1e-8, atol: 1e-10 });
      expect(f64(res.y)[0]).toBeCloseTo(Math.E, 7);
    });
  });
});

describe('odeSolve errors', () => {
  it('finite-time blow-up y\' = y² from y(0)=1 to t=2 ends in ERR_ODE (underflow or non-finite)', () => {
    tidy(() => {
      let err: unknown;
      try { odeSolve((_t, y) => y.square(), tensor(new Float64Array([1])), 0, 2, { rtol: 1e-6, atol: 1e-9 }); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(ScoreflowError);
      expect((err as ScoreflowError).code).toBe('ERR_ODE');
      expect((err as Error).message).toMatch(/t=0\.99|t=1(\D|$)|underflow|non-finite/);
    });
  });

  it('a NaN right-hand side is reported as non-finite', () => {
    tidy(() => {
      expect(() => odeSolve((t, y) => (t > 0.5 ? y.mul(NaN) : y.mul(-1)), tensor(new Float64Array([1, 2])), 0, 1))
        .toThrow(/non-finite/);
      expect(() => odeSolve((_t, y) => y.mul(NaN), tensor(new Float64Array([1])), 0, 1)).toThrow(/non-finite initial/);
      expect(() => odeSolve((_t, y) => y.mul(NaN), tensor(new Float64Array([1])), 0, 1, { method: 'rk4', steps: 4 }))
        .toThrow(/non-finite state/);
    });
  });

  it('maxSteps, unknown methods, fixed methods without steps, bad tableaux', () => {
    tidy(() => {
      const y0 = tensor(new Float64Array([1]));
      expect(() => odeSolve((_t, y) => y.neg(), y0, 0, 100, { maxSteps: 3, rtol: 1e-10, atol: 1e-12 })).toThrow(/too many steps/);
      expect(() => odeSolve((_t, y) => y, y0, 0, 1, { method: 'nope' })).toThrow(/rk45/);
      expect(() => odeSolve((_t, y) => y, y0, 0, 1, { method: 'rk4' })).toThrow(/steps/);
      expect(() => registerTableau({ name: 'bad', order: 1, c: [0, 1], a: [[], [0.5]], b: [0.5, 0.5], fsal: false })).toThrow(/sum to c/);
    });
  });

  it('nextAfter steps one ulp', () => {
    expect(nextAfter(1, 1)).toBe(1 + 2 ** -52);
    expect(nextAfter(1, -1)).toBe(1 - 2 ** -53);
    expect(nextAfter(-1, 1)).toBe(-1 + 2 ** -53);
    expect(nextAfter(0, 1)).toBe(Number.MIN_VALUE);
  });
});

describe('fixed-step methods: empirical convergence order on y\' = Ay', () => {
  for (const [name, order] of [['euler', 1], ['heun', 2], ['rk4', 4], ['rk45', 5]] as const) {
    it(`${name} has order ${order} (${getTableau(name).c.length} stages)`, () => {
      tidy(() => {
        const exact = ref.cases[0].exact!; // e^{2A} y0
        const fn = linear(A());
        const y0 = tensor(new Float64Array(ref.y0));
        const errAt = (n: number) => {
          const res = odeSolve(fn, y0, 0, 2, { method: name, steps: n });
          const tab = getTableau(name);
          expect(res.nfe).toBe(tab.fsal ? 1 + n * (tab.c.length - 1 + 1) : n * tab.c.length);
          return Math.hypot(...f64(res.y).map((v, i) => v - exact[i]));
        };
        const n = name === 'euler' ? 200 : name === 'rk45' ? 10 : 20;
        const p = Math.log2(errAt(n) / errAt(2 * n));
        expect(p).toBeGreaterThan(order - 0.25);
        expect(p).toBeLessThan(order + 0.6);
      });
    });
  }

  it('integrates backwards with fixed steps and reports every step', () => {
    tidy(() => {
      const ts: number[] = [];
      const res = odeSolve(logistic(r()), tensor(new Float64Array(logisticExact(2))), 2, 0, { method: 'rk4', steps: 40, onStep: (s) => ts.push(s.t) });
      expect(ts.length).toBe(40);
      expect(ts[39]).toBe(0);
      f64(res.y).forEach((v) => expect(v).toBeCloseTo(0.1, 5));
    });
  });
});
