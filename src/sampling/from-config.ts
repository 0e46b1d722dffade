/**
 * Sampling as a config describes it (spec §6; score_sde_pytorch `sampling.get_sampling_fn`): the score
 * function of a model under the configured SDE and training mode, the PC or probability-flow ODE sampler
 * with `config.sampling`'s options, the data inverse scaler, and the images brought back to the host.
 * Shared by `scoreflow sample` and the training snapshots.
 */
import type { ResolvedConfig } from '../config/index.js';
import type { ScoreModel } from '../model/score-model.js';
import type { Device } from '../native.js';
import type { Generator } from '../random.js';
import type { Tensor } from '../tensor.js';
import { ScoreflowError, checkInt } from '../errors.js';
import { tidy } from '../scope.js';
import { getScoreFn, sdeFromConfig } from '../sde/index.js';
import type { Sde } from '../sde/types.js';
import { pcSample, type PcOptions } from './pc.js';
import { odeSample, type OdeSamplerOptions } from './ode-sampler.js';
import type { ProgressInfo } from './types.js';

type SamplingSection = ResolvedConfig['sampling'];

/** The sampler and its options for `config.sampling` (everything but the generator, device and callbacks). */
export function samplerOptionsFromConfig(config: ResolvedConfig):
  { method: 'pc'; opts: Omit<PcOptions, 'generator'> } | { method: 'ode'; opts: Omit<OdeSamplerOptions, 'generator'> } {
  const s: SamplingSection = config.sampling;
  const inverseScaler = config.data.centered ? (x: Tensor) => x.add(1).div(2) : undefined;
  const eps = s.smallest_time;
  const method = String(s.method).toLowerCase();
  if (method === 'pc') {
    return {
      method: 'pc',
      opts: {
        eps, inverseScaler, predictor: s.predictor, corrector: s.corrector, snr: s.snr, nStepsEach: s.n_steps_each,
        noiseRemoval: s.noise_removal, probabilityFlow: s.probability_flow,
      },
    };
  }
  if (method === 'ode') {
    // score_sde_pytorch: get_ode_sampler(rtol=1e-5, atol=1e-5, denoise=config.sampling.noise_removal).
    return { method: 'ode', opts: { eps, inverseScaler, rtol: 1e-5, atol: 1e-5, denoise: s.noise_removal } };
  }
  throw new ScoreflowError('ERR_CONFIG', `sampling.method: expected 'pc' or 'ode', received '${s.method}'`);
}

/** Sampler steps per batch when known in advance (PC: the N grid points; ODE: adaptive, undefined). */
export function stepsPerBatch(config: ResolvedConfig, sde: Sde = sdeFromConfig(config)): number | undefined {
  return String(config.sampling.method).toLowerCase() === 'pc' ? sde.N : undefined;
}

/** The image shape [B, C, H, W] of a batch of `batchSize` samples of the config's data. */
export function sampleShape(config: ResolvedConfig, batchSize: number): [number, number, number, number] {
  const { num_channels: c, image_size: s } = config.data;
  return [checkInt('batchSize', batchSize, 1), c, s, s];
}

export interface ImageSampleOptions {
  /** Source of every random draw (a CPU generator gives the same draws on any device). */
  generator: Generator;
  /** Device of the sampler state (default: the model's). */
  device?: Device;
  onProgress?: (info: ProgressInfo) => void;
}

/** Images in data space ([0, 1] for the references' data), NCHW float32 on the host. */
export interface ImageBatch {
  shape: [number, number, number, number];
  data: Float32Array;
  /** Score evaluations the sampler made for this batch. */
  nfe: number;
}

/**
 * Draws `batchSize` samples from `model` (its current weights: swap in EMA weights first) with the config's
 * sampler, in evaluation mode (the model's train/eval mode is restored afterwards).
 */
export function sampleImages(model: ScoreModel, config: ResolvedConfig, batchSize: number, o: ImageSampleOptions): ImageBatch {
  const sde = sdeFromConfig(config);
  const shape = sampleShape(config, batchSize);
  const wasTraining = model.training;
  const scoreFn = getScoreFn(sde, model, { continuous: config.training.continuous, train: false });
  const { method, opts } = samplerOptionsFromConfig(config);
  const common = { generator: o.generator, device: o.device ?? model.device, dtype: 'float32' as const, onProgress: o.onProgress };
  try {
    const res = method === 'pc'
      ? pcSample(scoreFn, sde, shape, { ...opts, ...common })
      : odeSample(scoreFn, sde, shape, { ...opts, ...common });
    try {
      const data = tidy(() => Float32Array.from(res.x.to('float32').toArray() as Float32Array));
      return { shape, data, nfe: res.nfe };
    } finally {
      res.x.dispose();
    }
  } finally {
    model.train(wasTraining);
  }
}

/** A per-index seed derived from a base seed (rounds of `scoreflow sample`), a non-negative safe integer. */
export function derivedSeed(base: number, index: number): number {
  return (checkInt('seed', base, 0) * 1_000_003 + checkInt('index', index, 0)) % Number.MAX_SAFE_INTEGER;
}
