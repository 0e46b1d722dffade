/**
 * The clock of a training run, for its progress line (eta.ts): the step time without the phases between
 * steps (evals, checkpoint saves, snapshot sampling), each phase's measured durations, and the training
 * forward's time, from which a phase not yet timed is estimated. The first step is left out of the step
 * time: it carries one-off costs (allocator warm-up, the first batch read while nothing overlaps it).
 */
import { estimateEta, estimateSamplingSeconds, remainingWork, type EtaEstimate, type PhaseCosts, type TrainSchedule } from './eta.js';

/** Phases between steps, timed and left out of the step time. */
export type Phase = 'eval' | 'save' | 'sampling';

/** What the estimates of untimed phases need. */
export interface ClockPlan {
  /** Network calls of one snapshot sample batch (undefined: not known in advance, e.g. the adaptive ODE sampler). */
  samplingCalls?: number;
  sampleBatch: number;
  trainBatch: number;
}

/** Mean of the values after the first when there are several (the first carries warm-up costs). */
class Durations {
  private first = NaN;
  private sum = 0;
  private n = 0;
  add(seconds: number): void {
    if (Number.isNaN(this.first)) { this.first = seconds; return; }
    this.sum += seconds;
    this.n += 1;
  }
  mean(): number | undefined {
    if (this.n > 0) return this.sum / this.n;
    return Number.isNaN(this.first) ? undefined : this.first;
  }
}

export class TrainClock {
  private start: number;
  /** Seconds spent in phases since start. */
  private inPhases = 0;
  private depth = 0;
  private steps = 0;
  /** Step seconds (wall − phases) at the end of the first step. */
  private afterFirst = 0;
  private readonly phases: Record<Phase, Durations> = { eval: new Durations(), save: new Durations(), sampling: new Durations() };
  private readonly forwards = new Durations();

  constructor(private readonly plan: ClockPlan, private readonly now: () => number = () => performance.now()) {
    this.start = now();
  }

  /** Restarts the step time (a run starts). */
  restart(): void {
    this.start = this.now();
    this.inPhases = 0;
    this.steps = 0;
    this.afterFirst = 0;
  }

  /** Runs `fn` as a phase between steps: its duration is recorded and left out of the step time. */
  phase<T>(name: Phase, fn: () => T): T {
    const t0 = this.now();
    this.depth += 1;
    const end = () => {
      this.depth -= 1;
      const secs = (this.now() - t0) / 1000;
      this.phases[name].add(secs);
      if (this.depth === 0) this.inPhases += secs; // a nested phase is inside its outer one's time already
    };
    let r: T;
    try {
      r = fn();
    } catch (e) {
      end();
      throw e;
    }
    if (r instanceof Promise) return r.finally(end) as T;
    end();
    return r;
  }

  /** Runs the training forward, timing it (it is part of the step: not left out). */
  forward<T>(fn: () => T): T {
    const t0 = this.now();
    const r = fn();
    this.forwards.add((this.now() - t0) / 1000);
    return r;
  }

  /** Marks the end of a step. */
  stepDone(): void {
    this.steps += 1;
    if (this.steps === 1) this.afterFirst = this.stepSeconds();
  }

  /** Seconds of step work since the run started: wall time minus the phases. */
  stepSeconds(): number {
    return (this.now() - this.start) / 1000 - this.inPhases;
  }

  /** Seconds per step, phases excluded (the first step alone until there is a second). */
  secondsPerStep(): number | undefined {
    if (this.steps === 0) return undefined;
    return this.steps === 1 ? this.afterFirst : (this.stepSeconds() - this.afterFirst) / (this.steps - 1);
  }

  /** Measured costs; an untimed eval or sampling is estimated from the training forward (see estimateSamplingSeconds). */
  costs(): PhaseCosts {
    const fwd = this.forwards.mean();
    const { samplingCalls, sampleBatch, trainBatch } = this.plan;
    return {
      step: this.secondsPerStep(),
      // An eval is one forward of a training-sized batch (without the graph: this errs on the long side).
      eval: this.phases.eval.mean() ?? fwd,
      sampling: this.phases.sampling.mean() ??
        (fwd !== undefined && samplingCalls !== undefined ? estimateSamplingSeconds(samplingCalls, fwd, sampleBatch, trainBatch) : undefined),
      save: this.phases.save.mean(),
    };
  }

  estimate(schedule: TrainSchedule): EtaEstimate {
    return estimateEta(remainingWork(schedule), this.costs());
  }
}
