/**
 * The variational-dequantization objective of score_flow (`losses.get_dequantization_loss_fn`, spec §8), for
 * a frozen score model: per example
 *
 *   L = −log p_T(x_T) + ½[Z·(‖std·s_θ(x_t, t) + z‖² − ‖z‖²) − 2·∇·f(x_t', t')] − sldj  [+ Jensen offset]
 *
 * with x̂ = scaler((255·x + u)/256), (u, sldj = −log q(u|x)) from the dequantizer on fresh eps ~ N(0, I),
 * x_T, x_t, x_t' perturbations of x̂ with their own noise, t importance-sampled ∝ g²/σ² (normaliser Z,
 * always: train_deq passes importance_weighting=True), t' ~ U(eps, T) with its own Rademacher probe for
 * the drift divergence. L/(D ln 2) + the data offset (7 bits/dim centered, 8 otherwise) is the bits/dim.
 * Gradients reach the dequantizer through x̂ and sldj; the score model's parameters are not trained.
 */
import type { Sde, ScoreFn, ImportanceSampler } from '../sde/index.js';
import { batchView } from '../sde/index.js';
import { full, type Tensor } from '../tensor.js';
import { rand, randn, type Generator } from '../random.js';
import { drawProbe, valueAndDivergence } from '../likelihood/divergence.js';
import { epsOffsetTerm } from '../likelihood/bound.js';
import { offsetBits } from '../likelihood/bits.js';
import type { FlowppOutput } from './flowpp.js';

export interface DeqObjectiveOptions {
  /** Smallest time (training.smallest_time). */
  eps: number;
  /** Add the Jensen offset of §5.2 (deq.offset). */
  offset: boolean;
  /** data.centered: the scaler maps [0, 1] to [−1, 1]. */
  centered: boolean;
  generator: Generator;
}

export interface DeqObjective {
  /** L per example (nats), [B]. */
  losses: Tensor;
  /** mean L: what is minimised. */
  loss: Tensor;
  /** mean bits/dim. */
  bpd: Tensor;
}

const sqNorm = (v: Tensor): Tensor => v.reshape([v.shape[0]!, -1]).square().sum(1);

/** The dequantized, scaled data x̂ = scaler((255·x + u)/256). */
export function dequantizedData(x01: Tensor, u: Tensor, centered: boolean): Tensor {
  const xd = x01.mul(255).add(u).div(256);
  return centered ? xd.mul(2).sub(1) : xd;
}

/**
 * L for a batch x01 ∈ {0, 1/255, …, 1} ([B, C, H, W], not dequantized). `dequantize` runs the dequantizer
 * (so the caller decides on sync or async, grad or not).
 */
export function dequantizationObjective(
  sde: Sde, scoreFn: ScoreFn, sampler: ImportanceSampler, x01: Tensor,
  dequantize: (eps: Tensor, x01: Tensor) => FlowppOutput, o: DeqObjectiveOptions,
): DeqObjective {
  const B = x01.shape[0]!;
  const D = x01.numel / B;
  const like = { dtype: x01.dtype, device: x01.device, generator: o.generator };
  const { u, sldj } = dequantize(randn(x01.shape, like), x01);
  const data = dequantizedData(x01, u, o.centered);

  const prior = sde.marginalProb(data, full([B], sde.T, { dtype: x01.dtype, device: x01.device }));
  const negPriorLogp = sde.priorLogp(prior.mean.add(batchView(prior.std, data).mul(randn(data.shape, like)))).neg();

  const t = sampler.sample(B, o.generator, { dtype: x01.dtype, device: x01.device });
  const z = randn(data.shape, like);
  const pt = sde.marginalProb(data, t);
  const stdv = batchView(pt.std, data);
  const score = scoreFn(pt.mean.add(stdv.mul(z)), t);
  const dsm = sqNorm(score.mul(stdv).add(z)).sub(sqNorm(z)).mul(sampler.normalizer);

  // The drift of all three SDEs is linear in x (its divergence depends on t' only), so this term carries
  // no gradient; it is kept for the objective's value, estimated as the reference does.
  const t2 = rand([B], like).mul(sde.T - o.eps).add(o.eps);
  const p2 = sde.marginalProb(data, t2);
  const noisy = p2.mean.add(batchView(p2.std, data).mul(randn(data.shape, like)));
  const probe = drawProbe('rademacher', data.shape, { dtype: data.dtype, device: data.device, generator: o.generator });
  const driftDiv = valueAndDivergence((x, tt) => sde.sde(x, tt).drift, noisy, t2, probe).div;

  let losses = negPriorLogp.add(dsm.sub(driftDiv.mul(2)).mul(0.5)).sub(sldj);
  if (o.offset) losses = losses.add(epsOffsetTerm(scoreFn, sde, data, o.eps, o.generator));
  const loss = losses.mean();
  const bpd = losses.div(D * Math.LN2).add(offsetBits(o.centered ? 'centered' : 'uncentered')).mean();
  return { losses, loss, bpd };
}

/** The dequantizer's own contribution to bits/dim for eval.dequantizer: log q(u|x)/(D ln 2) = −sldj/(D ln 2). */
export function dequantizerBits(sldj: Tensor, dims: number): Tensor {
  return sldj.neg().div(dims * Math.LN2);
}

