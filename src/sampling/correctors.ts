/**
 * Correctors of the PC sampler (score_sde_pytorch `sampling.py`), by name: Langevin MCMC with a step set by
 * the target signal-to-noise ratio, annealed Langevin dynamics (NCSN), and none. All norms stay on the
 * device: no host synchronisation.
 *
 * The step scale αᵢ comes from a per-SDE registry: VP uses the DDPM αᵢ = 1 − βᵢ at i = int(t(N−1)/T), VE 1.
 * subVP: the references crash here (subVPSDE has no `alphas`). subVP has the same drift and β schedule as
 * VP, so its DDPM discretisation is the same, and αᵢ = 1 − βᵢ with βᵢ = linspace(β0/N, β1/N, N)ᵢ is the
 * consistent choice (it differs from 1 by at most β1/N = 0.02 for the defaults). That is what is used here.
 */
import { ScoreflowError } from '../errors.js';
import { randnLike } from '../random.js';
import { onesLike, type Tensor } from '../tensor.js';
import { batchView, timestepIndex } from '../sde/base.js';
import { ddpmTables, type DdpmTables, type VPSDE } from '../sde/vp.js';
import type { BetaLinearSde } from '../sde/beta-schedule.js';
import type { ScoreFn, Sde } from '../sde/types.js';
import type { UpdateFn } from './types.js';

export interface CorrectorContext {
  sde: Sde;
  scoreFn: ScoreFn;
  generator: import('../random.js').Generator;
  snr: number;
  nSteps: number;
}
export type CorrectorFactory = (ctx: CorrectorContext) => UpdateFn;

/** αᵢ per SDE kind: (sde) ↦ (t ↦ α(t), [B]). */
const ALPHAS = new Map<string, (sde: Sde) => (t: Tensor) => Tensor>();
export function registerLangevinAlpha(kind: string, f: (sde: Sde) => (t: Tensor) => Tensor): void { ALPHAS.set(kind, f); }

const ddpmAlpha = (tables: DdpmTables, sde: Sde) => (t: Tensor) => tables.alphas.gather(timestepIndex(t, sde.N, sde.T), t);
registerLangevinAlpha('vpsde', (sde) => ddpmAlpha((sde as VPSDE).tables, sde));
registerLangevinAlpha('subvpsde', (sde) => {
  const s = sde as BetaLinearSde;
  return ddpmAlpha(ddpmTables(s.betaMin, s.betaMax, s.N), sde);
});
registerLangevinAlpha('vesde', () => (t) => onesLike(t));

function alphaFor(sde: Sde, corrector: string): (t: Tensor) => Tensor {
  const f = ALPHAS.get(sde.kind);
  if (!f) throw new ScoreflowError('ERR_ARG', `corrector '${corrector}' supports ${[...ALPHAS.keys()].join(', ')}, not '${sde.kind}'`);
  return f(sde);
}

const CORRECTORS = new Map<string, CorrectorFactory>();
export function registerCorrector(name: string, f: CorrectorFactory): void { CORRECTORS.set(name.toLowerCase(), f); }
export function correctorNames(): string[] { return [...CORRECTORS.keys()]; }

export function getCorrector(name: string, ctx: CorrectorContext): UpdateFn {
  const f = CORRECTORS.get(String(name).toLowerCase());
  if (!f) throw new ScoreflowError('ERR_ARG', `corrector: expected one of ${correctorNames().join(', ')}, received '${name}'`);
  return f(ctx);
}

/** Batch-mean of per-example L2 norms, a 0-d tensor. */
const meanNorm = (v: Tensor): Tensor => v.reshape([v.shape[0], -1]).norm(2, 1).mean();

/** Shared loop: n steps of x ← x + ε·s + √(2ε)·z with ε = stepSize(s, z, t)·α(t) ([B] or 0-d tensors). */
function langevinLoop(ctx: CorrectorContext, name: string, stepSize: (score: Tensor, noise: Tensor, t: Tensor, x: Tensor) => Tensor): UpdateFn {
  const alpha = alphaFor(ctx.sde, name);
  return (x0, t) => {
    const a = alpha(t);
    let x = x0;
    let xMean = x0;
    for (let i = 0; i < ctx.nSteps; i++) {
      const score = ctx.scoreFn(x, t);
      const noise = randnLike(x, ctx.generator);
      const step = batchView(stepSize(score, noise, t, x).mul(a).mul(2), x);
      xMean = x.add(score.mul(step));
      x = xMean.add(noise.mul(step.mul(2).sqrt()));
    }
    return { x, xMean };
  };
}

registerCorrector('langevin', (ctx) => langevinLoop(ctx, 'langevin', (score, noise) => {
  const ratio = meanNorm(noise).div(meanNorm(score)).mul(ctx.snr);
  return ratio.square();
}));

registerCorrector('ald', (ctx) => langevinLoop(ctx, 'ald', (_score, _noise, t) => ctx.sde.marginalStd(t).mul(ctx.snr).square()));

registerCorrector('none', () => (x) => ({ x, xMean: x }));
