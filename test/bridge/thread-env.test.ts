import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SPINCOUNT, threadEnvDefaults } from '../../src/thread-env.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('thread environment defaults', () => {
  it('fills in threads, one OpenBLAS thread and a bounded spin when nothing is set', () => {
    expect(threadEnvDefaults({}, 6)).toEqual({ OMP_NUM_THREADS: '6', OPENBLAS_NUM_THREADS: '1', GOMP_SPINCOUNT: DEFAULT_SPINCOUNT });
    expect(Number(DEFAULT_SPINCOUNT)).toBeGreaterThan(0);
  });

  it('leaves every variable the user set alone, and either wait-policy variable replaces the spin default', () => {
    expect(threadEnvDefaults({ OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '2', OMP_WAIT_POLICY: 'PASSIVE' }, 6)).toEqual({});
    expect(threadEnvDefaults({ GOMP_SPINCOUNT: '0' }, 2)).toEqual({ OMP_NUM_THREADS: '2', OPENBLAS_NUM_THREADS: '1' });
    expect(threadEnvDefaults({ OMP_WAIT_POLICY: 'ACTIVE' }, 2)).toEqual({ OMP_NUM_THREADS: '2', OPENBLAS_NUM_THREADS: '1' });
  });

  it('loading the addon applies them to the process (an override survives)', () => {
    const show = "import('./src/native.ts').then(m => { m.addon(); console.log(JSON.stringify([process.env.OMP_WAIT_POLICY ?? null, process.env.GOMP_SPINCOUNT ?? null, process.env.OPENBLAS_NUM_THREADS])); })";
    const run = (extra: NodeJS.ProcessEnv) => {
      const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
      for (const k of ['OMP_WAIT_POLICY', 'GOMP_SPINCOUNT', 'OPENBLAS_NUM_THREADS']) if (!(k in extra)) delete env[k];
      const r = spawnSync(process.execPath, ['--import', './scripts/register-ts.js', '-e', show], { cwd: ROOT, env, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout.trim().split('\n').pop()!);
    };
    expect(run({})).toEqual([null, DEFAULT_SPINCOUNT, '1']);
    expect(run({ OMP_WAIT_POLICY: 'PASSIVE' })).toEqual(['PASSIVE', null, '1']);
  });
});
