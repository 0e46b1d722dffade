import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { addon, explainLoadFailure } from '../../src/native.js';

const ROOT = new URL('../../', import.meta.url).pathname;

describe('addon loading', () => {
  it('explains the likely causes of a failed load instead of a bare dlopen message', () => {
    expect(explainLoadFailure(undefined, undefined)).toMatch(/No build found.*\n.*scripts\/setup/);
    expect(explainLoadFailure('/x.node', new Error('libtorch_cpu.so: cannot open shared object file: No such file or directory')))
      .toMatch(/libtorch's shared libraries are missing[\s\S]*libtorch-dev/);
    expect(explainLoadFailure('/x.node', new Error('libcudart.so.12: cannot open shared object file')))
      .toMatch(/CUDA libraries are missing/);
    expect(explainLoadFailure('/x.node', new Error('/x.node: undefined symbol: _ZN3c105ErrorC2E')))
      .toMatch(/different libtorch \(or C\+\+ ABI\)[\s\S]*npm run build:native/);
  });

  it('inside a user\'s node_modules, names the fixes that work there (npm rebuild, the install log)', () => {
    const root = '/home/u/app/node_modules/scoreflow';
    const none = explainLoadFailure(undefined, undefined, root);
    expect(none).toMatch(/npm rebuild scoreflow/);
    expect(none).toContain('/home/u/app/node_modules/scoreflow/build-cmake/install.log');
    expect(none).toMatch(/SCOREFLOW_ADDON=/);
    expect(none).not.toMatch(/scripts\/setup|build:native/);
    expect(explainLoadFailure('/x.node', new Error('/x.node: undefined symbol: _ZN3c105ErrorC2E'), root))
      .toMatch(/Fix: rebuild with `npm rebuild scoreflow`/);
    expect(explainLoadFailure('/x.node', new Error('libcudart.so.12: cannot open shared object file'), root))
      .toContain('`SCOREFLOW_CUDA=0 npm rebuild scoreflow`');
  });

  it('a broken addon path gives ERR_ADDON_LOAD with the explanation', () => {
    const r = spawnSync(process.execPath, ['--import', './scripts/register-ts.js', '-e',
      "import('./src/native.ts').then(m => m.addon()).catch(e => { console.log(e.code + ' ' + e.message); })"],
      { cwd: ROOT, env: { ...process.env, SCOREFLOW_ADDON: '/nonexistent/scoreflow.node' }, encoding: 'utf8' });
    expect(r.stdout).toMatch(/^ERR_ADDON_LOAD scoreflow: the native addon could not be loaded/);
    expect(r.stdout).toContain('SCOREFLOW_ADDON=/nonexistent/scoreflow.node: no such file.');
  });

  it('sets the thread defaults that keep OpenBLAS/OpenMP from oversubscribing', () => {
    addon();
    expect(process.env.OPENBLAS_NUM_THREADS).toBeDefined();
    expect(process.env.OMP_WAIT_POLICY ?? process.env.GOMP_SPINCOUNT).toBeDefined(); // src/thread-env.ts
  });
});
