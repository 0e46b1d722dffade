#!/usr/bin/env node
/**
 * Which BLAS a built addon will run on: the file its libblas.so.3 resolves to (Debian's alternatives pick
 * between netlib's reference BLAS and OpenBLAS). netlib's is single-threaded and unblocked, several times
 * slower for libtorch's CPU matmuls and convolutions, so it is named with its fix.
 * CLI: `node scripts/install/blas.mjs <scoreflow.node>` prints one line (scripts/setup uses it).
 */
import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Path patterns of the BLAS builds, first match wins. */
const KINDS = [
  [/openblas-pthread/, 'OpenBLAS (pthread)'],
  [/openblas-openmp/, 'OpenBLAS (OpenMP)'],
  [/openblas-serial/, 'OpenBLAS (serial)'],
  [/openblas/, 'OpenBLAS'],
  [/blis/, 'BLIS'],
  [/atlas/, 'ATLAS'],
  [/mkl/, 'MKL'],
  [/\/blas\/libblas\.so/, 'netlib reference BLAS'],
];

const NETLIB_FIX = 'slow: `sudo apt-get install libopenblas0-pthread` switches libblas.so.3 to OpenBLAS '
  + '(if it stays on netlib: `sudo update-alternatives --auto libblas.so.3-$(gcc -dumpmachine)`)';

/** The BLAS kind of a resolved libblas.so.3 path. */
export function classifyBlas(path) {
  return KINDS.find(([re]) => re.test(path))?.[1] ?? 'unknown BLAS';
}

/** `{ kind, path, slow }` for the addon, or null when ldd is missing or fails. */
export function addonBlas(addonPath) {
  const r = spawnSync('ldd', [addonPath], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) return null;
  const linked = /^\s*libblas\.so\.3 => (\S+)/m.exec(r.stdout)?.[1];
  // A pip torch carries its BLAS inside libtorch_cpu (MKL or OpenBLAS): no system libblas.so.3.
  if (!linked) return { kind: "libtorch's own (no system libblas.so.3)", path: null, slow: false };
  let path = linked;
  try {
    path = realpathSync(linked);
  } catch {
    // keep the linked name
  }
  const kind = classifyBlas(path);
  return { kind, path, slow: kind === 'netlib reference BLAS' };
}

/** "BLAS: OpenBLAS (pthread) (/usr/lib/…/libblas.so.3)", with the fix when it is the slow one. */
export function describeBlas(b) {
  if (!b) return 'BLAS: unknown (ldd failed)';
  return `BLAS: ${b.kind}${b.path ? ` (${b.path})` : ''}${b.slow ? ` — ${NETLIB_FIX}` : ''}`;
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [addon] = process.argv.slice(2);
  if (!addon) {
    console.error('usage: node scripts/install/blas.mjs <path/to/scoreflow.node>');
    process.exit(2);
  }
  console.log(describeBlas(addonBlas(addon)));
}
