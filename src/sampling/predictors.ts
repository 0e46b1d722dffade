/**
 * Predictors of the PC sampler (score_sde_pytorch `sampling.py`), by name. Each factory validates the SDE
 * once and returns an update (x, t) ↦ {x, xMean}. Predictors use the fixed step dt = 1/N, not the grid
 * spacing (spec §6 quirk, reproduced).
 */
import { ScoreflowError } from '../errors.js';
import { randnLike } from '../random.js';
import { where } from '../tensor.js';
import { batchView, timestepIndex } from '../sde/base.js';
import type { Sde } from '../sde/types.js';
import type { VPSDE } from '../sde/vp.js';
import type { VESDE } from '../sde/ve.js';
import type { StepContext, UpdateFn } from './types.js';

export type PredictorFactory = (ctx: StepContext) => UpdateFn;

const PREDICTORS = new Map<string, PredictorFactory>();

export function registerPredictor(name: string, f: PredictorFactory): void { PREDICTORS.set(name.toLowerCase(), f); }
export function predictorNames(): string[] { return [...PREDICTORS.keys()]; }

export function getPredictor(name: string, ctx: StepContext): UpdateFn {
  const f = PREDICTORS.get(String(name).toLowerCase());
  if (!f) throw new ScoreflowError('ERR_ARG', `predictor: expected one of ${predictorNames().join(', ')}, received '${name}'`);
  return f(ctx);
}

registerPredictor('euler_maruyama', ({ rsde, probabilityFlow, generator }) => (x, t) => {
  const dt = -1 / rsde.N;
  const { drift, diffusion } = rsde.sde(x, t);
  const xMean = x.axpy(drift, dt);
  if (probabilityFlow) return { x: xMean, xMean };
  return { x: xMean.add(randnLike(x, generator).mul(batchView(diffusion, x).mul(Math.sqrt(-dt)))), xMean };
});

registerPredictor('reverse_diffusion', ({ rsde, probabilityFlow, generator }) => (x, t) => {
  const { f, G } = rsde.discretize(x, t);
  const xMean = x.sub(f);
  if (probabilityFlow) return { x: xMean, xMean };
  return { x: xMean.add(randnLike(x, generator).mul(batchView(G, x))), xMean };
});

registerPredictor('none', () => (x) => ({ x, xMean: x }));

/** Ancestral sampling has a per-SDE update (DDPM for VP, SMLD for VE); none exists for subVP. */
const ANCESTRAL: Record<string, (ctx: StepContext) => UpdateFn> = {
  vpsde: ({ sde, scoreFn, generator }) => (x, t) => {
    const vp = sde as VPSDE;
    const beta = vp.tables.discreteBetas.gather(timestepIndex(t, vp.N, vp.T), t);
    const score = scoreFn(x, t);
    const xMean = x.add(score.mul(batchView(beta, x))).div(batchView(beta.neg().add(1).sqrt(), x));
    return { x: xMean.add(randnLike(x, generator).mul(batchView(beta.sqrt(), x))), xMean };
  },
  vesde: ({ sde, scoreFn, generator }) => (x, t) => {
    const ve = sde as VESDE;
    const step = t.mul((ve.N - 1) / ve.T).floor(); // float: scalar arithmetic on int64 would promote
    const sigma = ve.discreteSigmas.gather(step.to('int64'), t);
    const adjacent = where(step.eq(0), 0, ve.discreteSigmas.gather(step.sub(1).clamp(0).to('int64'), t));
    const dvar = sigma.square().sub(adjacent.square());
    const xMean = x.add(scoreFn(x, t).mul(batchView(dvar, x)));
    const std = adjacent.square().mul(dvar).div(sigma.square()).sqrt();
    return { x: xMean.add(randnLike(x, generator).mul(batchView(std, x))), xMean };
  },
};

registerPredictor('ancestral_sampling', (ctx) => {
  const make = ANCESTRAL[(ctx.sde as Sde).kind];
  if (!make) throw new ScoreflowError('ERR_ARG', `predictor 'ancestral_sampling' supports ${Object.keys(ANCESTRAL).join(', ')}, not '${ctx.sde.kind}'`);
  if (ctx.probabilityFlow) throw new ScoreflowError('ERR_ARG', "predictor 'ancestral_sampling' does not support probabilityFlow");
  return make(ctx);
});
