#!/usr/bin/env node
/**
 * The package's install step. npm runs it on `npm install`, `npm ci` and `npm rebuild`, both for this
 * package inside a user's node_modules and for a clone's own root. It builds the native addon with
 * cmake-js into build-cmake/ (where src/native.ts looks) unless a current build is there, then loads it
 * once to prove it links. Plain JS: it runs before any TypeScript is compiled (dist/ ships prebuilt).
 * On failure it prints one message naming the fixes and exits 1.
 *
 *   SCOREFLOW_SKIP_BUILD=1   build nothing (an image that provides the addon: SCOREFLOW_ADDON=... at run time)
 *   --force / `npm rebuild`  build even when the addon is current
 *   LIBTORCH_DIR, SCOREFLOW_CUDA, CMAKE_BUILD_PARALLEL_LEVEL are honoured as by CMakeLists.txt / CMake.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addonBlas, describeBlas } from './install/blas.mjs';
import { causeFromLog, failureMessage, keyLogLines } from './install/failure.mjs';
import { ADDON, BUILD_DIR, buildState, writeStamp } from './install/freshness.mjs';
import { availableMemory, buildJobs } from './install/jobs.mjs';
import { describeLibtorch, findLibtorch, libtorchStamp } from './install/libtorch.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const IN_NODE_MODULES = ROOT.split(sep).includes('node_modules');
const ADDON_PATH = join(ROOT, ADDON);
const LOG_PATH = join(ROOT, BUILD_DIR, 'install.log');

const say = (m) => console.log(`scoreflow install: ${m}`);

function fail(cause, what, details, logPath) {
  console.error(failureMessage({ cause, what, details, logPath, inNodeModules: IN_NODE_MODULES }));
  process.exit(1);
}

function hasTool(name) {
  return spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** cmake-js's CLI, resolved from this package (npm may have hoisted it into the user's node_modules). */
function cmakeJsCli() {
  const pkg = createRequire(join(ROOT, 'package.json')).resolve('cmake-js/package.json');
  return join(dirname(pkg), JSON.parse(readFileSync(pkg, 'utf8')).bin['cmake-js']);
}

/** Runs `cmake-js build` with its output in the log file; resolves to the exit code. */
function runCmakeJs(jobs) {
  const log = openSync(LOG_PATH, 'w');
  const child = spawn(process.execPath, [cmakeJsCli(), 'build', '--out', BUILD_DIR, '--parallel', String(jobs)], {
    cwd: ROOT,
    stdio: ['ignore', log, log],
    env: { ...process.env, CMAKE_BUILD_PARALLEL_LEVEL: String(jobs) },
  });
  return new Promise((done) => {
    child.on('error', () => done(1));
    child.on('close', (code) => {
      closeSync(log);
      done(code ?? 1);
    });
  });
}

/** buildInfo() of the addon, loaded in a child process (a link error must not kill this one). */
function probeAddon() {
  const r = spawnSync(process.execPath, ['-e', `console.log(JSON.stringify(require(${JSON.stringify(ADDON_PATH)}).buildInfo()))`],
    { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' }, timeout: 120_000 });
  if (r.status === 0) return { info: JSON.parse(r.stdout.trim().split('\n').pop()) };
  const lines = (r.stderr || r.stdout || `exit ${r.status ?? r.signal}`).split('\n').filter((l) => l.trim());
  const hits = lines.filter((l) => /Error|error|undefined symbol|cannot open/.test(l));
  return { error: (hits.length ? hits : lines).slice(0, 4) };
}

function report(prefix) {
  const probe = probeAddon();
  if (probe.error) {
    const cause = probe.error.some((l) => /cannot open shared object/.test(l)) ? 'libtorch' : 'build';
    fail(cause, `${ADDON_PATH} was built but does not load`, probe.error);
  }
  const { torchVersion, cuda } = probe.info;
  say(`${prefix} (torch ${torchVersion}, CUDA ${cuda ? 'yes' : 'no'}; ${describeBlas(addonBlas(ADDON_PATH))})`);
}

async function main() {
  if (process.env.SCOREFLOW_SKIP_BUILD === '1') {
    say('SCOREFLOW_SKIP_BUILD=1: not building the addon (set SCOREFLOW_ADDON=/path/to/scoreflow.node at run time)');
    return;
  }
  const force = process.argv.includes('--force') || process.env.npm_command === 'rebuild';
  const lt = findLibtorch();
  const stamp = libtorchStamp(lt);
  const state = buildState(ROOT, stamp);
  if (state === 'current' && !force) {
    report(`addon up to date: ${ADDON_PATH}; \`${IN_NODE_MODULES ? 'npm rebuild scoreflow' : 'npm run build:native'}\` rebuilds it`);
    return;
  }

  if (lt.source === 'LIBTORCH_DIR' && !lt.usable) {
    fail('libtorch', `LIBTORCH_DIR=${process.env.LIBTORCH_DIR} has no share/cmake/Torch/TorchConfig.cmake`);
  }
  // CMake may still find a libtorch through these; without them there is nothing it could find.
  if (!lt.source && !process.env.CMAKE_PREFIX_PATH && !process.env.Torch_DIR) {
    fail('libtorch', 'no libtorch found (LIBTORCH_DIR is unset, python3 has no torch with share/cmake/Torch, '
      + 'and there is no /usr/lib/*/cmake/Torch)');
  }
  if (!hasTool('cmake')) fail('toolchain', 'cmake is not installed');

  const jobs = buildJobs();
  if (state === 'libtorch') rmSync(join(ROOT, BUILD_DIR), { recursive: true, force: true }); // Torch_DIR is cached
  mkdirSync(join(ROOT, BUILD_DIR), { recursive: true });
  const memGb = (availableMemory() / 1024 ** 3).toFixed(1);
  say(`building the native addon against ${describeLibtorch(lt)} with cmake-js (${hasTool('ninja') ? 'ninja' : 'make'}, `
    + `${jobs} parallel jobs: ${availableParallelism()} cores, ${memGb} GB available, ~1 GB per compile); `
    + `a few minutes per core; log: ${LOG_PATH}`);
  const start = Date.now();
  const code = await runCmakeJs(jobs);
  if (code !== 0) {
    const log = readFileSync(LOG_PATH, 'utf8');
    // npm deletes a package whose install step failed, and its build folder with it: keep the log.
    const kept = IN_NODE_MODULES ? join(tmpdir(), 'scoreflow-install.log') : LOG_PATH;
    if (kept !== LOG_PATH) copyFileSync(LOG_PATH, kept);
    fail(causeFromLog(log), `cmake-js exited with ${code}`, keyLogLines(log), kept);
  }
  writeStamp(ROOT, stamp);
  report(`built ${ADDON_PATH} in ${Math.round((Date.now() - start) / 1000)} s`);
}

try {
  await main();
} catch (e) {
  // A bad setting (e.g. CMAKE_BUILD_PARALLEL_LEVEL) or a missing dependency: its message, not a stack.
  console.error(`scoreflow install: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
