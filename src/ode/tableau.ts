/**
 * Explicit Runge–Kutta methods as data (Butcher tableaux) and the registry that names them. The one
 * controller in `solve.ts` runs any of them; nothing here knows about tensors.
 */
import { ScoreflowError } from '../errors.js';

export interface ButcherTableau {
  readonly name: string;
  /** Order of the propagated solution. */
  readonly order: number;
  /** Stage nodes cᵢ (c₀ = 0). */
  readonly c: readonly number[];
  /** Strictly lower-triangular stage coefficients; row i has i entries. */
  readonly a: readonly (readonly number[])[];
  /** Weights of the propagated solution. */
  readonly b: readonly number[];
  /**
   * Error weights E (b − b̂ of the embedded pair) over the stages plus, when `fsal`, one more entry for
   * f(t+h, y_new). Absent for fixed-step-only methods.
   */
  readonly errorWeights?: readonly number[];
  /** Order of the error estimator: the error of a step is O(h^(errorOrder+1)). */
  readonly errorOrder?: number;
  /** First Same As Last: the derivative at the accepted point is the next step's first stage. */
  readonly fsal: boolean;
}

/** Dormand–Prince 5(4), with scipy's RK45 error weights (the 7th entry multiplies f(t+h, y_new)). */
export const DOPRI5: ButcherTableau = {
  name: 'rk45',
  order: 5,
  c: [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1],
  a: [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
  ],
  b: [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
  errorWeights: [-71 / 57600, 0, 71 / 16695, -71 / 1920, 17253 / 339200, -22 / 525, 1 / 40],
  errorOrder: 4,
  fsal: true,
};

export const EULER: ButcherTableau = { name: 'euler', order: 1, c: [0], a: [[]], b: [1], fsal: false };

/** Heun's method (explicit trapezoid), order 2. */
export const HEUN: ButcherTableau = { name: 'heun', order: 2, c: [0, 1], a: [[], [1]], b: [1 / 2, 1 / 2], fsal: false };

/** The classical 4th-order Runge–Kutta method. */
export const RK4: ButcherTableau = {
  name: 'rk4',
  order: 4,
  c: [0, 1 / 2, 1 / 2, 1],
  a: [[], [1 / 2], [0, 1 / 2], [0, 0, 1]],
  b: [1 / 6, 1 / 3, 1 / 3, 1 / 6],
  fsal: false,
};

const REGISTRY = new Map<string, ButcherTableau>();

/** Adds a method to the registry (names are case-insensitive). Validates the tableau's shape and consistency. */
export function registerTableau(t: ButcherTableau): void {
  const s = t.c.length;
  const bad = (why: string): never => { throw new ScoreflowError('ERR_ARG', `tableau '${t.name}': ${why}`); };
  if (s === 0 || t.a.length !== s || t.b.length !== s) bad('c, a and b must have one entry per stage');
  t.a.forEach((row, i) => {
    if (row.length !== i) bad(`row ${i} of a must have ${i} entries`);
    const sum = row.reduce((p, q) => p + q, 0);
    if (Math.abs(sum - t.c[i]) > 1e-12) bad(`row ${i} of a must sum to c[${i}]`);
  });
  if (Math.abs(t.b.reduce((p, q) => p + q, 0) - 1) > 1e-12) bad('b must sum to 1');
  if (t.errorWeights) {
    if (t.errorWeights.length !== s + (t.fsal ? 1 : 0)) bad('errorWeights must have one entry per stage (+1 when fsal)');
    if (t.errorOrder === undefined) bad('errorOrder is required with errorWeights');
  }
  if (t.fsal && t.c[s - 1] !== 1) bad('an FSAL method must have c_last = 1');
  REGISTRY.set(t.name.toLowerCase(), t);
}

for (const t of [DOPRI5, EULER, HEUN, RK4]) registerTableau(t);
REGISTRY.set('dopri5', DOPRI5);

export function getTableau(name: string): ButcherTableau {
  const t = REGISTRY.get(String(name).toLowerCase());
  if (!t) throw new ScoreflowError('ERR_ARG', `method: expected one of ${[...REGISTRY.keys()].join(', ')}, received '${name}'`);
  return t;
}

export function tableauNames(): string[] { return [...REGISTRY.keys()]; }
