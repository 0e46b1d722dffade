/**
 * Shared fixtures of the SDE/loss tests: the reference goldens (test/data/losses/reference_goldens.json) and
 * the tiny deterministic score network they were computed with:
 *   out = tanh(flat(x) @ W1 + b1 + float(labels)[:, None] * c1) @ W2 + flat(x) * a   (reshaped like x).
 * Goldens: `sp` = score_sde_pytorch @ cb1f359 run in float64 (torch 1.13) with t/z/labels injected;
 * `jax` = independent float64 numpy transcriptions of score_flow / mle_score_ode formulas (IS, high order).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tensor, type Tensor } from '../../src/tensor.js';
import type { ModelFn } from '../../src/sde/score-fn.js';

const here = dirname(fileURLToPath(import.meta.url));

export interface Goldens {
  meta: { B: number; shape: number[]; eps: number };
  params: Record<string, number[]>;
  param_shapes: Record<string, number[]>;
  x0: number[]; z: number[]; v: number[]; u: number[]; t: number[]; labels: number[];
  sp: {
    continuous: { sde: string; continuous: boolean; likelihood_weighting: boolean; reduce_mean: boolean; per_example: number[]; loss: number }[];
    discrete: { sde: string; reduce_mean: boolean; per_example: number[]; loss: number }[];
    sde: Record<string, Record<string, number[]> & {
      reverse_sde: Record<string, number[]>; reverse_ode: Record<string, number[]>;
    }>;
  };
  jax: {
    is: Record<string, {
      t_grid: number[]; F_jax: number[]; F_exact: number[]; Z_jax: number; Z_exact: number; q_frac: number[];
      t_jax: number[]; t_exact: number[]; weight_exact: number[];
    }>;
    lw_is: { sde: string; reduce_mean: boolean; quantile: number[]; t: number[]; per_example: number[]; loss: number }[];
    high_order: {
      sde: string; loss1_original: number[]; loss1_likelihood: number[]; loss2: number[]; loss2_trace: number[];
      loss2_frob: number[]; loss3: number[]; Jv: number[]; vJv: number[]; grad_div: number[];
    }[];
  };
}

export const G: Goldens = JSON.parse(readFileSync(join(here, '../data/losses/reference_goldens.json'), 'utf8'));

export const f64 = (v: number[], shape?: number[]): Tensor => tensor(Float64Array.from(v), { shape: shape ?? [v.length] });
export const arr = (t: Tensor): number[] => Array.from(t.toArray() as Float64Array);

export interface TinyNet {
  net: ModelFn;
  params: Record<string, Tensor>;
}

/** The golden network as float64 tensors (parameters require grad); `override` replaces parameter values. */
export function tinyNet(override: Record<string, number[]> = {}): TinyNet {
  const params: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(G.params)) params[k] = f64(override[k] ?? v, G.param_shapes[k]).requiresGrad_();
  const { W1, b1, c1, W2, a } = params;
  const net: ModelFn = (x, labels) => {
    const B = x.shape[0];
    const xf = x.reshape([B, -1]);
    const pre = xf.matmul(W1).add(b1).add(labels.to(x.dtype).reshape([B, 1]).mul(c1));
    return pre.tanh().matmul(W2).add(xf.mul(a)).reshape(x.shape);
  };
  return { net, params };
}

export const batch = (): Tensor => f64(G.x0, G.meta.shape);
export const noise = (): Tensor => f64(G.z, G.meta.shape);
export const probe = (): Tensor => f64(G.v, G.meta.shape);
export const times = (): Tensor => f64(G.t);

/** max_i |a_i − b_i| / max(|b_i|, floor). */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-12): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), floor));
  if (a.length !== b.length) return Infinity;
  return m;
}
