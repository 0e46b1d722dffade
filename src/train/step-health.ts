/**
 * Divergence detection without a host synchronisation per step. Each step's loss and gradient norm are
 * checked on their device and the first non-finite one is remembered there (step, which, value); the
 * host reads that record only at the loop's sync points (logging, eval, before every save, the end), so
 * a GPU's queue never drains for it. Because every save checks first, a resume point never holds a
 * state past a divergence; the error still names the exact step it happened at.
 */
import { cat, full, where, type Tensor } from '../tensor.js';
import { tidy } from '../scope.js';
import { DivergenceError } from './divergence.js';

const WHAT = ['', 'the training loss', 'the gradient norm'] as const;

export class StepHealth {
  /** float64 [3] on the step's device: first bad step (−1: none), index into WHAT, the bad value. */
  private record: Tensor | undefined;

  /** Notes update `step` (0-based, before it is applied): its loss and pre-clipping gradient norm. */
  note(step: number, loss: Tensor, gradNorm: Tensor): void {
    const next = tidy(() => {
      const on = { dtype: 'float64', device: loss.device } as const;
      const l = loss.detach().to(loss.device, 'float64').reshape([1]);
      const g = gradNorm.detach().to(loss.device, 'float64').reshape([1]);
      const lossBad = l.isfinite().logicalNot();
      const bad = lossBad.logicalOr(g.isfinite().logicalNot());
      const now = cat([full([1], step, on), where(lossBad, full([1], 1, on), full([1], 2, on)), where(lossBad, l, g)]);
      const prev = this.record ?? full([3], -1, on);
      return where(bad.logicalAnd(prev.slice(0, 0, 1).lt(0)), now, prev).keep();
    });
    this.record?.dispose();
    this.record = next;
  }

  /** Throws DivergenceError for the first bad step noted so far (reads the device record: a sync). */
  check(): void {
    if (!this.record) return;
    const [step, what, value] = Array.from(this.record.toArray() as Float64Array);
    if (step! >= 0) throw new DivergenceError(step!, `${WHAT[what!]} is ${value}`);
  }

  dispose(): void {
    this.record?.dispose();
    this.record = undefined;
  }
}
