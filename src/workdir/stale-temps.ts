/**
 * Leftovers of interrupted atomic writes: a SIGKILL during a checkpoint save leaves
 * `.checkpoint.pth.<pid>.tmp`, up to a full checkpoint, that nothing else would ever remove.
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tempOwner } from '../train/atomic.js';
import { errnoOf, fsError } from './fs-error.js';
import { processAlive } from './process-alive.js';

export interface RemovedTemp { path: string; bytes: number; pid: number }

/**
 * Removes the temp files in `dirs` whose writer is gone. A temp file with our own pid is stale too (a
 * previous process with the same pid, as in containers), since the caller holds the workdir lock and has
 * written nothing yet.
 */
export function removeStaleTemps(dirs: readonly string[]): RemovedTemp[] {
  const removed: RemovedTemp[] = [];
  for (const dir of dirs) {
    let names: string[];
    try { names = readdirSync(dir); } catch (e) {
      if (errnoOf(e) === 'ENOENT') continue;
      throw fsError('list', dir, e);
    }
    for (const name of names) {
      const pid = tempOwner(name);
      if (pid === undefined || (pid !== process.pid && processAlive(pid))) continue;
      const path = join(dir, name);
      const bytes = statSync(path).size;
      try { rmSync(path, { force: true }); } catch (e) { throw fsError('remove the stale temp file', path, e); }
      removed.push({ path, bytes, pid });
    }
  }
  return removed;
}
