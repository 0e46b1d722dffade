import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readReferenceCheckpoint } from '../../src/formats/reference-checkpoint.js';
import { tinyTrainer, train } from './tiny-trainer.js';
import { StepHealth } from '../../src/train/step-health.js';
import { assertFiniteState } from '../../src/train/divergence.js';
import { tensor } from '../../src/tensor.js';
import { tidy } from '../../src/scope.js';
import type { ReferenceCheckpoint } from '../../src/formats/reference-checkpoint.js';
import type { HostTensor } from '../../src/host-tensor.js';

const finite = (path: string) => {
  const ck = readReferenceCheckpoint(path);
  return { step: ck.step, finite: [...ck.model.values(), ...ck.ema.shadowParams].every((h) => (h.data as Float32Array).every(Number.isFinite)) };
};

describe('divergence', () => {
  it('a divergence never replaces the last good resume point: a re-run with a corrected config continues from before it', async () => {
    const w = mkdtempSync(join(tmpdir(), 'sf-diverge-'));
    await train(w, ['training.n_iters=3']);
    const t = tinyTrainer(w, ['training.n_iters=10', 'optim.lr=1e6'], { allowChanges: ['optim.lr'] });
    t.resume();
    const err = await t.run().then(() => undefined, (e: Error & { code?: string }) => e);
    t.dispose();
    expect(err?.code).toBe('ERR_NUMERIC');
    // Resumed at 3, one update with lr 1e6 saved as step 4 (finite, huge), whose loss is NaN.
    expect(err!.message).toContain(`training diverged: the training loss is NaN at step 4. The resume point at step 4 was set aside as ` +
      `${t.resumePoints.diverged}; a re-run resumes from step 3, ${t.resumePoints.newest}.`);
    expect(finite(t.resumePoints.newest)).toEqual({ step: 3, finite: true });
    expect(readReferenceCheckpoint(t.resumePoints.diverged).step).toBe(4);
    // The original lr is the config step 3 was trained with: no --allow-change needed.
    const again = await train(w, ['training.n_iters=12']);
    expect(again.resumed).toMatchObject({ step: 3, changes: [{ path: 'training.n_iters', from: 3, to: 12 }] });
    expect(again.result.step).toBe(12);
  });

  it('a fresh run that diverges at once keeps no resume point, and says the re-run starts over', async () => {
    const w = mkdtempSync(join(tmpdir(), 'sf-diverge0-'));
    await expect(train(w, ['training.n_iters=20', 'optim.lr=1e30', 'optim.grad_clip=-1'])).rejects.toThrow(
      /^training diverged: the training loss is NaN at step 1\. The resume point at step 1 was set aside as .*; no earlier resume point is kept, so a re-run starts from step 0\./);
    const t = tinyTrainer(w, ['training.n_iters=20']);
    expect(t.resumePoints.pick()).toBeUndefined();
    t.dispose();
  });
});

describe('divergence checks', () => {
  it('StepHealth remembers the first non-finite loss or gradient norm on the device and reports it at check()', () => {
    const h = new StepHealth();
    const note = (step: number, loss: number, grad: number) => tidy(() => h.note(step, tensor(new Float32Array([loss])).reshape([]), tensor(new Float32Array([grad])).reshape([])));
    note(0, 0.5, 1.2);
    note(1, 0.4, 0.9);
    expect(() => h.check()).not.toThrow();
    note(2, 0.3, Number.POSITIVE_INFINITY);
    note(3, Number.NaN, Number.NaN); // later bad steps do not replace the first
    expect(() => h.check()).toThrow(expect.objectContaining({ code: 'ERR_NUMERIC', step: 2, message: 'the gradient norm is Infinity at step 2' }));
    h.dispose();
    const h2 = new StepHealth();
    tidy(() => h2.note(5, tensor(new Float32Array([Number.NaN])).reshape([]), tensor(new Float32Array([Number.NaN])).reshape([])));
    expect(() => h2.check()).toThrow(expect.objectContaining({ step: 5, message: 'the training loss is NaN at step 5' }));
    h2.dispose();
  });

  it('a state with non-finite weights, EMA weights or moments is refused, naming what', () => {
    const h = (xs: number[]): HostTensor => ({ dtype: 'float32', shape: [xs.length], data: new Float32Array(xs) });
    const ck = (w: number, e: number, m: number): ReferenceCheckpoint => ({
      model: new Map([['a.weight', h([1])], ['b.weight', h([w])]]), step: 9,
      ema: { decay: 0.9, numUpdates: 9, shadowParams: [h([e])] },
      optimizer: { step: [9], expAvg: [h([m])], expAvgSq: [null], paramGroups: [] },
    });
    expect(() => assertFiniteState(ck(1, 1, 1))).not.toThrow();
    expect(() => assertFiniteState(ck(Infinity, 1, 1))).toThrow('non-finite values in the weight b.weight at step 9');
    expect(() => assertFiniteState(ck(1, NaN, 1))).toThrow('non-finite values in the EMA weights');
    expect(() => assertFiniteState(ck(1, 1, NaN))).toThrow(expect.objectContaining({ step: 9, message: 'non-finite values in the Adam moments at step 9' }));
  });
});
