/**
 * SDEs by name. The names are the references' `training.sde` config values; parameters come from
 * `config.model` (beta_min, beta_max, sigma_min, sigma_max, num_scales), as in `run_lib.train`.
 */
import { ScoreflowError } from '../errors.js';
import type { SdeNumerics, Sde, SdeKind } from './types.js';
import { VPSDE } from './vp.js';
import { SubVPSDE } from './subvp.js';
import { VESDE } from './ve.js';

export interface SdeParams {
  beta_min?: number;
  beta_max?: number;
  sigma_min?: number;
  sigma_max?: number;
  num_scales?: number;
  numerics?: SdeNumerics;
}

type SdeFactory = (p: SdeParams) => Sde;

const REGISTRY = new Map<string, SdeFactory>([
  ['vpsde', (p) => new VPSDE({ betaMin: p.beta_min, betaMax: p.beta_max, N: p.num_scales, numerics: p.numerics })],
  ['subvpsde', (p) => new SubVPSDE({ betaMin: p.beta_min, betaMax: p.beta_max, N: p.num_scales, numerics: p.numerics })],
  ['vesde', (p) => new VESDE({ sigmaMin: p.sigma_min, sigmaMax: p.sigma_max, N: p.num_scales, numerics: p.numerics })],
]);

/** Registers another SDE under `name` (e.g. a project-specific schedule). */
export function registerSde(name: string, factory: SdeFactory): void {
  REGISTRY.set(name.toLowerCase(), factory);
}

export function sdeNames(): string[] {
  return [...REGISTRY.keys()];
}

/** The SDE called `name` ('vpsde', 'subvpsde', 'vesde'; case-insensitive) with the given parameters. */
export function createSde(name: SdeKind | string, params: SdeParams = {}): Sde {
  const factory = typeof name === 'string' ? REGISTRY.get(name.toLowerCase()) : undefined;
  if (!factory) {
    throw new ScoreflowError('ERR_CONFIG', `unknown SDE '${String(name)}': expected one of ${sdeNames().join(', ')}`);
  }
  return factory(params);
}

/** The SDE of a config: `training.sde` with `model.{beta_min, beta_max, sigma_min, sigma_max, num_scales}`. */
export function sdeFromConfig(
  config: { training: { sde: string }; model: SdeParams },
  numerics?: SdeNumerics,
): Sde {
  const m = config.model;
  return createSde(config.training.sde, {
    beta_min: m.beta_min, beta_max: m.beta_max, sigma_min: m.sigma_min, sigma_max: m.sigma_max,
    num_scales: m.num_scales, numerics,
  });
}
