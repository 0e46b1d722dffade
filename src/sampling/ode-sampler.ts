/**
 * The probability-flow ODE sampler (spec §6; score_sde_pytorch `get_ode_sampler`): x_T ~ prior (or `init`),
 * integrate dx/dt = f − ½g²s from T down to eps (RK45, rtol = atol = 1e-5, float64 state by default), then
 * optionally denoise with one reverse-diffusion predictor step at eps (keeping its mean). nfe counts the ODE
 * solver's evaluations only, as the reference's `solution.nfev` (the denoising step adds one more).
 */
import { argError } from '../errors.js';
import { noGrad } from '../autograd.js';
import { tidy } from '../scope.js';
import { full, type Tensor } from '../tensor.js';
import type { DType } from '../host-tensor.js';
import { odeSolve } from '../ode/index.js';
import type { ScoreFn, Sde } from '../sde/types.js';
import { getPredictor } from './predictors.js';
import type { SampleResult, SamplerOptions } from './types.js';

export interface OdeSamplerOptions extends SamplerOptions {
  rtol?: number;
  atol?: number;
  /** ODE method (default 'rk45'); fixed-step methods need `odeSteps`. */
  method?: string;
  odeSteps?: number;
  /** One reverse-diffusion step at eps without noise (default false, as score_sde_pytorch's default). */
  denoise?: boolean;
  /** dtype of the integrated state (default float64). */
  odeDtype?: DType;
}

export function odeSample(scoreFn: ScoreFn, sde: Sde, shape: number[], opts: OdeSamplerOptions): SampleResult {
  if (!opts?.generator && !opts?.init) argError('generator', 'a Generator (or an init latent)', opts?.generator);
  const eps = opts.eps ?? 1e-3;
  if (!(eps > 0 && eps < sde.T)) argError('eps', `a number in (0, T=${sde.T})`, eps);
  const dtype = opts.init?.dtype ?? opts.dtype ?? 'float32';
  const device = opts.init?.device ?? opts.device ?? 'cpu';
  const odeDtype = opts.odeDtype ?? 'float64';
  const B = shape[0];
  const rsde = sde.reverse(scoreFn, { probabilityFlow: true });

  return noGrad(() => tidy(() => {
    const x0 = opts.init ?? sde.priorSampling(shape, opts.generator, { dtype, device });
    const rhs = (t: number, y: Tensor) => rsde.sde(y.reshape(shape).to(dtype), full([B], t, { dtype, device })).drift.reshape([-1]).to(odeDtype);
    let nfe = 0;
    const res = odeSolve(rhs, x0.reshape([-1]).to(odeDtype), sde.T, eps, {
      rtol: opts.rtol ?? 1e-5, atol: opts.atol ?? 1e-5, method: opts.method, steps: opts.odeSteps,
      onStep: opts.onProgress && ((s) => opts.onProgress!({ step: s.nSteps, t: s.t, nfe: s.nfe })),
    });
    nfe = res.nfe;
    let x = res.y.reshape(shape).to(dtype);
    if (opts.denoise) {
      const denoiser = getPredictor('reverse_diffusion', {
        sde, scoreFn, rsde: sde.reverse(scoreFn, { probabilityFlow: false }), probabilityFlow: false, generator: opts.generator,
      });
      x = denoiser(x, full([B], eps, { dtype, device })).xMean;
    }
    return { x: opts.inverseScaler ? opts.inverseScaler(x) : x.contiguous(), nfe };
  }));
}
