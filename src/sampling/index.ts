/** Samplers by name (`sampling.method` of the configs: 'pc', 'ode'), predictors and correctors. */
import { ScoreflowError } from '../errors.js';
import type { ScoreFn, Sde } from '../sde/types.js';
import { pcSample, type PcOptions } from './pc.js';
import { odeSample, type OdeSamplerOptions } from './ode-sampler.js';
import type { SampleResult, Sampler } from './types.js';

export * from './types.js';
export { pcSample, timeGrid, type PcOptions } from './pc.js';
export { odeSample, type OdeSamplerOptions } from './ode-sampler.js';
export { registerPredictor, getPredictor, predictorNames } from './predictors.js';
export { registerCorrector, getCorrector, correctorNames, registerLangevinAlpha } from './correctors.js';
export { samplerOptionsFromConfig, sampleImages, sampleShape, stepsPerBatch, derivedSeed, type ImageBatch, type ImageSampleOptions } from './from-config.js';
export { snapshotSamples, writeSnapshot, snapshotBatchSize, snapshotSeed, SNAPSHOT_MAX_BATCH, type SnapshotResult, type SnapshotLogger } from './snapshot.js';

const SAMPLERS = new Map<string, Sampler<never>>([
  ['pc', pcSample as Sampler<never>],
  ['ode', odeSample as Sampler<never>],
]);

export function registerSampler(name: string, s: Sampler<never>): void { SAMPLERS.set(name.toLowerCase(), s); }
export function samplerNames(): string[] { return [...SAMPLERS.keys()]; }

/** Runs the sampler called `method` with its options (PcOptions for 'pc', OdeSamplerOptions for 'ode'). */
export function sample(method: string, scoreFn: ScoreFn, sde: Sde, shape: number[], opts: PcOptions | OdeSamplerOptions): SampleResult {
  const s = SAMPLERS.get(String(method).toLowerCase());
  if (!s) throw new ScoreflowError('ERR_ARG', `sampling method: expected one of ${samplerNames().join(', ')}, received '${method}'`);
  return (s as unknown as Sampler<PcOptions | OdeSamplerOptions>)(scoreFn, sde, shape, opts);
}
