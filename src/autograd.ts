/** Autograd beyond `backward()`: vector–Jacobian products (double backward included) and grad modes. */
import { addon } from './native.js';
import { argError } from './errors.js';
import { Tensor } from './tensor.js';

const native = addon();

export interface GradOptions {
  /** Seeds of the vector–Jacobian product, one per output (default: ones for scalar outputs). */
  gradOutputs?: Tensor[];
  /** Record the graph of the derivative itself, for higher-order derivatives. */
  createGraph?: boolean;
  /** Keep the graph for another pass (defaults to createGraph, like PyTorch). */
  retainGraph?: boolean;
  /** Return null for inputs the outputs do not depend on instead of throwing. */
  allowUnused?: boolean;
}

function tensorList(name: string, v: unknown): Tensor[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((t) => t instanceof Tensor)) {
    argError(name, 'a non-empty array of Tensors', v);
  }
  return v as Tensor[];
}

function gradArgs(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], o: GradOptions) {
  const outs = tensorList('outputs', Array.isArray(outputs) ? outputs : [outputs]);
  const ins = tensorList('inputs', Array.isArray(inputs) ? inputs : [inputs]);
  const seeds = o.gradOutputs ? tensorList('gradOutputs', o.gradOutputs) : null;
  if (seeds && seeds.length !== outs.length) argError('gradOutputs', `${outs.length} tensors (one per output)`, seeds.length);
  return [outs, ins, seeds, o.retainGraph ?? null, o.createGraph ?? false, o.allowUnused ?? false] as const;
}

/** d(outputs)/d(inputs) contracted with gradOutputs: Σᵢ gradOutputsᵢᵀ ∂outputsᵢ/∂inputs. */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], opts: GradOptions = {}): (Tensor | null)[] {
  return native.autogradGrad(...gradArgs(outputs, inputs, opts)) as (Tensor | null)[];
}

/** `grad` on libuv's thread pool. */
export async function gradAsync(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], opts: GradOptions = {}): Promise<(Tensor | null)[]> {
  return (await native.autogradGradAsync(...gradArgs(outputs, inputs, opts))) as (Tensor | null)[];
}

/** `loss.backward()` on libuv's thread pool. */
export function backwardAsync(loss: Tensor, gradient?: Tensor, retainGraph = false): Promise<void> {
  return native.backwardAsync(loss, gradient ?? null, retainGraph);
}

function withGradMode<T>(on: boolean, fn: () => T): T {
  const prev = native.setGradEnabled(on);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

/** Runs `fn` without recording operations for autograd (synchronous code only: grad mode is per thread). */
export function noGrad<T>(fn: () => T): T { return withGradMode(false, fn); }
/** Runs `fn` with recording on, e.g. a Hutchinson divergence inside an otherwise no-grad evaluation. */
export function enableGrad<T>(fn: () => T): T { return withGradMode(true, fn); }
export function isGradEnabled(): boolean { return native.isGradEnabled(); }
