/**
 * The variational upper bound on −log p(x₀) of the score SDE (spec §5.2; score_flow `bound_likelihood.py`):
 *
 *   −log p(x₀) ≤ −log p_T(x_T) + ½ ∫_eps^T I(t) dt + [Jensen offset for eps > 0],   x_T ~ p_0T(·|x₀),
 *
 * with the integrand in denoising (DSM) or sliced (SSM) score-matching form
 *   DSM: I = g²(‖s(x_t,t) − ∇log p_0t(x_t|x₀)‖² − ‖∇log p_0t(x_t|x₀)‖²) − 2∇·f(x_t,t)
 *   SSM: I = g²(2εᵀ∇ₓ(s·ε) + ‖s‖²) − 2∇·f(x_t,t)
 * estimated with N time samples per example (importance-sampled t ~ p(t) ∝ g²/std² and weight Z·std²/g² by
 * default, src/sde/importance.ts), a fresh x_t and probe per sample, and ∇·f by Hutchinson (exact for the
 * linear drifts of VP/subVP with Rademacher probes; VE's drift is 0).
 *
 * The Jensen offset (score_flow `get_likelihood_offset_fn`) accounts for starting at eps: with
 * x_eps ~ N(αx₀, β²I) and the Tweedie decoder q(x₀|x_eps) = N((x_eps + β²s(x_eps, eps))/α, (β/α)²I), it adds
 * −log q(x₀|x_eps) − H[N(αx₀, β²I)].
 *
 * Deliberate fix: without importance weighting the reference averages I over t ~ U[eps, T] with no (T − eps)
 * factor; here the uniform estimator is multiplied by (T − eps) (a relative change of eps).
 */
import { argError, checkInt } from '../errors.js';
import { tidy } from '../scope.js';
import { full, zeros, type Tensor } from '../tensor.js';
import { rand, randn, type Generator } from '../random.js';
import type { ScoreFn, Sde } from '../sde/types.js';
import { importanceSampler } from '../sde/importance.js';
import { drawProbe, valueAndDivergence } from './divergence.js';
import { bitsPerDim, type OffsetSpec } from './bits.js';

export interface BoundOptions {
  generator: Generator;
  /** Lower time (score_flow: training.smallest_time; default 1e-5). */
  eps?: number;
  /** Time samples per example (default 1000). */
  N?: number;
  /** 'dsm' (default) or 'ssm'. */
  form?: string;
  /** Hutchinson probe kind (default 'rademacher'). */
  hutchinson?: string;
  /** t ~ p(t) ∝ g²/std² with weight Z·std²/g² (default true, as score_flow's evaluation). */
  importanceWeighting?: boolean;
  /** Add the Jensen/Tweedie offset for eps > 0 (default true, score_flow `eval.offset`). */
  epsOffset?: boolean;
  /** Time samples evaluated per score call (batched as chunk·B examples; default 1). */
  chunk?: number;
  /** Dequantisation offset in bits/dim (default 'centered' = 7). */
  offset?: OffsetSpec;
  /** Called after each chunk with the time samples done so far. */
  onProgress?: (done: number, total: number) => void;
}

export interface BoundResult {
  /** Upper bound in bits/dim per example, [B]. */
  bpd: Tensor;
  /** The bound in nats per example, [B]. */
  nll: Tensor;
  /** −log p_T(x_T), [B]. */
  priorTerm: Tensor;
  /** ½·(estimate of ∫ I dt), [B]. */
  diffusionTerm: Tensor;
  /** Jensen offset in nats, [B] (zeros when disabled). */
  epsTerm: Tensor;
  /** Score evaluations (in units of B examples). */
  nfe: number;
}

type Integrand = (scoreFn: ScoreFn, sde: Sde, xt: Tensor, t: Tensor, noise: Tensor, std: Tensor, probe: Tensor) => Tensor;

const sqNorm = (v: Tensor): Tensor => v.reshape([v.shape[0], -1]).square().sum(1);
const perExampleView = (v: Tensor, x: Tensor): Tensor => v.reshape([v.shape[0], ...Array(x.ndim - 1).fill(1)]);

/** g²·(score part) per example, the −2∇·f part is shared. */
const FORMS = new Map<string, Integrand>([
  ['dsm', (scoreFn, sde, xt, t, noise, std) => {
    const target = noise.div(perExampleView(std, noise)).neg(); // ∇log p_0t(x_t|x₀) = −(x_t − mean)/std² = −n/std
    const s = scoreFn(xt, t);
    return sqNorm(s.sub(target)).sub(sqNorm(target)).mul(sde.diffusionSquared(t));
  }],
  ['ssm', (scoreFn, sde, xt, t, _noise, _std, probe) => {
    const { value, div } = valueAndDivergence(scoreFn, xt, t, probe);
    return div.mul(2).add(sqNorm(value)).mul(sde.diffusionSquared(t));
  }],
]);

/** Registers another integrand form. */
export function registerBoundForm(name: string, f: Integrand): void { FORMS.set(name.toLowerCase(), f); }

/** The Jensen offset −log q(x₀|x_eps) − H[p_0eps(·|x₀)] per example (nats). */
export function epsOffsetTerm(scoreFn: ScoreFn, sde: Sde, x0: Tensor, eps: number, gen: Generator): Tensor {
  return tidy(() => {
    const B = x0.shape[0];
    const D = x0.numel / B;
    const te = full([B], eps, { dtype: x0.dtype, device: x0.device });
    const alpha = sde.meanCoef(te);
    const beta = sde.marginalStd(te);
    const xe = x0.mul(perExampleView(alpha, x0)).add(randn(x0.shape, { dtype: x0.dtype, device: x0.device, generator: gen }).mul(perExampleView(beta, x0)));
    const score = scoreFn(xe, te);
    const qMean = xe.add(score.mul(perExampleView(beta.square(), x0))).div(perExampleView(alpha, x0));
    const qStd = beta.div(alpha);
    const log2pi = Math.log(2 * Math.PI);
    const recon = qStd.log().mul(D).add((D / 2) * log2pi).add(sqNorm(x0.sub(qMean)).div(qStd.square().mul(2)));
    const entropy = beta.log().mul(D).add((D / 2) * (log2pi + 1));
    return recon.sub(entropy);
  });
}

/** An unbiased estimate of the variational bound for each example of x₀ ([B, ...], model dtype and scale). */
export function likelihoodBound(scoreFn: ScoreFn, sde: Sde, x0: Tensor, opts: BoundOptions): BoundResult {
  const gen = opts.generator;
  if (!gen) argError('generator', 'a Generator', gen);
  const eps = opts.eps ?? 1e-5;
  if (!(eps > 0 && eps < sde.T)) argError('eps', `a number in (0, T=${sde.T})`, eps);
  const N = checkInt('N', opts.N ?? 1000, 1);
  const chunk = Math.min(checkInt('chunk', opts.chunk ?? 1, 1), N);
  const formName = String(opts.form ?? 'dsm').toLowerCase();
  const form = FORMS.get(formName);
  if (!form) argError('form', `one of ${[...FORMS.keys()].join(', ')}`, opts.form);
  const probeKind = opts.hutchinson ?? 'rademacher';
  const useIs = opts.importanceWeighting ?? true;
  const shape = x0.shape;
  const B = shape[0];
  const D = x0.numel / B;
  const like = { dtype: x0.dtype, device: x0.device };

  return tidy(() => {
    // All N·B times up front, as the reference (one bisection over the whole vector).
    let times: Tensor;
    let weightOf: (t: Tensor) => Tensor | number;
    if (useIs) {
      const sampler = importanceSampler(sde, eps);
      times = sampler.sample(N * B, gen, like);
      weightOf = (t) => sampler.weight(t);
    } else {
      times = rand([N * B], { ...like, generator: gen }).mul(sde.T - eps).add(eps);
      weightOf = () => sde.T - eps;
    }
    const driftOf = (x: Tensor, t: Tensor) => sde.sde(x, t).drift;
    let integral = zeros([B], like);
    let nfe = 0;
    for (let k0 = 0; k0 < N; k0 += chunk) {
      const c = Math.min(chunk, N - k0);
      const next = tidy(() => {
        const bigShape = [c * B, ...shape.slice(1)];
        const xRep = x0.unsqueeze(0).expand([c, ...shape]).reshape(bigShape);
        const t = times.slice(0, k0 * B, (k0 + c) * B);
        const probe = drawProbe(probeKind, bigShape, { ...like, generator: gen });
        const noise = randn(bigShape, { ...like, generator: gen });
        const { mean, std } = sde.marginalProb(xRep, t);
        const xt = mean.add(noise.mul(perExampleView(std, noise)));
        const driftDiv = valueAndDivergence(driftOf, xt, t, probe).div;
        let integrand = form(scoreFn, sde, xt, t, noise, std, probe).sub(driftDiv.mul(2));
        const w = weightOf(t);
        integrand = integrand.mul(w);
        return integral.add(integrand.reshape([c, B]).sum(0));
      });
      integral.dispose();
      integral = next;
      nfe += c * (formName === 'ssm' ? 2 : 1);
      opts.onProgress?.(k0 + c, N);
    }
    const diffusionTerm = integral.mul(0.5 / N);
    const tT = full([B], sde.T, like);
    const { mean, std } = sde.marginalProb(x0, tT);
    const xT = mean.add(randn(shape, { ...like, generator: gen }).mul(perExampleView(std, x0)));
    const priorTerm = sde.priorLogp(xT).neg();
    const epsTerm = opts.epsOffset ?? true ? epsOffsetTerm(scoreFn, sde, x0, eps, gen) : zeros([B], like);
    if (opts.epsOffset ?? true) nfe += 1;
    const nll = priorTerm.add(diffusionTerm).add(epsTerm);
    return { bpd: bitsPerDim(nll, D, opts.offset), nll, priorTerm, diffusionTerm, epsTerm, nfe };
  });
}
