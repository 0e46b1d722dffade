/**
 * Profiling helpers (native/profile.cc), used by the GPU rows of `npm run bench` (scripts/bench/gpu.ts).
 *
 * - countFlops(fn): multiply-add FLOPs (2 x MACs) of the convolutions (aten::conv*, aten::convolution) and
 *   matrix products (aten::mm / addmm / bmm / baddbmm / addbmm / matmul / linear) that fn() runs on the
 *   calling thread, synchronously; nested ops count once (only the outermost: conv2d, not the convolution
 *   it calls). Element-wise ops, normalisations and softmax are not counted (the usual MFU convention).
 *   Async native jobs (forwardAsync, backwardAsync) and the autograd engine's backward run on other
 *   threads and are not seen: count a forward and scale it (fwd + bwd ~ 3 x fwd).
 * - cudaMemoryStats(device) / cudaResetPeak(device): the CUDA caching allocator's byte counts (peaks since
 *   the start or the last reset); ERR_DEVICE on a CPU-only build or without a GPU.
 */
import { addon, type CudaMemoryStats, type Device } from './native.js';
import { argError } from './errors.js';

export type { CudaMemoryStats };
export interface FlopCount<T> { total: number; byOp: Record<string, number>; result: T }

export function countFlops<T>(fn: () => T): FlopCount<T> {
  if (typeof fn !== 'function') argError('fn', 'a function', fn);
  return addon().countFlops(fn);
}

/** `device`: a CUDA device name ('cuda', 'cuda:1') or index (default 0). */
export function cudaMemoryStats(device: Device | number = 0): CudaMemoryStats {
  return addon().cudaMemoryStats(device);
}

export function cudaResetPeak(device: Device | number = 0): void {
  addon().cudaResetPeak(device);
}
