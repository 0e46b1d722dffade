/**
 * The one message a failed install prints: what went wrong and the fixes, each ending in the command that
 * runs this step again where the package is. A failed install script makes npm roll the whole install
 * back (the package is gone from node_modules), so there it is the same `npm install` again; once the
 * package is installed, `npm rebuild scoreflow`; in a clone, `npm run build:native`.
 */

/** Known causes in a build log, first match wins: the fixes named for each. */
const LOG_CAUSES = [
  [/libtorch was not found/, 'libtorch'],
  [/No CMAKE_CXX_COMPILER could be found|CMAKE_CXX_COMPILER not set|C\+\+ compiler .* is not able to compile/, 'toolchain'],
  [/Killed signal terminated program|virtual memory exhausted|out of memory/i, 'memory'],
];

/** The cause of a failed build from its log ('build' when none is recognised). */
export function causeFromLog(log) {
  return LOG_CAUSES.find(([re]) => re.test(log))?.[1] ?? 'build';
}

/** The lines of the log worth showing: CMake errors and compiler errors, at most `max`. */
export function keyLogLines(log, max = 12) {
  const lines = log.split('\n');
  const hits = lines.filter((l) => /CMake Error|error:|Error |FATAL|ERR!|not found|Killed/.test(l));
  return (hits.length ? hits : lines.filter((l) => l.trim()).slice(-max)).slice(0, max).map((l) => l.trimEnd());
}

/**
 * The command that runs the install step again. npm names how it got the package: `npm_package_resolved`
 * is `file:../scoreflow-0.1.0.tgz` for a tarball, a registry URL otherwise.
 */
export function rerunCommand({ inNodeModules, env = process.env }) {
  if (!inNodeModules) return 'npm run build:native';
  if (env.npm_command === 'rebuild') return 'npm rebuild scoreflow';
  const resolved = env.npm_package_resolved ?? '';
  return `npm install ${resolved.startsWith('file:') ? resolved : `scoreflow@${env.npm_package_version ?? 'latest'}`}`;
}

function fixes(cause, rerun) {
  const apt = (pkgs) => `sudo apt-get install --no-install-recommends ${pkgs} && ${rerun}`;
  const libtorch = [
    `${apt('libtorch-dev libgloo-dev libopenblas0-pthread')}   (Debian/Ubuntu's libtorch)`,
    `LIBTORCH_DIR=/path/to/libtorch ${rerun}   (a folder holding share/cmake/Torch: an unpacked libtorch, or a pip torch's site-packages/torch)`,
    `python3 -m pip install torch && ${rerun}   (a pip PyTorch in the python3 on PATH)`,
  ];
  const toolchain = [`${apt('cmake ninja-build g++')}`];
  const byCause = {
    libtorch,
    toolchain,
    memory: [`CMAKE_BUILD_PARALLEL_LEVEL=1 ${rerun}   (one compile at a time: each needs ~1 GB of RAM)`],
    build: [...toolchain, ...libtorch],
  };
  const out = [...byCause[cause]];
  // Only a first install can be told to skip the build; a rerun is asked for one.
  if (rerun.startsWith('npm install')) {
    out.push(`SCOREFLOW_SKIP_BUILD=1 ${rerun}, with SCOREFLOW_ADDON=/path/to/scoreflow.node at run time   (an addon built elsewhere, e.g. a CI image)`);
  }
  return out;
}

/**
 * `cause`: 'libtorch' | 'toolchain' | 'memory' | 'build'; `what`: one line saying what failed; `details`:
 * lines to show (log excerpts); `logPath`: the full log, if any; `env`: npm's variables (rerunCommand).
 */
export function failureMessage({ cause, what, details = [], logPath, inNodeModules, env = process.env }) {
  const rerun = rerunCommand({ inNodeModules, env });
  const rolledBack = rerun.startsWith('npm install');
  return [
    `scoreflow install: the native addon was not built: ${what}`,
    ...details.map((l) => `  | ${l}`),
    ...(logPath ? [`  Full log: ${logPath}`] : []),
    ...(rolledBack ? ['  npm removes scoreflow from node_modules when this step fails: after a fix, run the install again.'] : []),
    'Fix (any one):',
    ...fixes(cause, rerun).map((f) => `  - ${f}`),
  ].join('\n');
}
