/**
 * The predictor–corrector sampler (spec §6; score_sde_pytorch `get_pc_sampler`): x ~ prior; on the grid
 * tᵢ = linspace(T, eps, N) a corrector step then a predictor step at each tᵢ; returns
 * inverseScaler(xMean if noiseRemoval else x) and nfe = N·(nStepsEach + 1). The state stays on the device and
 * the loop never synchronises with the host.
 */
import { argError, checkInt } from '../errors.js';
import { noGrad } from '../autograd.js';
import { tidy } from '../scope.js';
import { full, type Tensor } from '../tensor.js';
import type { ScoreFn, Sde } from '../sde/types.js';
import { getPredictor } from './predictors.js';
import { getCorrector } from './correctors.js';
import type { SampleResult, SamplerOptions } from './types.js';

export interface PcOptions extends SamplerOptions {
  /** 'euler_maruyama' (default), 'reverse_diffusion', 'ancestral_sampling', 'none'. */
  predictor?: string;
  /** 'none' (default), 'langevin', 'ald'. */
  corrector?: string;
  /** Corrector signal-to-noise ratio (default 0.16). */
  snr?: number;
  /** Corrector steps per grid point (default 1). */
  nStepsEach?: number;
  /** Return the last noise-free mean (default true). */
  noiseRemoval?: boolean;
  /** Predict with the probability-flow ODE instead of the reverse SDE (default false). */
  probabilityFlow?: boolean;
  /** Grid points (default sde.N; predictors still step by 1/sde.N, as the reference). */
  steps?: number;
}

/** Time grid linspace(T, eps, n) in float64. */
export function timeGrid(T: number, eps: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => (n === 1 ? T : i === n - 1 ? eps : T + ((eps - T) * i) / (n - 1)));
}

export function pcSample(scoreFn: ScoreFn, sde: Sde, shape: number[], opts: PcOptions): SampleResult {
  if (!opts?.generator) argError('generator', 'a Generator', opts?.generator);
  const eps = opts.eps ?? 1e-3;
  if (!(eps > 0 && eps < sde.T)) argError('eps', `a number in (0, T=${sde.T})`, eps);
  const n = checkInt('steps', opts.steps ?? sde.N, 1);
  const nStepsEach = checkInt('nStepsEach', opts.nStepsEach ?? 1, 0);
  const probabilityFlow = opts.probabilityFlow ?? false;
  const generator = opts.generator;
  const predictor = getPredictor(opts.predictor ?? 'euler_maruyama', {
    sde, scoreFn, rsde: sde.reverse(scoreFn, { probabilityFlow }), probabilityFlow, generator,
  });
  const corrector = getCorrector(opts.corrector ?? 'none', { sde, scoreFn, generator, snr: opts.snr ?? 0.16, nSteps: nStepsEach });
  const dtype = opts.init?.dtype ?? opts.dtype ?? 'float32';
  const device = opts.init?.device ?? opts.device ?? 'cpu';
  const B = shape[0];

  return noGrad(() => {
    let x: Tensor = opts.init ? opts.init.clone() : sde.priorSampling(shape, generator, { dtype, device });
    let xMean: Tensor = x;
    const grid = timeGrid(sde.T, eps, n);
    for (let i = 0; i < n; i++) {
      const next = tidy(() => {
        const t = full([B], grid[i], { dtype, device });
        const c = corrector(x, t);
        return predictor(c.x, t);
      });
      const old = new Set([x, xMean]);
      ({ x, xMean } = next);
      for (const o of old) if (o !== x && o !== xMean) o.dispose(); // updates may pass a state through
      opts.onProgress?.({ step: i + 1, total: n, t: grid[i], nfe: (i + 1) * (nStepsEach + 1) });
    }
    const out = opts.noiseRemoval ?? true ? xMean : x;
    const result = opts.inverseScaler ? tidy(() => opts.inverseScaler!(out)) : out;
    for (const o of new Set([x, xMean])) if (o !== result) o.dispose();
    return { x: result, nfe: n * (nStepsEach + 1) };
  });
}
