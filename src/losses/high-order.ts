/**
 * High-order denoising score matching (Lu et al. 2022; mle_score_ode `get_sde_loss_fn(score_matching_order)`,
 * spec §2.4). With D data dims, v a Rademacher probe, J = ∂s/∂x at x_t and h = std·sg(s) + z:
 *
 * Order 2:  frob  = ‖std²·Jv + v − (h·v)·h‖² / D²     (square, ÷D, then mean over D)
 *           trace = ((std²·vᵀJv + ‖v‖² − (h·v)²) / D)²
 *           L2 = trace + frob; gradients flow through Jv and vᵀJv, not through h.
 * Order 3:  e  = std³·∇ₓ(vᵀJv) + (h·v)²·h − (std²·sg(vᵀJv) + ‖v‖²)·h − 2(v·h)·(std²·sg(Jv) + v)
 *           L3 = mean_D((e/D)²) = ‖e‖²/D³   [quirk of the reference: D³, not D²]
 *
 * libtorch has no forward-mode JVP through arbitrary modules here, so Jv uses the double-backward trick:
 * with a dummy u, g(u) = Jᵀu = grad(s, x, u) (createGraph), then Jv = grad(g, u, v) (createGraph) — exact,
 * and differentiable w.r.t. x and the parameters. ∇ₓ(vᵀJv) = grad(Σ v·Jv, x) (createGraph), so the
 * parameter gradient of L3 is third-order autodiff.
 */
import { grad } from '../autograd.js';
import { ScoreflowError } from '../errors.js';
import { dataDims } from '../sde/base.js';
import type { ScoreFn } from '../sde/types.js';
import { zeros, zerosLike, type Tensor } from '../tensor.js';

export interface HighOrderContext {
  scoreFn: ScoreFn;
  /** x_t (no gradient needed; a leaf requiring grad is made from it). */
  xt: Tensor;
  t: Tensor;
  z: Tensor;
  /** marginal std [B]. */
  std: Tensor;
  /** Rademacher probe shaped like x_t. */
  v: Tensor;
}

export interface HighOrderTerms {
  /** The differentiable score at x_t (feeds the first-order term). */
  score: Tensor;
  /** Per-example L2 [B]. */
  loss2: Tensor;
  /** Per-example L3 [B] (zeros for order 2). */
  loss3: Tensor;
}

/** Jv for s = f(x): the double-backward trick. Zero when s does not depend on x. */
export function jacobianVectorProduct(s: Tensor, x: Tensor, v: Tensor): Tensor {
  const u = zerosLike(s).requiresGrad_();
  const [vjp] = grad(s, x, { gradOutputs: [u], createGraph: true, allowUnused: true });
  if (!vjp || !vjp.requiresGrad) return zerosLike(s);
  const [jv] = grad(vjp, u, { gradOutputs: [v], createGraph: true, allowUnused: true });
  return jv ?? zerosLike(s);
}

/** ∇ₓ f for a scalar f (createGraph), zeros when f does not depend on x. */
function gradOrZeros(f: Tensor, x: Tensor): Tensor {
  if (!f.requiresGrad) return zerosLike(x);
  const [g] = grad(f, x, { createGraph: true, allowUnused: true });
  return g ?? zerosLike(x);
}

/** Row-wise inner product of [B, D] tensors, kept as [B, 1]. */
function inner(a: Tensor, b: Tensor): Tensor {
  return a.mul(b).sum(1, true);
}

interface Shared {
  D: number;
  std1: Tensor; // [B,1]
  std2: Tensor; // [B,1]
  vf: Tensor; // [B,D]
  h: Tensor; // [B,D]
  hv: Tensor; // [B,1]
  v2: Tensor; // [B,1]
  jv: Tensor; // [B,D]
  div: Tensor; // [B,1] = vᵀJv
}

function shared(ctx: HighOrderContext, score: Tensor, jvFull: Tensor): Shared {
  const B = ctx.xt.shape[0];
  const D = dataDims(ctx.xt);
  const std1 = ctx.std.reshape([B, 1]);
  const vf = ctx.v.reshape([B, D]);
  const h = ctx.z.reshape([B, D]).add(score.detach().reshape([B, D]).mul(std1));
  const jv = jvFull.reshape([B, D]);
  return { D, std1, std2: std1.square(), vf, h, hv: inner(h, vf), v2: inner(vf, vf), jv, div: inner(jv, vf) };
}

/** L2 per example: trace + Frobenius parts. */
function secondOrder(s: Shared): Tensor {
  const frob = s.jv.mul(s.std2).add(s.vf).sub(s.hv.mul(s.h)).square().div(s.D).mean(1);
  const trace = s.div.mul(s.std2).add(s.v2).sub(s.hv.square()).div(s.D).square().reshape([-1]);
  return trace.add(frob);
}

/** L3 per example (the D³ normalisation of the reference). */
function thirdOrder(s: Shared, gradDiv: Tensor): Tensor {
  const B = s.h.shape[0];
  const div = s.div.detach();
  const jv = s.jv.detach();
  const e = gradDiv.reshape([B, s.D]).mul(s.std2.mul(s.std1))
    .add(s.h.mul(s.hv.square()))
    .sub(s.h.mul(div.mul(s.std2).add(s.v2)))
    .sub(jv.mul(s.std2).add(s.vf).mul(s.hv.mul(2)));
  return e.div(s.D).square().mean(1);
}

const ORDERS: Record<number, (ctx: HighOrderContext) => HighOrderTerms> = {
  2: (ctx) => {
    const x = ctx.xt.detach().requiresGrad_();
    const score = ctx.scoreFn(x, ctx.t);
    const s = shared(ctx, score, jacobianVectorProduct(score, x, ctx.v));
    return { score, loss2: secondOrder(s), loss3: zeros([ctx.xt.shape[0]], { dtype: ctx.xt.dtype, device: ctx.xt.device }) };
  },
  3: (ctx) => {
    const x = ctx.xt.detach().requiresGrad_();
    const score = ctx.scoreFn(x, ctx.t);
    const jvFull = jacobianVectorProduct(score, x, ctx.v);
    const gradDiv = gradOrZeros(jvFull.mul(ctx.v).sum(), x);
    const s = shared(ctx, score, jvFull);
    return { score, loss2: secondOrder(s), loss3: thirdOrder(s, gradDiv) };
  },
};

export function supportedOrders(): number[] {
  return [1, ...Object.keys(ORDERS).map(Number)];
}

/** The L2/L3 terms of high-order DSM (order 2 or 3). */
export function highOrderTerms(order: number, ctx: HighOrderContext): HighOrderTerms {
  const fn = ORDERS[order];
  if (!fn) throw new ScoreflowError('ERR_CONFIG', `score_matching_order ${order} has no high-order terms (expected 2 or 3)`);
  return fn(ctx);
}
