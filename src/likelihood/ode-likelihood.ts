/**
 * Exact likelihood by the probability-flow ODE (spec §5.1; score_sde_pytorch/score_flow `likelihood.py`).
 * The augmented state [flatten(x), Δ] (float64 by default) is integrated from eps to T with drift
 * f̃ = f − ½g²s and d Δ/dt = ∇·f̃ (Hutchinson estimate with one probe per batch, or exact); then
 * log p_eps(x) = log p_T(z) + Δ and bpd = −(log p_T(z) + Δ)/(D ln 2) + offset.
 */
import { argError, checkInt } from '../errors.js';
import { tidy } from '../scope.js';
import { cat, full, zeros, type Tensor } from '../tensor.js';
import type { DType } from '../host-tensor.js';
import type { Generator } from '../random.js';
import { odeSolve, type OdeStepInfo } from '../ode/index.js';
import type { ScoreFn, Sde } from '../sde/types.js';
import { drawProbe, valueAndDivergence } from './divergence.js';
import { bitsPerDim, type OffsetSpec } from './bits.js';

export interface OdeLikelihoodOptions {
  /** Lower integration time (default 1e-5, score_sde_pytorch; score_flow uses training.smallest_time). */
  eps?: number;
  rtol?: number;
  atol?: number;
  /** ODE method (default 'rk45'); fixed-step methods need `steps`. */
  method?: string;
  steps?: number;
  /** 'rademacher' (default), 'gaussian', or 'exact' (D VJPs per evaluation: small inputs only). */
  hutchinson?: string;
  /** Draws the probe (required unless hutchinson = 'exact'). */
  generator?: Generator;
  /** dtype of the integrated state (default float64, as the references' numpy state). */
  odeDtype?: DType;
  /**
   * Examples per network call (default: the whole batch). The solve stays one system over the batch; only
   * its right-hand side is evaluated chunk by chunk, each chunk's autograd graph freed before the next.
   */
  chunk?: number;
  /** Dequantisation offset in bits/dim (default 'centered' = 7). */
  offset?: OffsetSpec;
  onStep?: (info: OdeStepInfo) => void;
}

export interface OdeLikelihoodResult {
  /** Bits/dim per example, [B] (odeDtype). */
  bpd: Tensor;
  /** Latent z = x(T), shaped like x (odeDtype). */
  z: Tensor;
  /** ∫_eps^T ∇·f̃ dt per example, [B]. */
  deltaLogp: Tensor;
  /** log p_T(z) per example, [B]. */
  priorLogp: Tensor;
  nfe: number;
  nSteps: number;
}

/** The probability-flow drift f − ½g²s of `sde` (shaped like x). */
export function probabilityFlowDrift(sde: Sde, scoreFn: ScoreFn): (x: Tensor, t: Tensor) => Tensor {
  const rsde = sde.reverse(scoreFn, { probabilityFlow: true });
  return (x, t) => rsde.sde(x, t).drift;
}

/**
 * The right-hand side of the augmented ODE: state [flatten(x), Δ] (odeDtype) → [flatten(f̃), ∇·f̃], the
 * field evaluated in the model's dtype, `chunk` examples per evaluation of the field (default all).
 */
export function augmentedRhs(drift: (x: Tensor, t: Tensor) => Tensor, shape: number[], probe: Tensor | 'exact',
  modelDtype: DType, odeDtype: DType, device: string, chunk = shape[0]!): (t: number, state: Tensor) => Tensor {
  const B = shape[0]!;
  const n = shape.reduce((a, b) => a * b, 1);
  checkInt('chunk', chunk, 1);
  return (t, state) => {
    const xs = state.slice(0, 0, n).reshape(shape).to(modelDtype);
    const vt = full([B], t, { dtype: modelDtype, device });
    const parts: { value: Tensor; div: Tensor }[] = [];
    for (let i = 0; i < B; i += chunk) {
      const j = Math.min(B, i + chunk);
      const part = j - i === B ? () => valueAndDivergence(drift, xs, vt, probe)
        : () => valueAndDivergence(drift, xs.slice(0, i, j), vt.slice(0, i, j), probe === 'exact' ? probe : probe.slice(0, i, j));
      parts.push(tidy(part)); // this chunk's graph and intermediates go before the next chunk runs
    }
    const value = parts.length === 1 ? parts[0]!.value : cat(parts.map((p) => p.value));
    const div = parts.length === 1 ? parts[0]!.div : cat(parts.map((p) => p.div));
    return cat([value.reshape([n]).to(odeDtype), div.to(odeDtype)]);
  };
}

/** Bits/dim of x ([B, ...], in the model's dtype and scale) under the probability-flow ODE of (sde, scoreFn). */
export function odeLikelihood(scoreFn: ScoreFn, sde: Sde, x: Tensor, opts: OdeLikelihoodOptions = {}): OdeLikelihoodResult {
  const eps = opts.eps ?? 1e-5;
  if (!(eps >= 0 && eps < sde.T)) argError('eps', `a number in [0, T=${sde.T})`, eps);
  const kind = opts.hutchinson ?? 'rademacher';
  const exact = String(kind).toLowerCase() === 'exact';
  if (!exact && !opts.generator) argError('generator', 'a Generator for the Hutchinson probe', opts.generator);
  const odeDtype = opts.odeDtype ?? 'float64';
  const modelDtype = x.dtype;
  const shape = x.shape;
  const B = shape[0];
  const n = x.numel;
  const D = n / B;
  const drift = probabilityFlowDrift(sde, scoreFn);

  return tidy(() => {
    const probe = exact ? 'exact' : drawProbe(kind, shape, { dtype: modelDtype, device: x.device, generator: opts.generator! });
    const rhs = augmentedRhs(drift, shape, probe, modelDtype, odeDtype, x.device, opts.chunk ?? B);
    const init = cat([x.reshape([n]).to(odeDtype), zeros([B], { dtype: odeDtype, device: x.device })]);
    const res = odeSolve(rhs, init, eps, sde.T, {
      method: opts.method, steps: opts.steps, rtol: opts.rtol ?? 1e-5, atol: opts.atol ?? 1e-5, onStep: opts.onStep,
    });
    const z = res.y.slice(0, 0, n).reshape(shape);
    const deltaLogp = res.y.slice(0, n, n + B);
    const priorLogp = sde.priorLogp(z);
    const bpd = bitsPerDim(priorLogp.add(deltaLogp).neg(), D, opts.offset);
    return { bpd, z: z.contiguous(), deltaLogp: deltaLogp.contiguous(), priorLogp, nfe: res.nfe, nSteps: res.nSteps };
  });
}
