// The training ETA on synthetic timings: the phase counts follow the training loop, and the clock leaves
// the phases out of the step time.
import { describe, expect, it } from 'vitest';
import { estimateEta, estimateSamplingSeconds, multiplesBetween, remainingWork, type TrainSchedule } from '../../src/train/eta.js';
import { TrainClock } from '../../src/train/train-clock.js';

// The README main job (configs/fmnist_small.json).
const MAIN: TrainSchedule = { step: 0, end: 400, nIters: 400, evalFreq: 50, snapshotFreq: 200, preemptionFreq: 100, snapshotSampling: true };

const code = (f: () => unknown): string | undefined => { try { f(); } catch (e) { return (e as { code?: string }).code; } return undefined; };

describe('remainingWork', () => {
  it('counts what the main job has left at its start, mid-way and at its last tick', () => {
    expect(remainingWork(MAIN)).toEqual({ steps: 400, evals: 8, samplings: 2, saves: 6 });
    // After step 260's tick, before its phases (none at 260): evals at 300, 350, 400; snapshot 400; resume points 300, 400.
    expect(remainingWork({ ...MAIN, step: 260, phasesDone: 259 })).toEqual({ steps: 140, evals: 3, samplings: 1, saves: 3 });
    // At step 200's tick its own eval, snapshot (save + sampling) and resume point are still to come.
    expect(remainingWork({ ...MAIN, step: 200, phasesDone: 199 })).toEqual({ steps: 200, evals: 5, samplings: 2, saves: 5 });
    expect(remainingWork({ ...MAIN, step: 200 })).toEqual({ steps: 200, evals: 4, samplings: 1, saves: 3 });
    expect(remainingWork({ ...MAIN, step: 400, phasesDone: 399 })).toEqual({ steps: 0, evals: 1, samplings: 1, saves: 2 });
    expect(remainingWork({ ...MAIN, step: 400 })).toEqual({ steps: 0, evals: 0, samplings: 0, saves: 0 });
  });

  it('adds the snapshot at n_iters and the last resume point off the frequencies; --steps ends earlier', () => {
    const odd = { ...MAIN, nIters: 450, end: 450 };
    // Snapshots at 200, 400 and 450 (n_iters); resume points at 100..400 and a last one at 450.
    expect(remainingWork(odd)).toEqual({ steps: 450, evals: 9, samplings: 3, saves: 3 + 4 + 1 });
    // --steps 120: no snapshot at 120 (not n_iters), resume points at 100 and the last at 120.
    expect(remainingWork({ ...MAIN, end: 120 })).toEqual({ steps: 120, evals: 2, samplings: 0, saves: 2 });
    expect(remainingWork({ ...MAIN, snapshotSampling: false })).toMatchObject({ samplings: 0, saves: 6 });
  });

  it('rejects impossible schedules, naming the argument', () => {
    expect(code(() => remainingWork({ ...MAIN, end: 401 }))).toBe('ERR_ARG');
    expect(code(() => remainingWork({ ...MAIN, step: -1 }))).toBe('ERR_ARG');
    expect(code(() => remainingWork({ ...MAIN, step: 10, phasesDone: 5 }))).toBe('ERR_ARG');
    expect(code(() => multiplesBetween(0, 10, 0))).toBe('ERR_ARG');
    expect(() => multiplesBetween(0, 10, 0)).toThrow(/freq/);
    expect(multiplesBetween(0, 10, 5)).toBe(2);
    expect(multiplesBetween(5, 10, 5)).toBe(1);
    expect(multiplesBetween(10, 5, 5)).toBe(0);
  });
});

describe('estimateEta', () => {
  it('sums each remaining phase times its cost', () => {
    const e = estimateEta({ steps: 150, evals: 3, samplings: 1, saves: 3 }, { step: 1.45, eval: 0.5, sampling: 150, save: 0.2 });
    expect(e.parts.steps).toBeCloseTo(217.5, 12);
    expect(e.parts).toMatchObject({ evals: 1.5, samplings: 150 });
    expect(e.parts.saves).toBeCloseTo(0.6, 12);
    expect(e.seconds).toBeCloseTo(217.5 + 1.5 + 150 + 0.6, 12);
    expect(e.unknown).toEqual([]);
  });

  it('leaves out and names the phases whose cost is unknown; phases not to come need no cost', () => {
    const e = estimateEta({ steps: 10, evals: 1, samplings: 0, saves: 2 }, { step: 2, eval: 1 });
    expect(e.seconds).toBe(21);
    expect(e.unknown).toEqual(['saves']);
    expect(estimateEta({ steps: 10, evals: 0, samplings: 0, saves: 0 }, {}).unknown).toEqual(['steps']);
  });

  it('estimates an untimed sampling from the training forward, scaled by batch', () => {
    // 200 PC steps, one network call each; forward of a 16-batch 0.1 s; a 32-image snapshot batch.
    expect(estimateSamplingSeconds(200, 0.1, 32, 16)).toBeCloseTo(40, 12);
  });
});

describe('TrainClock', () => {
  it('leaves phases out of the step time, skips the first step, and measures the phases', async () => {
    let t = 0; // ms
    const clock = new TrainClock({ samplingCalls: 200, sampleBatch: 64, trainBatch: 64 }, () => t);
    expect(clock.secondsPerStep()).toBeUndefined();
    expect(clock.costs()).toEqual({ step: undefined, eval: undefined, sampling: undefined, save: undefined });
    const step = (ms: number, forwardMs: number) => { clock.forward(() => { t += forwardMs; }); t += ms - forwardMs; clock.stepDone(); };
    step(5000, 2000); // the first step: warm-up
    expect(clock.secondsPerStep()).toBe(5);
    step(1500, 500);
    step(1500, 500);
    // Before any sampling: 200 calls × 0.5 s (the forwards after the first) × 64/64.
    expect(clock.costs().sampling).toBeCloseTo(100, 12);
    expect(clock.costs().eval).toBeCloseTo(0.5, 12); // one training-sized forward
    clock.phase('eval', () => { t += 800; });
    await clock.phase('sampling', async () => { t += 120_000; });
    clock.phase('save', () => { t += 300; });
    step(1500, 500);
    expect(clock.secondsPerStep()).toBeCloseTo(1.5, 12);
    expect(clock.stepSeconds()).toBeCloseTo(5 + 3 * 1.5, 12);
    expect(clock.costs()).toEqual({ step: 1.5, eval: 0.8, sampling: 120, save: 0.3 });
    expect(() => clock.phase('save', () => { t += 100; throw new Error('disk full'); })).toThrow('disk full');
    expect(clock.stepSeconds()).toBeCloseTo(5 + 3 * 1.5, 12); // a failed phase is left out too
    clock.phase('save', () => { t += 500; });
    expect(clock.costs().save).toBeCloseTo((0.1 + 0.5) / 2, 12); // the mean after the first

    const e = clock.estimate({ ...MAIN, step: 4, phasesDone: 4 });
    expect(e.parts.steps).toBeCloseTo(396 * 1.5, 9);
    expect(e.parts.samplings).toBeCloseTo(2 * 120, 9);
    expect(e.parts.evals).toBeCloseTo(8 * 0.8, 9);

    clock.restart();
    expect(clock.secondsPerStep()).toBeUndefined();
    expect(clock.costs().sampling).toBe(120); // phase measurements outlive a restart
  });

  it('has no sampling estimate for a sampler of unknown length (ODE)', () => {
    let t = 0;
    const clock = new TrainClock({ sampleBatch: 64, trainBatch: 64 }, () => t);
    clock.forward(() => { t += 100; });
    clock.stepDone();
    expect(clock.costs().sampling).toBeUndefined();
    expect(clock.estimate(MAIN).unknown).toEqual(['samplings', 'saves']);
  });
});
