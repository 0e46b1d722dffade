import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

const WORKERS = 2;
// Each forked worker loads libtorch; pip builds default to one intra-op thread per core (Debian's to one),
// so 2 workers × 2 threads oversubscribe a 2-core box (eval's ODE solves ran 3× slower). Share the cores
// between the workers unless the caller chose (the CI variants set OMP_NUM_THREADS=1 and =2 explicitly).
process.env.OMP_NUM_THREADS ??= String(Math.max(1, Math.floor(availableParallelism() / WORKERS)));

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // libtorch is loaded once per worker (~0.5 s, ~290 shared libraries) and the box has 2 cores:
    // forks with a small pool keep memory and thread oversubscription in check.
    pool: 'forks',
    maxWorkers: WORKERS,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
