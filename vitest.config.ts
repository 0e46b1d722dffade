import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // libtorch is loaded once per worker (~0.5 s, ~290 shared libraries) and the box has 2 cores:
    // forks with a small pool keep memory and thread oversubscription in check.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
