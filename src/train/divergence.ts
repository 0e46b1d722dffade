/**
 * Divergence: training produced non-finite numbers. It is caught before the bad state can become a resume
 * point (a non-finite loss or gradient norm stops the step before the update; a non-finite weight stops
 * a save), and the error names the step whose state is bad so that resume points at it can be set aside.
 */
import type { ReferenceCheckpoint } from '../formats/reference-checkpoint.js';
import type { HostTensor } from '../host-tensor.js';
import { ScoreflowError } from '../errors.js';

export class DivergenceError extends ScoreflowError {
  /** `step`: updates done when it was found, i.e. the state after them is not usable. */
  constructor(readonly step: number, readonly what: string) {
    super('ERR_NUMERIC', `${what} at step ${step}`);
    this.name = 'DivergenceError';
  }
}

function finite(t: HostTensor | null): boolean {
  const d = t?.data;
  if (!(d instanceof Float32Array || d instanceof Float64Array)) return true;
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) return false;
  return true;
}

/** Throws DivergenceError if any weight, EMA weight or Adam moment of a captured state is NaN or ±Inf. */
export function assertFiniteState(ck: ReferenceCheckpoint): void {
  const key = [...ck.model].find(([, t]) => !finite(t))?.[0];
  const bad = (key !== undefined ? `the weight ${key}` : undefined)
    ?? (ck.ema.shadowParams.some((t) => !finite(t)) ? 'the EMA weights' : undefined)
    ?? ([...ck.optimizer.expAvg, ...ck.optimizer.expAvgSq].some((t) => !finite(t)) ? 'the Adam moments' : undefined);
  if (bad !== undefined) throw new DivergenceError(ck.step, `non-finite values in ${bad}`);
}
