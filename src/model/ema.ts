/**
 * Exponential moving average of the parameters. Two conventions exist in the references:
 * - 'torch' (score_sde_pytorch): decay_n = min(rate, (1 + n)/(10 + n)) with n the update count (warm-up);
 * - 'jax' (score_sde / score_flow): the constant rate from the first step.
 * The update itself is the reference's op sequence (native emaUpdate), so results match bit for bit.
 */
import { addon } from '../native.js';
import { argError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { noGrad } from '../autograd.js';

export type EmaConvention = 'torch' | 'jax';

export class Ema {
  readonly shadow: Tensor[];
  numUpdates = 0;
  private backup?: Tensor[];

  constructor(params: Tensor[], readonly rate: number, readonly convention: EmaConvention = 'torch') {
    if (!(rate >= 0 && rate < 1)) argError('rate', 'a number in [0, 1)', rate);
    this.shadow = noGrad(() => params.map((p) => p.detach().clone().keep()));
  }

  /** The decay the next update will use. */
  nextDecay(): number {
    if (this.convention === 'jax') return this.rate;
    const n = this.numUpdates + 1;
    return Math.min(this.rate, (1 + n) / (10 + n));
  }

  update(params: Tensor[]): void {
    const decay = this.nextDecay();
    this.numUpdates += 1;
    addon().emaUpdate(this.shadow, params, decay);
  }

  /** Swaps the averaged weights into `params`, keeping the live ones for restore(). */
  store(params: Tensor[]): void {
    if (this.backup) throw new Error('Ema.store: already holding stored weights; call restore() first');
    this.backup = noGrad(() => params.map((p) => p.detach().clone().keep()));
    addon().copyAll(params, this.shadow);
  }

  restore(params: Tensor[]): void {
    if (!this.backup) throw new Error('Ema.restore: nothing stored');
    addon().copyAll(params, this.backup);
    for (const t of this.backup) t.dispose();
    this.backup = undefined;
  }

  /** Copies the averaged weights into `params` (evaluation with the EMA model). */
  copyTo(params: Tensor[]): void { addon().copyAll(params, this.shadow); }

  load(shadow: Tensor[], numUpdates: number): void {
    if (shadow.length !== this.shadow.length) argError('shadow', `${this.shadow.length} tensors`, shadow.length);
    addon().copyAll(this.shadow, shadow);
    this.numUpdates = numUpdates;
  }

  dispose(): void {
    for (const t of this.shadow) t.dispose();
    for (const t of this.backup ?? []) t.dispose();
  }
}
