/**
 * Whether the addon in the build folder is current, by scripts/setup's rule: it exists and is newer than
 * every file of native/ and CMakeLists.txt. A stamp of the libtorch it was built against (written after a
 * build) also makes a build against another libtorch — or another version in the same place — stale:
 * CMake caches Torch_DIR, so that one is rebuilt from scratch. No stamp (a build made by hand) counts as a
 * match, so `npm ci` in a clone never rebuilds an addon that is newer than its sources.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const BUILD_DIR = 'build-cmake';
export const ADDON = join(BUILD_DIR, 'Release', 'scoreflow.node');
const STAMP = join(BUILD_DIR, 'libtorch.json');

function newestSourceMtime(root) {
  const files = [join(root, 'CMakeLists.txt'),
    ...readdirSync(join(root, 'native'), { recursive: true }).map((f) => join(root, 'native', String(f)))];
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

/**
 * 'missing' | 'sources' (native/ or CMakeLists.txt changed since) | 'libtorch' (built against another one)
 * | 'current'.
 */
export function buildState(root, stamp) {
  const addon = join(root, ADDON);
  if (!existsSync(addon)) return 'missing';
  if (statSync(addon).mtimeMs < newestSourceMtime(root)) return 'sources';
  const stampPath = join(root, STAMP);
  if (existsSync(stampPath) && readFileSync(stampPath, 'utf8') !== stamp) return 'libtorch';
  return 'current';
}

export function writeStamp(root, stamp) {
  writeFileSync(join(root, STAMP), stamp);
}
