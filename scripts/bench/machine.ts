/** What a bench result needs to be read honestly: the CPU, the load while it ran, and the BLAS mapped. */
import { readFileSync, realpathSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

/** The 1-minute load average now. */
export const load1 = (): number => loadavg()[0]!;

/** Shared libraries with "blas" in their name that this process has mapped (real paths). */
export function mappedBlas(): string[] {
  const maps = readFileSync('/proc/self/maps', 'utf8').split('\n');
  const libs = new Set(maps.filter((l) => /blas/i.test(l) && l.includes('/')).map((l) => l.slice(l.indexOf('/'))));
  return [...libs].map((p) => { try { return realpathSync(p); } catch { return p; } }).sort();
}

export function machine(): { cpu: string; cores: number; loadavg: number[] } {
  return { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadavg: loadavg() };
}

/** The thread and wait-policy variables in an environment (what decides how OpenMP and OpenBLAS behave). */
export function threadEnv(env: NodeJS.ProcessEnv): Record<string, string | null> {
  const keys = ['OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'OMP_WAIT_POLICY', 'GOMP_SPINCOUNT'];
  return Object.fromEntries(keys.map((k) => [k, env[k] ?? null]));
}
