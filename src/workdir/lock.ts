/**
 * One writer per workdir: `<workdir>/scoreflow.lock` holds the owner's pid and host, created with
 * O_EXCL so that exactly one of two concurrent runs gets it. The lock of a dead process on this host
 * (a SIGKILL'd run) is stale and taken over; a live owner's lock is an ERR_LOCKED error.
 */
import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ScoreflowError } from '../errors.js';
import { errnoOf, fsError } from './fs-error.js';
import { processAlive } from './process-alive.js';

export const LOCK_NAME = 'scoreflow.lock';

interface LockOwner { pid: number; hostname: string; started: string }

/** Lock files held by this process: a second acquire here is a bug or a second Trainer, not a stale lock. */
const heldHere = new Set<string>();

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    return typeof o.pid === 'number' && typeof o.hostname === 'string' ? { pid: o.pid, hostname: o.hostname, started: String(o.started) } : undefined;
  } catch {
    return undefined;
  }
}

function readText(path: string): string | undefined {
  try { return readFileSync(path, 'utf8'); } catch (e) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    throw fsError('read the lock file', path, e);
  }
}

/** A lock left unreadable this long is one whose writer died between creating and writing it. */
const UNREADABLE_STALE_MS = 5000;

/** A dead owner on this host, or a pid that is ours but not held here (a former process with our pid). */
function isStale(owner: LockOwner | undefined, path: string): boolean {
  if (owner === undefined) {
    try { return Date.now() - statSync(path).mtimeMs > UNREADABLE_STALE_MS; } catch { return true; /* gone: retry */ }
  }
  if (owner.hostname !== hostname()) return false;
  return owner.pid === process.pid ? !heldHere.has(path) : !processAlive(owner.pid);
}

/**
 * Moves a stale lock out of the way. Renaming (not deleting) it lets us check that what we moved is the
 * stale lock we judged and not the fresh lock of a run that took it over just before us (put back if so).
 */
function removeStale(path: string, staleText: string): boolean {
  const grave = `${path}.${process.pid}.stale`;
  try { renameSync(path, grave); } catch (e) {
    if (errnoOf(e) === 'ENOENT') return false;
    throw fsError('take over the stale lock', path, e);
  }
  const moved = readText(grave) === staleText;
  if (!moved) {
    try { linkSync(grave, path); } catch { /* the path was taken again meanwhile: that owner wins */ }
  }
  rmSync(grave, { force: true });
  return moved;
}

/** An fd of the newly created file, or undefined if it exists (O_EXCL: one creator wins). */
function createExclusive(path: string): number | undefined {
  try { return openSync(path, 'wx'); } catch (e) {
    if (errnoOf(e) === 'EEXIST') return undefined;
    throw fsError('create the lock file', path, e);
  }
}

function lockedError(workdir: string, path: string, owner: LockOwner | undefined): ScoreflowError {
  if (owner === undefined) return new ScoreflowError('ERR_LOCKED', `--workdir ${workdir} is being locked by another run right now (${path}); retry in a few seconds.`);
  const here = owner.hostname === hostname();
  return new ScoreflowError('ERR_LOCKED',
    `--workdir ${workdir} is in use by another run: ${path} is held by pid ${owner.pid} on ${here ? 'this host' : `host ${owner.hostname}`} ` +
    `since ${owner.started}. Wait for that run to finish or stop it${here ? ` (kill ${owner.pid})` : ''}; ` +
    `if it is not a scoreflow run${here ? ' (a reused pid)' : ' or is gone'}, delete ${path}.`);
}

export class WorkdirLock {
  private held = true;
  private readonly onExit = () => this.release();

  private constructor(readonly path: string, private readonly text: string) {
    heldHere.add(path);
    // Backstop for exits that skip the caller's finally (process.exit elsewhere).
    process.on('exit', this.onExit);
  }

  /**
   * Takes the lock of `workdir` (which must exist). `onTakeOver` hears about a stale lock that was
   * replaced. Throws ERR_LOCKED naming the lock file and its live owner.
   */
  static acquire(workdir: string, onTakeOver: (message: string) => void = () => {}): WorkdirLock {
    const path = join(workdir, LOCK_NAME);
    const text = JSON.stringify({ pid: process.pid, hostname: hostname(), started: new Date().toISOString() }) + '\n';
    for (;;) {
      const fd = createExclusive(path);
      if (fd !== undefined) {
        try { writeSync(fd, text); } catch (e) {
          rmSync(path, { force: true });
          throw fsError('write the lock file', path, e);
        } finally {
          closeSync(fd);
        }
        return new WorkdirLock(path, text);
      }
      const found = readText(path);
      if (found === undefined) continue; // released meanwhile
      const owner = parseOwner(found);
      if (!isStale(owner, path)) throw lockedError(workdir, path, owner);
      if (!removeStale(path, found)) continue;
      onTakeOver(owner
        ? `took over the stale lock ${path} of pid ${owner.pid} (no longer running; started ${owner.started})`
        : `took over the unreadable lock ${path} (its writer died while creating it)`);
    }
  }

  /** Removes the lock file if it is still ours; idempotent. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    heldHere.delete(this.path);
    process.off('exit', this.onExit);
    try {
      if (readText(this.path) === this.text) rmSync(this.path, { force: true });
    } catch { /* best effort: a lock left behind is stale once this process is gone */ }
  }
}
