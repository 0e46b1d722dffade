/**
 * The resume points of a run, in `<workdir>/checkpoints-meta/`:
 *  - `checkpoint.pth`, the newest (where score_sde_pytorch looks too);
 *  - `checkpoint.prev.pth`, the one before it: a save renames the newest to it just before the new one
 *    takes its place. A step runs on a resume point before the next save, so the newest point known good
 *    (its loss was finite) is always on disk, even while the newest one is still unproven;
 *  - `checkpoint.diverged.pth`, a resume point whose state turned out to diverge, set aside for inspection.
 * A save cut between its two renames leaves only `checkpoint.prev.pth`, which `pick` then returns.
 */
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { readReferenceCheckpoint } from '../formats/reference-checkpoint.js';
import { ScoreflowError, type ErrorCode } from '../errors.js';
import { fsError } from '../workdir/fs-error.js';
import { fsyncDir, writeFileAtomic } from './atomic.js';

export interface PickedResumePoint {
  path: string;
  /** The newest file is missing: a save was interrupted and this is the previous resume point. */
  interrupted: boolean;
}

function errorCode(e: unknown): ErrorCode {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_') ? code as ErrorCode : 'ERR_FORMAT';
}

export class ResumePoints {
  readonly newest: string;
  readonly previous: string;
  readonly diverged: string;
  /** Steps of the files, where this process wrote or read them. */
  private newestStep?: number;
  private previousStep?: number;

  constructor(readonly dir: string) {
    this.newest = join(dir, 'checkpoint.pth');
    this.previous = join(dir, 'checkpoint.prev.pth');
    this.diverged = join(dir, 'checkpoint.diverged.pth');
  }

  /** The file to resume from, if any. */
  pick(): PickedResumePoint | undefined {
    if (existsSync(this.newest)) return { path: this.newest, interrupted: false };
    if (existsSync(this.previous)) return { path: this.previous, interrupted: true };
    return undefined;
  }

  /** Records that the trainer's state at `step` was read from `path` (one that `pick` returned). */
  resumedFrom(path: string, step: number): void {
    if (path === this.newest) this.newestStep = step;
    else this.previousStep = step;
  }

  /** Whether the newest resume point already holds the state at `step` (nothing to save). */
  holds(step: number): boolean {
    return this.newestStep === step && existsSync(this.newest);
  }

  /** Makes `bytes` (the state at `step`) the newest resume point, keeping the newest so far as the previous one. */
  save(bytes: Uint8Array, step: number): void {
    const rotates = existsSync(this.newest);
    writeFileAtomic(this.newest, bytes, { keepPrevious: this.previous });
    if (rotates) this.previousStep = this.newestStep;
    this.newestStep = step;
  }

  /**
   * Training diverged with the state at `step`: a resume point holding that state is set aside and the
   * previous one becomes the newest again. Returns, for the user, what was done and where a re-run resumes.
   */
  setAside(step: number): string {
    const bad = this.newestStep === step && existsSync(this.newest) ? this.newest
      : this.previousStep === step && existsSync(this.previous) ? this.previous : undefined;
    try {
      if (bad !== undefined) {
        renameSync(bad, this.diverged);
        if (bad === this.newest) this.newestStep = undefined;
        else this.previousStep = undefined;
      }
      if (!existsSync(this.newest) && existsSync(this.previous)) {
        renameSync(this.previous, this.newest);
        this.newestStep = this.previousStep;
        this.previousStep = undefined;
      }
      fsyncDir(this.dir);
    } catch (e) {
      throw fsError('set aside the diverged resume point', bad ?? this.newest, e);
    }
    const done = bad !== undefined ? `The resume point at step ${step} was set aside as ${this.diverged}; ` : '';
    if (!existsSync(this.newest)) return `${done}no earlier resume point is kept, so a re-run starts from step 0.`;
    const next = this.newestStep ?? this.stepOf(this.newest);
    return `${done}a re-run resumes from ${next !== undefined ? `step ${next}, ` : ''}${this.newest}${bad === undefined ? ', from before the divergence' : ''}.`;
  }

  /** An error for a resume point that cannot be used: names it, the cause, and what to do. */
  cannotResume(path: string, cause: unknown): ScoreflowError {
    const why = (cause instanceof Error ? cause.message : String(cause)).replace(/\.$/, '');
    const todo = path === this.newest && existsSync(this.previous)
      ? `The previous resume point ${this.previous} is kept: move ${path} away (e.g. to ${path}.damaged) and re-run to continue from it, or delete ${this.dir} to start over from step 0.`
      : `Delete ${this.dir} to start over from step 0 (the snapshots in checkpoints/ are kept), or train into a new --workdir.`;
    return new ScoreflowError(errorCode(cause), `cannot resume from ${path}: ${why}. ${todo}`, { cause });
  }

  /** The step stored in a resume point (a full read: only for messages after a divergence). */
  private stepOf(path: string): number | undefined {
    try { return readReferenceCheckpoint(path).step; } catch { return undefined; }
  }
}
