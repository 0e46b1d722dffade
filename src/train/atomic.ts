/** Crash-safe file writes: a reader sees the old file or the new one, never a torn one. */
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { makeDirs } from '../workdir/make-dirs.js';
import { fsError } from '../workdir/fs-error.js';

const TEMP_NAME = /^\..+\.(\d+)\.tmp$/;

/** The temp file `writeFileAtomic(path)` writes first: it names the writer's pid so that leftovers can be judged. */
export function tempPathOf(path: string, pid: number = process.pid): string {
  return join(dirname(path), `.${basename(path)}.${pid}.tmp`);
}

/** The writer's pid of a file name made by `tempPathOf`, undefined for any other name. */
export function tempOwner(name: string): number | undefined {
  const m = TEMP_NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Makes renames in `dir` durable. */
export function fsyncDir(dir: string): void {
  const dfd = openSync(dir, 'r');
  try { fsyncSync(dfd); } finally { closeSync(dfd); }
}

export interface AtomicWriteOptions {
  /** Rename the file being replaced to this path (same folder) instead of dropping it: it stays as the previous version. */
  keepPrevious?: string;
}

/**
 * Writes to a temp file in the same folder, fsyncs it, renames it over `path`, then fsyncs the folder.
 * On failure (ENOSPC…) the temp file is removed, the previous file is untouched, and the ERR_IO error
 * names `path`.
 */
export function writeFileAtomic(path: string, data: Uint8Array, opts: AtomicWriteOptions = {}): void {
  const dir = dirname(path);
  makeDirs(dir);
  const tmp = tempPathOf(path);
  let fd: number;
  try { fd = openSync(tmp, 'w'); } catch (e) { throw fsError('write', path, e); }
  try {
    try {
      let off = 0;
      while (off < data.byteLength) off += writeSync(fd, data, off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (opts.keepPrevious !== undefined && existsSync(path)) renameSync(path, opts.keepPrevious);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw fsError('write', path, e, existsSync(path) ? 'the file there is unchanged' : undefined);
  }
  fsyncDir(dir);
}
