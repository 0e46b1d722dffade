import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { IDLE_SPINCOUNT, threadEnvDefaults } from '../../src/thread-env.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('thread environment defaults', () => {
  it('fills in threads and one OpenBLAS thread; spins a bounded while on an idle machine, sleeps at once under load', () => {
    expect(threadEnvDefaults({}, 6, 0.5)).toEqual({ OMP_NUM_THREADS: '6', OPENBLAS_NUM_THREADS: '1', GOMP_SPINCOUNT: IDLE_SPINCOUNT });
    expect(threadEnvDefaults({}, 2, 1.99).GOMP_SPINCOUNT).toBe('300000');
    expect(threadEnvDefaults({}, 2, 2)).toEqual({ OMP_NUM_THREADS: '2', OPENBLAS_NUM_THREADS: '1', OMP_WAIT_POLICY: 'PASSIVE' });
    expect(threadEnvDefaults({}, 2, 15.6).OMP_WAIT_POLICY).toBe('PASSIVE');
  });

  it('leaves every variable the user set alone, and either wait-policy variable replaces the choice', () => {
    expect(threadEnvDefaults({ OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '2', OMP_WAIT_POLICY: 'ACTIVE' }, 6, 20)).toEqual({});
    expect(threadEnvDefaults({ GOMP_SPINCOUNT: '0' }, 2, 0)).toEqual({ OMP_NUM_THREADS: '2', OPENBLAS_NUM_THREADS: '1' });
    expect(threadEnvDefaults({ OMP_WAIT_POLICY: 'PASSIVE' }, 2, 0)).toEqual({ OMP_NUM_THREADS: '2', OPENBLAS_NUM_THREADS: '1' });
  });

  it('loading the addon applies them to the process, and an override survives', () => {
    const show = "import('./src/native.ts').then(m => { m.addon(); console.log(JSON.stringify([process.env.OMP_WAIT_POLICY ?? null, process.env.GOMP_SPINCOUNT ?? null, process.env.OPENBLAS_NUM_THREADS])); })";
    const run = (extra: NodeJS.ProcessEnv) => {
      const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
      for (const k of ['OMP_WAIT_POLICY', 'GOMP_SPINCOUNT', 'OPENBLAS_NUM_THREADS']) if (!(k in extra)) delete env[k];
      const r = spawnSync(process.execPath, ['--import', './scripts/register-ts.js', '-e', show], { cwd: ROOT, env, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout.trim().split('\n').pop()!);
    };
    const [policy, spin, blas] = run({});
    expect(blas).toBe('1');
    // Which of the two depends on this machine's load now; exactly one of them is set.
    expect([policy, spin]).toEqual(policy === 'PASSIVE' ? ['PASSIVE', null] : [null, IDLE_SPINCOUNT]);
    expect(run({ OMP_WAIT_POLICY: 'PASSIVE' })).toEqual(['PASSIVE', null, '1']);
    expect(run({ GOMP_SPINCOUNT: '1000' })).toEqual([null, '1000', '1']);
  });
});
