/**
 * Resuming a trainer (score model or dequantizer) from its newest resume point: pick the point (or the
 * previous one if a save was cut short), read it, check its config against the current one, apply it.
 * Every failure names the file and what to do (ResumePoints.cannotResume).
 */
import { readCheckpoint, type LoadedCheckpoint } from './checkpoint.js';
import type { ResumePoints } from './resume-points.js';
import { checkResumeConfig, type ConfigChange } from './resume-config.js';
import type { ResolvedConfig } from '../config/index.js';

export interface ResumeInfo {
  step: number;
  path: string;
  /** The newest resume point was missing (a save was cut short): this is the previous one. */
  interrupted: boolean;
  /** Accepted config changes against the resume point's config. */
  changes: ConfigChange[];
}

export interface ResumeFrom {
  config: ResolvedConfig;
  /** The config to compare with when the point stores none. */
  savedConfig: () => unknown;
  allowChanges: readonly string[];
  /** Puts the loaded state into the trainer and returns its step. */
  apply: (loaded: LoadedCheckpoint) => number;
}

export function resumeFrom(points: ResumePoints, o: ResumeFrom): ResumeInfo | undefined {
  const picked = points.pick();
  if (!picked) return undefined;
  const { path } = picked;
  let loaded: LoadedCheckpoint;
  try { loaded = readCheckpoint(path); } catch (e) { throw points.cannotResume(path, e); }
  const changes = checkResumeConfig(loaded.extras?.json.config ?? o.savedConfig(), o.config, o.allowChanges, path);
  let step: number;
  try { step = o.apply(loaded); } catch (e) { throw points.cannotResume(path, e); }
  points.resumedFrom(path, step);
  return { step, path, interrupted: picked.interrupted, changes };
}
