/**
 * Which libtorch the CMake build will use, found in CMakeLists.txt's order: LIBTORCH_DIR, a python3 torch
 * that ships its CMake package, the system one (Debian's libtorch-dev: /usr/lib/<triplet>/cmake/Torch).
 * Knowing it before CMake runs gives a one-line answer when there is none, and lets the install tell a
 * build against another libtorch from a current one.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const CONFIG = 'TorchConfig.cmake';

/** The torch folder of python3's torch, without importing it (an import costs seconds). */
function pythonTorchDir(python) {
  const r = spawnSync(python, ['-c',
    "import importlib.util as u; s = u.find_spec('torch'); print(s.submodule_search_locations[0] if s else '')"],
  { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 ? r.stdout.trim() : '';
}

/** The system's CMake package folders (/usr/lib/<triplet>/cmake/Torch). */
function systemTorchCmakeDirs(libRoot) {
  let entries;
  try {
    entries = readdirSync(libRoot);
  } catch {
    return [];
  }
  return entries.map((e) => join(libRoot, e, 'cmake', 'Torch')).filter((d) => existsSync(join(d, CONFIG)));
}

/** `set(PACKAGE_VERSION "1.13.1")` of TorchConfigVersion.cmake, or null. */
export function torchVersion(cmakeDir) {
  try {
    const text = readFileSync(join(cmakeDir, 'TorchConfigVersion.cmake'), 'utf8');
    return /set\(PACKAGE_VERSION "([^"]*)"\)/.exec(text)?.[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * `{ source, cmakeDir, usable, version }`: source 'LIBTORCH_DIR' | 'python3' | 'system', or null when none of
 * them has a libtorch. `usable` is false when LIBTORCH_DIR is set but holds no CMake package (CMake would
 * still take it, and fail).
 */
export function findLibtorch({ env = process.env, python = 'python3', libRoot = '/usr/lib' } = {}) {
  const found = (source, cmakeDir) => {
    const usable = existsSync(join(cmakeDir, CONFIG));
    return { source, cmakeDir, usable, version: usable ? torchVersion(cmakeDir) : null };
  };
  const pkg = (torchDir) => join(torchDir, 'share', 'cmake', 'Torch');
  if (env.LIBTORCH_DIR) return found('LIBTORCH_DIR', pkg(env.LIBTORCH_DIR));
  const py = pythonTorchDir(python);
  // Debian's python3-torch has no share/cmake: CMakeLists.txt skips such a torch, and so does this.
  if (py && existsSync(join(pkg(py), CONFIG))) return found('python3', pkg(py));
  const [system] = systemTorchCmakeDirs(libRoot);
  if (system) return found('system', system);
  return { source: null, cmakeDir: null, usable: false, version: null };
}

/** What a build was made against: the install rebuilds from scratch when this changes. */
export function libtorchStamp(lt, env = process.env) {
  return JSON.stringify({ cmakeDir: lt.cmakeDir, version: lt.version, cuda: env.SCOREFLOW_CUDA ?? '' });
}

/** "torch 1.13.0 (system, /usr/lib/x86_64-linux-gnu/cmake/Torch)". */
export function describeLibtorch(lt) {
  if (!lt.source) return 'no libtorch found';
  return `torch ${lt.version ?? '?'} (${lt.source}, ${lt.cmakeDir})`;
}
