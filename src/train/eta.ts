/**
 * The training ETA as a pure function of the schedule and measured (or estimated) costs:
 *
 *   eta = remaining steps × s/step + remaining evals × eval + remaining samplings × sampling
 *         + remaining checkpoint saves × save
 *
 * The counts follow the training loop (trainer.ts): after step s an eval when s % eval_freq = 0, a resume
 * point when s % snapshot_freq_for_preemption = 0, a snapshot checkpoint (and, with snapshot_sampling, a
 * sample batch) when s % snapshot_freq = 0 or s = n_iters, and one last resume point at the end of the run
 * unless its step already has one. s/step excludes the other phases, so that each is counted once.
 */
import { argError } from '../errors.js';

/** Where a run stands and what its loop will do. */
export interface TrainSchedule {
  /** Steps done. */
  step: number;
  /**
   * The last step whose phases (eval, saves, snapshot) are done (default `step`): a progress tick comes
   * right after a step and before its phases, with `phasesDone = step − 1`.
   */
  phasesDone?: number;
  /** Step at which this run stops (n_iters, or earlier with --steps). */
  end: number;
  nIters: number;
  evalFreq: number;
  snapshotFreq: number;
  preemptionFreq: number;
  snapshotSampling: boolean;
}

/** How many of each phase are still to come. */
export interface RemainingWork { steps: number; evals: number; samplings: number; saves: number }

/** Seconds per phase; undefined when neither measured nor estimable (counted as 0, see EtaEstimate.unknown). */
export interface PhaseCosts { step?: number; eval?: number; sampling?: number; save?: number }

export interface EtaEstimate {
  /** Seconds until the run ends. */
  seconds: number;
  /** Seconds of each kind of work in `seconds`. */
  parts: { steps: number; evals: number; samplings: number; saves: number };
  /** Phases still to come whose cost is not known yet (left out of `seconds`). */
  unknown: (keyof RemainingWork)[];
  /** The costs it was computed from. */
  costs: PhaseCosts;
}

/** Multiples of `freq` in (from, to]. */
export function multiplesBetween(from: number, to: number, freq: number): number {
  if (!(Number.isInteger(freq) && freq > 0)) argError('freq', 'a positive integer', freq);
  return to > from ? Math.floor(to / freq) - Math.floor(from / freq) : 0;
}

export function remainingWork(s: TrainSchedule): RemainingWork {
  if (!(Number.isInteger(s.step) && s.step >= 0)) argError('step', 'a non-negative integer', s.step);
  if (!(Number.isInteger(s.end) && s.end >= 0 && s.end <= s.nIters)) argError('end', `an integer in [0, n_iters = ${s.nIters}]`, s.end);
  const { step, end } = s;
  const from = s.phasesDone ?? step;
  if (!(Number.isInteger(from) && from <= step && from >= step - 1)) argError('phasesDone', `${step} or ${step - 1} (step or step − 1)`, from);
  if (end <= from) return { steps: 0, evals: 0, samplings: 0, saves: 0 };
  const finalSnapshot = end === s.nIters && end % s.snapshotFreq !== 0 ? 1 : 0;
  const snapshots = multiplesBetween(from, end, s.snapshotFreq) + finalSnapshot;
  const finalMeta = end % s.preemptionFreq !== 0 ? 1 : 0;
  return {
    steps: Math.max(0, end - step),
    evals: multiplesBetween(from, end, s.evalFreq),
    samplings: s.snapshotSampling ? snapshots : 0,
    saves: snapshots + multiplesBetween(from, end, s.preemptionFreq) + finalMeta,
  };
}

const COST_OF: Record<keyof RemainingWork, keyof PhaseCosts> = { steps: 'step', evals: 'eval', samplings: 'sampling', saves: 'save' };

export function estimateEta(work: RemainingWork, costs: PhaseCosts): EtaEstimate {
  const parts = { steps: 0, evals: 0, samplings: 0, saves: 0 };
  const unknown: (keyof RemainingWork)[] = [];
  for (const k of Object.keys(parts) as (keyof RemainingWork)[]) {
    const cost = costs[COST_OF[k]];
    if (work[k] === 0) continue;
    if (cost === undefined || !Number.isFinite(cost)) unknown.push(k);
    else parts[k] = work[k] * cost;
  }
  return { seconds: parts.steps + parts.evals + parts.samplings + parts.saves, parts, unknown, costs };
}

/**
 * Seconds of a sample batch before one was timed: its network calls × the training forward's time scaled
 * by batch size (the forward cost grows about linearly with the batch; a no-grad forward costs about what
 * the training forward does, which also builds the autograd graph, so this errs on the long side).
 */
export function estimateSamplingSeconds(networkCalls: number, forwardSeconds: number, sampleBatch: number, trainBatch: number): number {
  return networkCalls * forwardSeconds * (sampleBatch / trainBatch);
}
