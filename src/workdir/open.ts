/**
 * Opening a workdir for writing: it must be a folder (made if missing) that this process can lock; the
 * temp files of saves cut short by a kill are removed from `tempDirs` once the lock is ours.
 */
import { existsSync, statSync } from 'node:fs';
import { ScoreflowError } from '../errors.js';
import { makeDirs } from './make-dirs.js';
import { WorkdirLock } from './lock.js';
import { removeStaleTemps } from './stale-temps.js';

/** Returns the lock (release it when done); `say` hears about stale locks and temp files removed. */
export function openWorkdir(workdir: string, tempDirs: readonly string[], say: (line: string) => void): WorkdirLock {
  if (existsSync(workdir) && !statSync(workdir).isDirectory()) {
    throw new ScoreflowError('ERR_ARG', `--workdir ${workdir} is a file: expected a folder (new or existing) for checkpoints and logs`);
  }
  let lock: WorkdirLock;
  try {
    makeDirs(workdir);
    lock = WorkdirLock.acquire(workdir, say);
  } catch (e) {
    if (e instanceof ScoreflowError && e.code === 'ERR_IO') throw new ScoreflowError('ERR_IO', `--workdir ${workdir} is not writable: ${e.message}`, { cause: e });
    throw e;
  }
  try {
    for (const t of removeStaleTemps(tempDirs)) {
      say(`removed ${t.path} (${(t.bytes / 2 ** 20).toFixed(1)} MiB), left by a save that process ${t.pid} did not finish`);
    }
  } catch (e) {
    lock.release();
    throw e;
  }
  return lock;
}
