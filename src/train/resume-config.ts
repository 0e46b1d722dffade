/**
 * Which config changes a resumed run accepts. A run continues its weights, Adam moments, data position
 * and random streams; changing what defines them (model.*, data.*, the SDE and loss fields of training.*,
 * batch size, optim.*, seed…) would silently continue another experiment under the old one's name, so
 * such a change is refused unless the user names it in --allow-change.
 */
import { DEFAULT_CONFIG, flattenConfig, type ResolvedConfig } from '../config/index.js';
import { argError, ScoreflowError } from '../errors.js';

/** Fields a resumed run may change freely: how long to train and what to log, evaluate, sample and save. */
export const FREELY_CHANGEABLE: readonly string[] = [
  'training.n_iters',
  'deq.n_iters',
  'training.log_freq',
  // Eval batches and snapshot samples draw from their own loader and generators, not the training streams.
  'training.eval_freq',
  'training.snapshot_freq',
  'training.snapshot_freq_for_preemption',
  'training.snapshot_sampling',
  'sampling.*',
  'eval.*',
  // Where and how the arithmetic runs, not what is computed (as device).
  'device',
  'training.precision',
  'training.allow_tf32',
  'model.channels_last',
];

export interface ConfigChange { path: string; from: unknown; to: unknown }

function isFree(path: string): boolean {
  return FREELY_CHANGEABLE.some((f) => (f.endsWith('.*') ? path.startsWith(f.slice(0, -1)) : path === f));
}

function valueAt(c: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), c);
}

/** A field the saved config lacks came with a later scoreflow: its default is what that run did. */
function savedValue(saved: unknown, path: string): unknown {
  const v = valueAt(saved, path);
  return v === undefined ? valueAt(DEFAULT_CONFIG, path) : v;
}

const show = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));

/** `a.b: old → new` */
export function describeChange(c: ConfigChange): string {
  return `${c.path}: ${show(c.from)} → ${show(c.to)}`;
}

/** Validates the keys given to --allow-change: each a config field such as optim.lr. */
export function checkAllowChange(keys: readonly string[], config: ResolvedConfig): void {
  const known = new Set(flattenConfig(config).map(([p]) => p));
  for (const k of keys) if (!known.has(k)) argError('--allow-change', 'config fields such as optim.lr or training.sde', k);
}

/**
 * Compares the config a resume point was trained with (`saved`, as stored) with the new one. Returns the
 * accepted changes; throws ERR_CONFIG listing every refused one (old → new) and how to proceed.
 */
export function checkResumeConfig(saved: unknown, config: ResolvedConfig, allowed: readonly string[], path: string): ConfigChange[] {
  const changes = flattenConfig(config)
    .map(([p, to]) => ({ path: p, from: savedValue(saved, p), to }))
    .filter((c) => JSON.stringify(c.from) !== JSON.stringify(c.to));
  const refused = changes.filter((c) => !isFree(c.path) && !allowed.includes(c.path));
  if (refused.length > 0) {
    throw new ScoreflowError('ERR_CONFIG', `cannot resume from ${path}: it was trained with a different config:\n  ` +
      `${refused.map(describeChange).join('\n  ')}\nThese change what the weights mean or how they are trained. Train into a new ` +
      `--workdir, or, to continue these weights under the new values on purpose (e.g. a lower optim.lr after a divergence), ` +
      `re-run with --allow-change ${refused.map((c) => c.path).join(',')}.`);
  }
  return changes;
}
