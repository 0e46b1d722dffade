/** Devices and threads. */
import { addon } from './native.js';
import { checkInt } from './errors.js';

const native = addon();

export const cuda = {
  isAvailable: (): boolean => native.cudaIsAvailable(),
  deviceCount: (): number => native.cudaDeviceCount(),
  /** Waits for queued kernels (timings need it; results never do: reads synchronise). */
  synchronize: (device?: number): void => native.cudaSynchronize(device),
};

/** libtorch's intra-op thread count (1 by default on small machines; see README on oversubscription). */
export function numThreads(): number { return native.getNumThreads(); }
export function setNumThreads(n: number): void { native.setNumThreads(checkInt('threads', n, 1)); }
export function buildInfo() { return native.buildInfo(); }

/** The best default device: the first GPU when one is usable, else the CPU. */
export function defaultDevice(): string { return native.cudaIsAvailable() ? 'cuda:0' : 'cpu'; }

/** A CUDA device name ('cuda', 'cuda:N'). */
export const isCuda = (device: string): boolean => device === 'cuda' || device.startsWith('cuda:');

/** 'auto' → defaultDevice(); anything else is checked by the addon when first used. */
export function resolveDevice(name: string): string { return name === 'auto' ? defaultDevice() : name; }
