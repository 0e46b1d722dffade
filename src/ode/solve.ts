/**
 * One ODE controller for every tableau: adaptive steps with an embedded error estimate (scipy's
 * `solve_ivp` RK45 conventions) or fixed steps. The state is a Tensor and stays on its device; time is a
 * float64 JS number. An adaptive step attempt synchronises with the host exactly once (its error norm,
 * which also detects non-finite states); fixed steps never synchronise until a final finiteness check.
 */
import { ScoreflowError, argError, checkInt } from '../errors.js';
import { noGrad, enableGrad } from '../autograd.js';
import { stack, type Tensor } from '../tensor.js';
import { tidy } from '../scope.js';
import { getTableau, type ButcherTableau } from './tableau.js';

/** Right-hand side y' = fn(t, y). Must return a new tensor of y's shape (it may live in fn's own scope). */
export type OdeFn = (t: number, y: Tensor) => Tensor;

export interface OdeStepInfo {
  /** Time reached by the accepted step. */
  t: number;
  /** Signed step just taken. */
  h: number;
  /** State at `t` (owned by the solver: read it, clone it, but do not dispose it). */
  y: Tensor;
  nfe: number;
  nSteps: number;
  /** RMS error norm of the accepted step (adaptive methods; < 1). */
  errorNorm?: number;
}

export interface OdeOptions {
  /** A registered tableau name ('rk45' default, 'euler', 'heun', 'rk4') or a tableau. */
  method?: string | ButcherTableau;
  /** Relative tolerance (default 1e-3 like scipy; raised to 100·machine-eps when smaller). */
  rtol?: number;
  /** Absolute tolerance: a number or a tensor broadcastable to y (default 1e-6). */
  atol?: number | Tensor;
  /** Fixed-step mode: this many equal steps from t0 to t1 (required for methods without an error estimate). */
  steps?: number;
  /** Initial |h| for adaptive stepping (default: Hairer's selection, as scipy). */
  firstStep?: number;
  /** Largest |h| for adaptive stepping (default ∞). */
  maxStep?: number;
  /** Give up with ERR_ODE after this many step attempts (default 100 000). */
  maxSteps?: number;
  /** Called after every accepted step. */
  onStep?: (info: OdeStepInfo) => void;
  /** Record autograd through the solve (default false: the solve runs under noGrad). */
  grad?: boolean;
}

export interface OdeResult {
  /** State at `t` (= t1 on success), a new tensor owned by the caller. */
  y: Tensor;
  t: number;
  /** Right-hand-side evaluations, counted like scipy's nfev. */
  nfe: number;
  /** Accepted steps. */
  nSteps: number;
  /** Rejected step attempts (adaptive only). */
  nRejected: number;
}

const SAFETY = 0.9;
const MIN_FACTOR = 0.2;
const MAX_FACTOR = 10;
const EPS = 2 ** -52;

/** The next float64 after `x` towards `dir`·∞. */
export function nextAfter(x: number, dir: number): number {
  if (Number.isNaN(x)) return x;
  if (x === 0) return dir > 0 ? Number.MIN_VALUE : -Number.MIN_VALUE;
  const f = new Float64Array([x]);
  const i = new BigInt64Array(f.buffer);
  i[0] += (x > 0) === (dir > 0) ? 1n : -1n;
  return f[0];
}

const rms = (x: Tensor): Tensor => x.square().mean().sqrt();

/** y + h·Σⱼ wⱼKⱼ (zero weights skipped). */
function combine(y: Tensor, k: Tensor[], w: readonly number[], h: number): Tensor {
  let acc = y;
  for (let j = 0; j < w.length; j++) if (w[j] !== 0) acc = acc.axpy(k[j], h * w[j]);
  return acc === y ? y.clone() : acc;
}

/** Σⱼ wⱼKⱼ. */
function weighted(k: Tensor[], w: readonly number[]): Tensor {
  let acc: Tensor | null = null;
  for (let j = 0; j < w.length; j++) {
    if (w[j] === 0) continue;
    acc = acc === null ? k[j].mul(w[j]) : acc.axpy(k[j], w[j]);
  }
  return acc ?? k[0].mul(0);
}

/** fn(t, y) as a tensor the solver owns (a returned alias of y is cloned). */
function evalFn(fn: OdeFn, t: number, y: Tensor): Tensor {
  return tidy(() => {
    const out = fn(t, y);
    return out === y ? y.clone() : out;
  });
}

interface StepOut { yNew: Tensor; fNew: Tensor | null; err: Tensor | null }

/** One Runge–Kutta step from (t, y) with first stage f; computes f(t+h, y_new) for FSAL methods. */
function rkStep(fn: OdeFn, tab: ButcherTableau, t: number, y: Tensor, f: Tensor, h: number,
  scale: ((yNew: Tensor) => Tensor) | null): StepOut {
  return tidy(() => {
    const k: Tensor[] = [f];
    for (let s = 1; s < tab.c.length; s++) k.push(evalFn(fn, t + tab.c[s] * h, combine(y, k, tab.a[s], h)));
    const yNew = combine(y, k, tab.b, h);
    const fNew = tab.fsal ? evalFn(fn, t + h, yNew) : null;
    if (fNew) k.push(fNew);
    let err: Tensor | null = null;
    if (scale && tab.errorWeights) err = rms(weighted(k, tab.errorWeights).mul(h).div(scale(yNew)));
    return { yNew, fNew, err };
  });
}

function odeError(msg: string): never { throw new ScoreflowError('ERR_ODE', msg); }

/** Hairer's initial step (scipy `select_initial_step`); two host synchronisations, one extra evaluation. */
function initialStep(fn: OdeFn, t0: number, y0: Tensor, f0: Tensor, dir: number, order: number,
  rtol: number, atol: number | Tensor): number {
  return tidy(() => {
    const scale = y0.abs().mul(rtol).add(atol);
    const [d0, d1] = Array.from(stack([rms(y0.div(scale)), rms(f0.div(scale))]).to('float64').toArray() as Float64Array);
    if (!Number.isFinite(d0) || !Number.isFinite(d1)) {
      odeError(`non-finite initial state or derivative at t=${t0} (|y|rms/scale=${d0}, |f|rms/scale=${d1})`);
    }
    const h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : (0.01 * d0) / d1;
    const f1 = fn(t0 + h0 * dir, y0.axpy(f0, h0 * dir));
    const d2 = rms(f1.sub(f0).div(scale)).item() / h0;
    const h1 = d1 <= 1e-15 && d2 <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : (0.01 / Math.max(d1, d2)) ** (1 / (order + 1));
    return Math.min(100 * h0, Number.isFinite(h1) ? h1 : 100 * h0);
  });
}

/**
 * Integrates y' = fn(t, y) from t0 to t1 (either direction). Adaptive by default (method 'rk45');
 * `steps` selects fixed steps. Throws ScoreflowError('ERR_ODE') on step-size underflow, a non-finite
 * state, or too many steps. `y0` is not modified or disposed.
 */
export function odeSolve(fn: OdeFn, y0: Tensor, t0: number, t1: number, opts: OdeOptions = {}): OdeResult {
  if (typeof fn !== 'function') argError('fn', 'a function (t, y) => Tensor', fn);
  if (!Number.isFinite(t0) || !Number.isFinite(t1)) argError('[t0, t1]', 'finite times', [t0, t1]);
  const tab = typeof opts.method === 'object' ? opts.method : getTableau(opts.method ?? 'rk45');
  const run = () => (opts.steps !== undefined || !tab.errorWeights ? fixed(fn, tab, y0, t0, t1, opts) : adaptive(fn, tab, y0, t0, t1, opts));
  return opts.grad ? enableGrad(run) : noGrad(run);
}

function fixed(fn: OdeFn, tab: ButcherTableau, y0: Tensor, t0: number, t1: number, opts: OdeOptions): OdeResult {
  if (opts.steps === undefined) argError('steps', `a number of steps (method '${tab.name}' has no error estimate)`, undefined);
  const n = checkInt('steps', opts.steps, 1);
  const h = (t1 - t0) / n;
  let y = y0;
  let f: Tensor | null = null;
  let nfe = 0;
  for (let i = 0; i < n; i++) {
    const t = i === 0 ? t0 : t0 + i * h;
    const tNext = i === n - 1 ? t1 : t0 + (i + 1) * h;
    if (!f) { f = evalFn(fn, t, y); nfe++; }
    const out = rkStep(fn, tab, t, y, f, tNext - t, null);
    nfe += tab.c.length - 1 + (out.fNew ? 1 : 0);
    if (y !== y0) y.dispose();
    f.dispose();
    y = out.yNew;
    f = out.fNew;
    opts.onStep?.({ t: tNext, h: tNext - t, y, nfe, nSteps: i + 1 });
  }
  f?.dispose();
  if (!tidy(() => y.isfinite().all().item())) odeError(`non-finite state after ${n} fixed ${tab.name} steps from t=${t0} to t=${t1}`);
  return { y, t: t1, nfe, nSteps: n, nRejected: 0 };
}

function adaptive(fn: OdeFn, tab: ButcherTableau, y0: Tensor, t0: number, t1: number, opts: OdeOptions): OdeResult {
  const rtol = Math.max(opts.rtol ?? 1e-3, 100 * EPS);
  const atol = opts.atol ?? 1e-6;
  if (typeof atol === 'number' && !(atol >= 0)) argError('atol', 'a non-negative number', atol);
  const maxStep = opts.maxStep ?? Infinity;
  const maxSteps = opts.maxSteps ?? 100_000;
  const dir = Math.sign(t1 - t0);
  if (dir === 0) return { y: y0.clone(), t: t0, nfe: 0, nSteps: 0, nRejected: 0 };
  const errExp = -1 / (tab.errorOrder! + 1);

  let t = t0;
  let y = y0;
  let f = evalFn(fn, t0, y0);
  let nfe = 1;
  let hAbs: number;
  if (opts.firstStep !== undefined) {
    if (!(opts.firstStep > 0) || opts.firstStep > Math.abs(t1 - t0)) argError('firstStep', `a step in (0, ${Math.abs(t1 - t0)}]`, opts.firstStep);
    hAbs = opts.firstStep;
  } else {
    hAbs = initialStep(fn, t0, y0, f, dir, tab.errorOrder!, rtol, atol);
    nfe++;
  }
  let nSteps = 0;
  let nRejected = 0;
  const release = () => { if (y !== y0) y.dispose(); f.dispose(); };
  try {
    while (dir * (t - t1) < 0) {
      const minStep = 10 * Math.abs(nextAfter(t, dir) - t);
      if (hAbs > maxStep) hAbs = maxStep;
      else if (hAbs < minStep) hAbs = minStep;
      let rejected = false;
      let nonFinite = false;
      for (;;) {
        if (hAbs < minStep) {
          odeError(nonFinite
            ? `non-finite state or derivative (NaN/Inf) near t=${t}: step size underflow (|h|=${hAbs}) while retrying`
            : `step size underflow at t=${t}: |h|=${hAbs} < ${minStep} (rtol=${rtol}); the problem may be stiff or singular`);
        }
        if (nSteps + nRejected >= maxSteps) odeError(`too many steps (${maxSteps}) at t=${t}, |h|=${hAbs}`);
        let tNew = t + hAbs * dir;
        if (dir * (tNew - t1) > 0) tNew = t1;
        const h = tNew - t;
        hAbs = Math.abs(h);
        const yOld = y;
        const out = rkStep(fn, tab, t, y, f, h, (yNew) => yOld.abs().maximum(yNew.abs()).mul(rtol).add(atol));
        nfe += tab.c.length - 1 + (out.fNew ? 1 : 0);
        const err = out.err!.item(); // the one host synchronisation of this attempt
        out.err!.dispose();
        if (Number.isFinite(err) && err < 1) {
          let factor = err === 0 ? MAX_FACTOR : Math.min(MAX_FACTOR, SAFETY * err ** errExp);
          if (rejected) factor = Math.min(1, factor);
          hAbs *= factor;
          const fNext = out.fNew ?? evalFn(fn, tNew, out.yNew);
          if (!out.fNew) nfe++;
          release();
          y = out.yNew;
          f = fNext;
          t = tNew;
          nSteps++;
          opts.onStep?.({ t, h, y, nfe, nSteps, errorNorm: err });
          break;
        }
        out.yNew.dispose();
        out.fNew?.dispose();
        nonFinite = !Number.isFinite(err);
        hAbs *= nonFinite ? MIN_FACTOR : Math.max(MIN_FACTOR, SAFETY * err ** errExp);
        rejected = true;
        nRejected++;
      }
    }
  } catch (e) {
    release();
    throw e;
  }
  f.dispose();
  return { y: y === y0 ? y0.clone() : y, t, nfe, nSteps, nRejected };
}
