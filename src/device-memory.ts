/**
 * How many examples of a computation fit in a device's memory: the peak bytes one example adds, measured by
 * running the computation at two small batch sizes, against the memory the device can still give.
 * - CPU: the malloc allocator's peak of live bytes (native/cpu_allocator.cc; glibc < 2.38), else on Linux the
 *   peak resident memory (VmHWM, reset through /proc/self/clear_refs); available: MemAvailable.
 * - CUDA: the caching allocator's peak (reset before each probe) and cudaMemGetInfo's free bytes plus what the
 *   allocator holds unused.
 * Where neither can be read (another OS, a locked-down /proc) the functions return null and callers keep
 * their configured batch.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { argError, checkInt } from './errors.js';
import { isCuda } from './device.js';
import { cudaMemoryStats, cudaResetPeak } from './profile.js';
import { addon, type Device } from './native.js';

const kib = (field: string, text: string): number | null => {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : null;
};
const readProc = (path: string): string | null => { try { return readFileSync(path, 'utf8'); } catch { return null; } };

/** Bytes the device can still give: MemAvailable on a Linux CPU; free + allocator-cached on CUDA. */
export function availableMemory(device: Device): number | null {
  if (isCuda(device)) {
    const s = cudaMemoryStats(device);
    return s.free + (s.reserved - s.allocated);
  }
  const info = readProc('/proc/meminfo');
  return info === null ? null : kib('MemAvailable', info);
}

/** Peak memory above the level at the start that fn() used on `device` (bytes), or null if unmeasurable. */
export function peakBytesOf(device: Device, fn: () => void): number | null {
  if (isCuda(device)) {
    cudaResetPeak(device);
    const before = cudaMemoryStats(device).allocated;
    fn();
    return cudaMemoryStats(device).peakAllocated - before;
  }
  const heap = addon().heapInfo();
  if (typeof heap.liveBytes === 'number') {
    addon().resetCpuPeak();
    fn();
    return addon().heapInfo().peakBytes! - heap.liveBytes;
  }
  try {
    writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM to the current resident size
  } catch {
    return null;
  }
  const rss = () => { const s = readProc('/proc/self/status'); return s === null ? null : kib('VmRSS', s); };
  const hwm = () => { const s = readProc('/proc/self/status'); return s === null ? null : kib('VmHWM', s); };
  const before = rss();
  fn();
  const peak = hwm();
  return before === null || peak === null ? null : Math.max(0, peak - before);
}

/**
 * Peak bytes one more example adds to run(batch): the difference of the peaks at 2·probe and probe
 * examples, over probe (the fixed part — weights, workspaces — cancels), or null if unmeasurable. From the
 * resident set (libtorch's CPU allocator), pages kept from the smaller run can make this up to 2× the true
 * figure, or hide it (below the allocator's resident slack): the allocator's own count has neither error.
 */
export function bytesPerExample(device: Device, run: (batch: number) => void, probe = 2): number | null {
  checkInt('probe', probe, 1);
  run(probe); // warm-up: one-time allocations (workspaces, the allocator's pools) are not per example
  const small = peakBytesOf(device, () => run(probe));
  const large = peakBytesOf(device, () => run(2 * probe));
  if (small === null || large === null) return null;
  return Math.max(large - small, 0) / probe;
}

export interface FitOptions {
  /** Bytes one example needs (bytesPerExample). */
  perExample: number;
  /** Bytes the device can give (availableMemory). */
  available: number;
  /** Share of `available` to use (default 0.5: the rest for the data, the solver's state, other work). */
  fraction?: number;
  /** Never more than this many (the batch itself). */
  max: number;
}

/** The number of examples that fit: ⌊fraction·available / perExample⌋, within [1, max]. */
export function examplesThatFit(o: FitOptions): number {
  const fraction = o.fraction ?? 0.5;
  if (!(fraction > 0 && fraction <= 1)) argError('fraction', 'a number in (0, 1]', fraction);
  checkInt('max', o.max, 1);
  if (!(o.perExample >= 0) || !(o.available >= 0)) argError('perExample, available', 'non-negative byte counts', [o.perExample, o.available]);
  if (o.perExample === 0) return o.max;
  return Math.max(1, Math.min(o.max, Math.floor((fraction * o.available) / o.perExample)));
}
