/**
 * Divergence ∇ₓ·F(x, t) of a vector field per example: Hutchinson–Skilling estimates εᵀ(∂F/∂x)ε from one
 * vector–Jacobian product (probe kinds in a registry), or the exact trace by one VJP per data dimension
 * (small inputs only). The field is evaluated with autograd enabled and everything returned is detached.
 */
import { argError } from '../errors.js';
import { enableGrad, grad } from '../autograd.js';
import { randn, rademacher, type Generator } from '../random.js';
import { arange, zeros, type Tensor } from '../tensor.js';
import type { DType } from '../host-tensor.js';
import type { Device } from '../native.js';

export type VectorField = (x: Tensor, t: Tensor) => Tensor;

export interface ProbeOptions { dtype: DType; device: Device; generator: Generator }
type ProbeSampler = (shape: number[], o: ProbeOptions) => Tensor;

const PROBES = new Map<string, ProbeSampler>([
  ['rademacher', (shape, o) => rademacher(shape, o)],
  ['gaussian', (shape, o) => randn(shape, o)],
]);

/** Hutchinson probe kinds ('rademacher', 'gaussian'); names are case-insensitive like the references'. */
export function registerProbe(name: string, sampler: ProbeSampler): void { PROBES.set(name.toLowerCase(), sampler); }
export function probeNames(): string[] { return [...PROBES.keys()]; }

/** A probe ε of `shape` (drawn once and reused along an ODE trajectory). */
export function drawProbe(kind: string, shape: number[], o: ProbeOptions): Tensor {
  const s = PROBES.get(String(kind).toLowerCase());
  if (!s) argError('hutchinson', `one of ${[...PROBES.keys(), 'exact'].join(', ')}`, kind);
  return s(shape, o);
}

const perExample = (v: Tensor): Tensor => v.reshape([v.shape[0], -1]).sum(1);

/**
 * F(x, t) and its divergence per example ([B]). With a probe ε: εᵀ∇ₓ(F·ε) via one VJP (unbiased; exact for
 * Rademacher probes when ∂F/∂x is diagonal). With `probe = 'exact'`: Σᵢ ∂Fᵢ/∂xᵢ via D VJPs.
 */
export function valueAndDivergence(field: VectorField, x: Tensor, t: Tensor, probe: Tensor | 'exact'): { value: Tensor; div: Tensor } {
  return enableGrad(() => {
    const xg = x.detach().requiresGrad_();
    const value = field(xg, t);
    const B = x.shape[0];
    // A field that does not depend on x (e.g. the VE drift, zeros) has zero divergence.
    if (!value.requiresGrad) return { value: value.detach(), div: zeros([B], { dtype: value.dtype, device: value.device }) };
    if (probe !== 'exact') {
      const [vjp] = grad(value, xg, { gradOutputs: [probe], allowUnused: true });
      return { value: value.detach(), div: vjp ? perExample(vjp.mul(probe)).detach() : zeros([B], { dtype: value.dtype, device: value.device }) };
    }
    const D = x.numel / Math.max(B, 1);
    const idx = arange(0, D, 1, { device: x.device });
    let div: Tensor | null = null;
    for (let i = 0; i < D; i++) {
      const e = idx.eq(i).to(value.dtype).reshape([1, ...x.shape.slice(1)]).expand(value.shape);
      const [vjp] = grad(value, xg, { gradOutputs: [e], retainGraph: i < D - 1, allowUnused: true });
      if (!vjp) break;
      const di = vjp.reshape([B, D]).select(1, i);
      div = div ? div.add(di) : di;
    }
    return { value: value.detach(), div: (div ?? value.reshape([B, -1]).sum(1).mul(0)).detach() };
  });
}
