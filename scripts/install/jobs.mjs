/**
 * How many translation units to compile at once. Each libtorch TU needs ~1 GB of RAM at its peak, so the
 * cores are capped by the memory available now (scripts/setup's rule): on a 2-core, 2 GB box two jobs
 * would swap or be killed by the OOM killer, which looks like a hung or random build failure.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, freemem } from 'node:os';

export const BYTES_PER_JOB = 1024 ** 3;

/** MemAvailable of /proc/meminfo (what can be used without swapping), else the free memory. */
export function availableMemory() {
  try {
    const kb = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1];
    if (kb) return Number(kb) * 1024;
  } catch {
    // not Linux: fall through
  }
  return freemem();
}

/**
 * The parallel job count: CMAKE_BUILD_PARALLEL_LEVEL when the user set it (a positive integer), else
 * min(cores, available memory / 1 GB), at least 1.
 */
export function buildJobs({ env = process.env, cores = availableParallelism(), memory = availableMemory() } = {}) {
  const asked = env.CMAKE_BUILD_PARALLEL_LEVEL;
  if (asked !== undefined && asked !== '') {
    const n = Number(asked);
    if (!Number.isInteger(n) || n < 1) {
      throw new Error(`CMAKE_BUILD_PARALLEL_LEVEL: expected a positive integer, received '${asked}'. Fix: unset it (the job count then follows the cores and memory) or set e.g. CMAKE_BUILD_PARALLEL_LEVEL=2.`);
    }
    return n;
  }
  return Math.max(1, Math.min(cores, Math.floor(memory / BYTES_PER_JOB)));
}
