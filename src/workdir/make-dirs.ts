/** `mkdir -p` whose errors are true: Node's recursive mkdir reports ENOENT for a read-only parent. */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { errnoOf, fsError } from './fs-error.js';

/** Creates `path` and its missing parents; throws ERR_IO naming the folder and the real cause. */
export function makeDirs(path: string): void {
  try {
    mkdirSync(path, { recursive: true });
    return;
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw fsError('create the folder', path, e);
  }
  // Creating the first missing folder on its own reports the real cause (EROFS, EACCES…).
  let missing = path;
  while (!existsSync(dirname(missing)) && dirname(missing) !== missing) missing = dirname(missing);
  try {
    mkdirSync(missing);
    mkdirSync(path, { recursive: true });
  } catch (e) {
    throw fsError('create the folder', path, e);
  }
}
