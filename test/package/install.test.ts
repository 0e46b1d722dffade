/**
 * The package's install step (scripts/install.mjs and its parts): job count by memory, the libtorch it
 * finds, when a build is current, which BLAS an addon uses, and the failure message. No native build here:
 * scripts/ci/package builds one from the packed tarball.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildJobs, BYTES_PER_JOB } from '../../scripts/install/jobs.mjs';
import { findLibtorch, libtorchStamp } from '../../scripts/install/libtorch.mjs';
import { ADDON, buildState, writeStamp } from '../../scripts/install/freshness.mjs';
import { classifyBlas, describeBlas } from '../../scripts/install/blas.mjs';
import { causeFromLog, failureMessage, keyLogLines, rerunCommand } from '../../scripts/install/failure.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
const GB = BYTES_PER_JOB;

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'scoreflow-install-test-'));
}

/** A torch CMake package folder holding TorchConfig.cmake and a version file. */
function fakeTorchPackage(dir: string, version: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'TorchConfig.cmake'), '# fake\n');
  writeFileSync(join(dir, 'TorchConfigVersion.cmake'), `set(PACKAGE_VERSION "${version}")\n`);
  return dir;
}

describe('install: parallel jobs', () => {
  it('caps the cores by the available memory at ~1 GB per compile, at least one job', () => {
    expect(buildJobs({ env: {}, cores: 2, memory: 1.5 * GB })).toBe(1);
    expect(buildJobs({ env: {}, cores: 16, memory: 6.5 * GB })).toBe(6);
    expect(buildJobs({ env: {}, cores: 2, memory: 20 * GB })).toBe(2);
    expect(buildJobs({ env: {}, cores: 4, memory: 0.2 * GB })).toBe(1);
  });

  it('CMAKE_BUILD_PARALLEL_LEVEL wins, and a bad one is named with its fix', () => {
    expect(buildJobs({ env: { CMAKE_BUILD_PARALLEL_LEVEL: '3' }, cores: 2, memory: GB })).toBe(3);
    expect(() => buildJobs({ env: { CMAKE_BUILD_PARALLEL_LEVEL: 'two' }, cores: 2, memory: GB }))
      .toThrow(/CMAKE_BUILD_PARALLEL_LEVEL: expected a positive integer, received 'two'. Fix: unset it/);
  });
});

describe('install: which libtorch', () => {
  const noPython = '/nonexistent/python3';

  it('LIBTORCH_DIR first, with its version; one without a CMake package is flagged unusable', () => {
    const dir = tmp();
    fakeTorchPackage(join(dir, 'share', 'cmake', 'Torch'), '2.5.1');
    const lt = findLibtorch({ env: { LIBTORCH_DIR: dir }, python: noPython, libRoot: '/nonexistent' });
    expect(lt).toEqual({ source: 'LIBTORCH_DIR', cmakeDir: join(dir, 'share', 'cmake', 'Torch'), usable: true, version: '2.5.1' });
    const bad = findLibtorch({ env: { LIBTORCH_DIR: '/nonexistent/libtorch' }, python: noPython });
    expect(bad).toMatchObject({ source: 'LIBTORCH_DIR', usable: false, version: null });
  });

  it('then the system package (/usr/lib/<triplet>/cmake/Torch), else none', () => {
    const lib = tmp();
    const cmakeDir = fakeTorchPackage(join(lib, 'x86_64-linux-gnu', 'cmake', 'Torch'), '1.13.0');
    expect(findLibtorch({ env: {}, python: noPython, libRoot: lib })).toEqual({ source: 'system', cmakeDir, usable: true, version: '1.13.0' });
    expect(findLibtorch({ env: {}, python: noPython, libRoot: tmp() })).toMatchObject({ source: null, usable: false });
  });

  it('the stamp changes with the folder, the version and SCOREFLOW_CUDA', () => {
    const a = { source: 'system', cmakeDir: '/usr/lib/x/cmake/Torch', usable: true, version: '1.13.0' };
    expect(libtorchStamp(a, {})).not.toBe(libtorchStamp({ ...a, version: '1.13.1' }, {}));
    expect(libtorchStamp(a, {})).not.toBe(libtorchStamp({ ...a, cmakeDir: '/opt/torch' }, {}));
    expect(libtorchStamp(a, {})).not.toBe(libtorchStamp(a, { SCOREFLOW_CUDA: '0' }));
  });
});

describe('install: is the build current', () => {
  function pkg(): string {
    const root = tmp();
    mkdirSync(join(root, 'native'));
    writeFileSync(join(root, 'native', 'a.cc'), '');
    writeFileSync(join(root, 'CMakeLists.txt'), '');
    return root;
  }
  const at = (path: string, seconds: number) => utimesSync(path, seconds, seconds);

  it('missing, older than a source, built against another libtorch, or current', () => {
    const root = pkg();
    expect(buildState(root, 's1')).toBe('missing');
    mkdirSync(join(root, 'build-cmake', 'Release'), { recursive: true });
    const addon = join(root, ADDON);
    writeFileSync(addon, '');
    at(join(root, 'native', 'a.cc'), 2000);
    at(join(root, 'native'), 1000);
    at(join(root, 'CMakeLists.txt'), 1000);
    at(addon, 1500);
    expect(buildState(root, 's1')).toBe('sources');
    at(addon, 3000);
    // No stamp (an addon built by hand): newer than its sources is current.
    expect(buildState(root, 's1')).toBe('current');
    writeStamp(root, 's1');
    expect(buildState(root, 's1')).toBe('current');
    expect(buildState(root, 's2')).toBe('libtorch');
    at(join(root, 'CMakeLists.txt'), 4000);
    expect(buildState(root, 's1')).toBe('sources');
  });
});

describe('install: BLAS', () => {
  it('names the BLAS behind libblas.so.3, and the fix for netlib\'s', () => {
    expect(classifyBlas('/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3')).toBe('OpenBLAS (pthread)');
    expect(classifyBlas('/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3')).toBe('OpenBLAS (OpenMP)');
    expect(classifyBlas('/usr/lib/x86_64-linux-gnu/blas/libblas.so.3')).toBe('netlib reference BLAS');
    expect(describeBlas({ kind: 'netlib reference BLAS', path: '/usr/lib/x86_64-linux-gnu/blas/libblas.so.3', slow: true }))
      .toMatch(/^BLAS: netlib reference BLAS \(\/usr\/lib\/x86_64-linux-gnu\/blas\/libblas.so.3\) — slow: `sudo apt-get install libopenblas0-pthread`/);
    expect(describeBlas(null)).toBe('BLAS: unknown (ldd failed)');
  });
});

describe('install: the failure message', () => {
  it('ends each fix with the command that runs the step again where the package is', () => {
    const tarball = { npm_command: 'install', npm_package_resolved: 'file:../scoreflow-0.1.0.tgz', npm_package_version: '0.1.0' };
    expect(rerunCommand({ inNodeModules: true, env: tarball })).toBe('npm install file:../scoreflow-0.1.0.tgz');
    expect(rerunCommand({ inNodeModules: true, env: { npm_command: 'ci', npm_package_resolved: 'https://registry.npmjs.org/scoreflow/-/scoreflow-0.1.0.tgz', npm_package_version: '0.1.0' } }))
      .toBe('npm install scoreflow@0.1.0');
    expect(rerunCommand({ inNodeModules: true, env: { npm_command: 'rebuild' } })).toBe('npm rebuild scoreflow');
    expect(rerunCommand({ inNodeModules: false, env: tarball })).toBe('npm run build:native');
  });

  it('inside node_modules: the install again (npm rolled it back) and the skip switch; in a clone: npm run build:native', () => {
    const env = { npm_command: 'install', npm_package_resolved: 'file:../scoreflow-0.1.0.tgz' };
    const inDep = failureMessage({ cause: 'libtorch', what: 'no libtorch found', inNodeModules: true, env });
    expect(inDep).toMatch(/^scoreflow install: the native addon was not built: no libtorch found\n  npm removes scoreflow from node_modules when this step fails: after a fix, run the install again.\nFix \(any one\):/);
    expect(inDep).toContain('sudo apt-get install --no-install-recommends libtorch-dev libgloo-dev libopenblas0-pthread && npm install file:../scoreflow-0.1.0.tgz');
    expect(inDep).toContain('LIBTORCH_DIR=/path/to/libtorch npm install file:../scoreflow-0.1.0.tgz');
    expect(inDep).toContain('SCOREFLOW_SKIP_BUILD=1 npm install file:../scoreflow-0.1.0.tgz, with SCOREFLOW_ADDON=/path/to/scoreflow.node at run time');
    const rebuilt = failureMessage({ cause: 'toolchain', what: 'cmake is not installed', inNodeModules: true, env: { npm_command: 'rebuild' } });
    expect(rebuilt).toContain('sudo apt-get install --no-install-recommends cmake ninja-build g++ && npm rebuild scoreflow');
    expect(rebuilt).not.toMatch(/npm removes|SKIP_BUILD/);
    const inClone = failureMessage({ cause: 'memory', what: 'cmake-js exited with 1', details: ['c++: fatal error: Killed signal terminated program cc1plus'], logPath: '/r/build-cmake/install.log', inNodeModules: false });
    expect(inClone).toContain('  | c++: fatal error: Killed signal terminated program cc1plus\n  Full log: /r/build-cmake/install.log');
    expect(inClone).toContain('CMAKE_BUILD_PARALLEL_LEVEL=1 npm run build:native');
    expect(inClone).not.toMatch(/npm rebuild|npm install|SKIP_BUILD/);
  });

  it('reads the cause and the lines that matter from a build log', () => {
    expect(causeFromLog('CMake Error at CMakeLists.txt:257 (message):\n  scoreflow: libtorch was not found. Install it')).toBe('libtorch');
    expect(causeFromLog('-- The CXX compiler identification is unknown\nCMake Error: No CMAKE_CXX_COMPILER could be found.')).toBe('toolchain');
    expect(causeFromLog('c++: fatal error: Killed signal terminated program cc1plus')).toBe('memory');
    expect(causeFromLog('native/x.cc:3:1: error: expected ;')).toBe('build');
    expect(keyLogLines('-- ok\nnative/x.cc:3:1: error: expected ;\n-- more\n')).toEqual(['native/x.cc:3:1: error: expected ;']);
    // No recognised error line: the end of the log, where it stopped.
    expect(keyLogLines('a\nb\n\nc', 2)).toEqual(['b', 'c']);
  });
});

describe('install: the script', () => {
  /** A copy of what the install step reads, as npm lays it out in a user's project. */
  function installedCopy(): string {
    const root = join(tmp(), 'node_modules', 'scoreflow');
    for (const p of ['scripts/install.mjs', 'scripts/install', 'native', 'CMakeLists.txt', 'package.json']) {
      cpSync(join(ROOT, p), join(root, p), { recursive: true });
    }
    return root;
  }
  const run = (root: string, env: Record<string, string>) => spawnSync(process.execPath, [join(root, 'scripts', 'install.mjs')],
    { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });

  it('SCOREFLOW_SKIP_BUILD=1 builds nothing and says how to provide the addon', () => {
    const r = run(installedCopy(), { SCOREFLOW_SKIP_BUILD: '1' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('SCOREFLOW_SKIP_BUILD=1: not building the addon (set SCOREFLOW_ADDON=/path/to/scoreflow.node at run time)');
  });

  it('a current addon that does not load fails with the loader\'s reason instead of passing', () => {
    const root = installedCopy();
    mkdirSync(join(root, 'build-cmake', 'Release'), { recursive: true });
    writeFileSync(join(root, ADDON), 'not a shared object');
    const r = run(root, { npm_command: 'install', npm_package_resolved: 'file:../scoreflow-0.1.0.tgz' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`scoreflow install: the native addon was not built: ${join(root, ADDON)} was built but does not load\n  | `);
    expect(r.stderr).toMatch(/invalid ELF header|file too short/);
    expect(r.stderr).toContain('npm install file:../scoreflow-0.1.0.tgz');
  });

  it('a LIBTORCH_DIR without libtorch fails before CMake, naming the value and the fixes', () => {
    const r = run(installedCopy(), { LIBTORCH_DIR: '/nonexistent/libtorch', npm_command: 'rebuild' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^scoreflow install: the native addon was not built: LIBTORCH_DIR=\/nonexistent\/libtorch has no share\/cmake\/Torch\/TorchConfig.cmake\nFix \(any one\):/);
    expect(r.stderr).toContain('LIBTORCH_DIR=/path/to/libtorch npm rebuild scoreflow');
  });
});
