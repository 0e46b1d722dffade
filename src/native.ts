/**
 * The typed view of the native addon: every native entry point and handle, in one place. Loading is lazy
 * (libtorch maps ~290 shared libraries, ~0.5 s) and happens once.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DType } from './host-tensor.js';
import { chooseCpuAllocator } from './heap.js';
import { threadEnvDefaults } from './thread-env.js';

export type Device = string; // 'cpu' | 'cuda' | `cuda:${number}`
export type TypedArray =
  | Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array;

/** Methods implemented natively on every tensor handle (the TS `Tensor` class wraps them). */
export declare class NativeTensor {
  protected constructor();
  dispose(): void;
  _unary(op: number): this;
  _binary(op: number, other: NativeTensor | number | boolean): this;
  _binaryInplace(op: number, other: NativeTensor | number | boolean): this;
  _reduce(op: number, dims: number[] | null, keepdim: boolean): this;
  _axpy(other: NativeTensor, alpha: number): this;
  _norm(p: number, dims: number[] | null, keepdim: boolean): this;
  _clamp(min: number | null, max: number | null): this;
  _matmul(other: NativeTensor): this;
  _softmax(dim: number, log: boolean): this;
  _reshape(shape: number[]): this;
  _view(shape: number[]): this;
  _expand(shape: number[]): this;
  _permute(dims: number[]): this;
  _transpose(dim0: number, dim1: number): this;
  _flatten(startDim: number, endDim: number): this;
  _squeeze(dim?: number | null): this;
  _unsqueeze(dim: number): this;
  _slice(dim: number, start: number | null, end: number | null, step?: number): this;
  _select(dim: number, index: number): this;
  _indexSelect(dim: number, index: NativeTensor): this;
  _flip(dims: number[]): this;
  _repeat(repeats: number[]): this;
  _chunk(chunks: number, dim: number): this[];
  _contiguous(): this;
  _clone(): this;
  _detach(): this;
  _to(device: Device | null, dtype: DType | null): this;
  _copyFrom(src: NativeTensor): this;
  _fill(value: number): this;
  _item(): number | boolean;
  _toArray(): TypedArray;
  _shape(): number[];
  _dtype(): DType;
  _device(): Device;
  _numel(): number;
  _requiresGrad(): boolean;
  _setRequiresGrad(on: boolean): this;
  _grad(): this | null;
  _zeroGrad(): void;
  _backward(gradient: NativeTensor | null, retainGraph: boolean, createGraph: boolean): void;
  _isDisposed(): boolean;
  _keep(): this;
}

export declare class NativeGenerator {
  constructor(seed: number, device?: Device);
  readonly device: Device;
  getState(): Uint8Array;
  setState(state: Uint8Array): void;
  manualSeed(seed: number): void;
}

export interface AdamOptions { beta1: number; beta2: number; eps: number; weightDecay: number }
export interface AdamState<T> { step: number[]; expAvg: T[]; expAvgSq: T[] }
export declare class NativeAdam {
  constructor(params: NativeTensor[], options: AdamOptions);
  step(lr: number): void;
  stepAsync(lr: number): Promise<void>;
  zeroGrad(): void;
  state(): AdamState<NativeTensor>;
  setState(state: AdamState<NativeTensor>): void;
  dispose(): void;
}

/** Methods every network handle shares (native/module_handle.h). */
export declare class NativeModuleHandle {
  namedParameters(): [string, NativeTensor][];
  namedBuffers(): [string, NativeTensor][];
  /** Parameters and buffers in the reference's state_dict order. */
  stateDict(): [string, NativeTensor][];
  stateDictKeys(): string[];
  to(device: Device): void;
  device(): Device;
  numParameters(): number;
  dispose(): void;
  isDisposed(): boolean;
}

/** Precision of a network forward (native/autocast.cc): float32, or bfloat16 autocast with float32 weights. */
export type NativePrecision = 'fp32' | 'bf16';
/** Per-call options of the NCSN++ forward (native/nn/ncsnpp/binding.cc). */
export interface NativeForwardOptions { precision?: NativePrecision; channelsLast?: boolean; workers?: number }
export interface AutocastDeviceState { enabled: boolean; dtype: DType }
export interface Tf32State { cublas: boolean; cudnn: boolean }

/** The module handle of the NCSN++/DDPM++ network (native/nn/ncsnpp/binding.cc). */
export declare class NativeNcsnpp extends NativeModuleHandle {
  /** `config`: model fields at the top level or under `model` / `data` (a whole Config works). */
  constructor(config: object, seed?: number);
  forward(x: NativeTensor, labels: NativeTensor, opts?: NativeForwardOptions): NativeTensor;
  forwardAsync(x: NativeTensor, labels: NativeTensor, opts?: NativeForwardOptions): Promise<NativeTensor>;
  train(on: boolean): void;
  isTraining(): boolean;
  setDropoutSeed(seed: number | null): void;
}

export type InceptionVariant = 'fid' | 'torchvision';
export interface NativeInceptionOptions { variant?: InceptionVariant; numClasses?: number; seed?: number }

/** The Inception-v3 module handle (native/nn/inception.cc). */
export declare class NativeInception extends NativeModuleHandle {
  constructor(options?: NativeInceptionOptions);
  forward(x: NativeTensor): { pool3: NativeTensor; logits: NativeTensor };
  forwardAsync(x: NativeTensor): Promise<[NativeTensor, NativeTensor]>;
  variant(): InceptionVariant;
  numClasses(): number;
}

export type DistBackend = 'gloo' | 'nccl';
/** A c10d process group (native/dist/process_group.cc); options are checked in src/dist/process-group.ts. */
export interface NativeProcessGroupOptions {
  backend: DistBackend; rank: number; worldSize: number; masterAddr: string; masterPort: number; timeoutMs: number;
  /** Key prefix in the TCPStore; `serveStore` false: a launcher's agent (torchrun) already serves it. */
  storePrefix: string; serveStore: boolean;
}
export declare class NativeProcessGroup {
  constructor(options: NativeProcessGroupOptions);
  connect(): Promise<void>;
  allreduce(tensors: NativeTensor[], options: { grads: boolean; average: boolean; bucketBytes: number; extra?: NativeTensor[] }): Promise<void>;
  broadcast(tensors: NativeTensor[], root: number, bucketBytes: number): Promise<void>;
  allgather(tensor: NativeTensor): Promise<NativeTensor[]>;
  barrier(): Promise<void>;
  isConnected(): boolean;
  dispose(): void;
}

/** Configuration of the Flow++ dequantizer (native/nn/flowpp/binding.cc). */
export interface NativeFlowppConfig {
  variant?: 'cifar10' | 'imagenet32';
  channels?: number; height?: number; width?: number;
  filters?: number; components?: number; blocks?: number; heads?: number;
}
/** What one data-dependently initialised layer's output looked like on the init batch. */
export interface FlowppInitStat { kind: string; targetStd: number; maxAbsMean: number; minVar: number; maxVar: number }

/** The Flow++ variational dequantizer handle (native/nn/flowpp/binding.cc); images NCHW. */
export declare class NativeFlowpp extends NativeModuleHandle {
  constructor(config?: NativeFlowppConfig, seed?: number);
  forward(eps: NativeTensor, x: NativeTensor, opts?: { inverse?: boolean }): [NativeTensor, NativeTensor];
  forwardAsync(eps: NativeTensor, x: NativeTensor, opts?: { inverse?: boolean }): Promise<[NativeTensor, NativeTensor]>;
  initialize(eps: NativeTensor, x: NativeTensor): FlowppInitStat[];
  context(x: NativeTensor): NativeTensor;
  stepNames(): string[];
  step(index: number, tensors: NativeTensor[], context: NativeTensor | null, inverse: boolean): { out: NativeTensor[]; logdet: NativeTensor | null };
  toDtype(dtype: DType): void;
}

export interface MemoryStats { liveHandles: number; liveBytes: number; openScopes: number }

export interface Addon {
  NativeTensor: typeof NativeTensor;
  Generator: typeof NativeGenerator;
  Adam: typeof NativeAdam;
  NcsnppModule: typeof NativeNcsnpp;
  InceptionModule: typeof NativeInception;
  ProcessGroup: typeof NativeProcessGroup;
  /** The c10d backends this addon was built with. */
  distInfo(): { gloo: boolean; nccl: boolean };
  FlowppModule: typeof NativeFlowpp;
  /** Symmetric eigen-decomposition (ascending eigenvalues, eigenvectors as columns). */
  linalgEigh(a: NativeTensor): [NativeTensor, NativeTensor];
  unaryOps: string[];
  binaryOps: string[];
  reduceOps: string[];
  setTensorClass(cls: Function): void;
  fromBuffer(data: TypedArray, shape: number[], dtype: DType, device: Device | null): NativeTensor;
  full(shape: number[], value: number, dtype: DType | null, device: Device | null): NativeTensor;
  arange(start: number, end: number, step: number, dtype: DType | null, device: Device | null): NativeTensor;
  linspace(start: number, end: number, steps: number, dtype: DType | null, device: Device | null): NativeTensor;
  cat(tensors: NativeTensor[], dim: number): NativeTensor;
  stack(tensors: NativeTensor[], dim: number): NativeTensor;
  where(cond: NativeTensor, a: NativeTensor | number, b: NativeTensor | number): NativeTensor;
  autogradGrad(outputs: NativeTensor[], inputs: NativeTensor[], gradOutputs: NativeTensor[] | null,
    retainGraph: boolean | null, createGraph: boolean, allowUnused: boolean): (NativeTensor | null)[];
  autogradGradAsync(outputs: NativeTensor[], inputs: NativeTensor[], gradOutputs: NativeTensor[] | null,
    retainGraph: boolean | null, createGraph: boolean, allowUnused: boolean): Promise<(NativeTensor | null)[]>;
  backwardAsync(loss: NativeTensor, gradient: NativeTensor | null, retainGraph: boolean): Promise<void>;
  matmulAsync(a: NativeTensor, b: NativeTensor): Promise<NativeTensor>;
  setGradEnabled(on: boolean): boolean;
  isGradEnabled(): boolean;
  scopeEnter(): number;
  scopeExit(keep: NativeTensor[]): void;
  memoryStats(): MemoryStats;
  randn(shape: number[], dtype: DType | null, device: Device | null, gen: NativeGenerator | null): NativeTensor;
  rand(shape: number[], dtype: DType | null, device: Device | null, gen: NativeGenerator | null): NativeTensor;
  rademacher(shape: number[], dtype: DType | null, device: Device | null, gen: NativeGenerator | null): NativeTensor;
  randint(low: number, high: number, shape: number[], device: Device | null, gen: NativeGenerator | null): NativeTensor;
  gradNorm(params: NativeTensor[]): NativeTensor;
  scaleGrads(params: NativeTensor[], factor: NativeTensor | number): void;
  emaUpdate(shadow: NativeTensor[], params: NativeTensor[], decay: number): void;
  copyAll(dst: NativeTensor[], src: NativeTensor[]): void;
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  cudaSynchronize(device?: number): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  manualSeed(seed: number): void;
  buildInfo(): { torchVersion: string; cuda: boolean; napiVersion: number };
  /** Installs the malloc-backed CPU allocator (see src/heap.ts); true when it is in use. */
  useMallocCpuAllocator(): boolean;
  /** liveBytes / peakBytes: the malloc allocator's live blocks and their peak since resetCpuPeak (null otherwise). */
  heapInfo(): { glibc: string | null; cpuAllocator: 'malloc' | 'libtorch'; liveBytes: number | null; peakBytes: number | null };
  resetCpuPeak(): void;
  timeAddLoop(a: NativeTensor, b: NativeTensor, iters: number): number;
  /** Throws ERR_DEVICE (with the reason) when `precision` cannot run on `device` (native/autocast.cc). */
  checkPrecision(precision: NativePrecision, device: Device): void;
  /** Opens an autocast scope on the JS thread (async jobs started inside inherit it); returns the depth. */
  autocastEnter(device: Device, precision: NativePrecision): number;
  autocastExit(): number;
  autocastState(): { cpu: AutocastDeviceState; cuda: AutocastDeviceState; depth: number };
  /** TF32 for cuBLAS matmuls and cuDNN convolutions (process-wide); returns the previous switches. */
  setAllowTf32(on: boolean): Tf32State;
  tf32State(): Tf32State;
  /** FLOPs (2 x MACs) of the convolutions and matrix products fn() runs on this thread (native/profile.cc). */
  countFlops<T>(fn: () => T): { total: number; byOp: Record<string, number>; result: T };
  /** The CUDA caching allocator's byte counts; ERR_DEVICE on a CPU-only build or without a GPU. */
  cudaMemoryStats(device?: number | Device): CudaMemoryStats;
  cudaResetPeak(device?: number | Device): void;
}
export interface CudaMemoryStats {
  allocated: number; reserved: number; peakAllocated: number; peakReserved: number;
  /** cudaMemGetInfo: bytes the driver can still give (the allocator's reserved pool excluded), and the device's. */
  free: number; total: number;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/**
 * Where the two build systems put the addon: cmake-js (primary: the package's install step and
 * `npm run build:native`, scripts/install.mjs) and node-gyp (the fallback, `npm run build:native:gyp`).
 */
export const ADDON_CANDIDATES = [
  join(ROOT, 'build-cmake', 'Release', 'scoreflow.node'),
  join(ROOT, 'build', 'Release', 'scoreflow.node'),
];

let cached: Addon | undefined;

export class AddonLoadError extends Error {
  readonly code = 'ERR_ADDON_LOAD';
}

/** A package in a user's node_modules is rebuilt by npm; a clone has its own script (and scripts/setup). */
const inNodeModules = (root: string): boolean => root.split(sep).includes('node_modules');

/**
 * Explains a failed load in terms a user can act on instead of a bare dlopen message. `root` is the
 * package folder (a clone, or node_modules/scoreflow in a user's project): the fixes differ.
 */
export function explainLoadFailure(path: string | undefined, cause: unknown, root: string = ROOT): string {
  const msg = cause instanceof Error ? cause.message : String(cause);
  const rebuild = inNodeModules(root) ? '`npm rebuild scoreflow`' : '`npm run build:native`';
  const lines = ['scoreflow: the native addon could not be loaded.'];
  if (!path) {
    lines.push(`No build found (looked for ${ADDON_CANDIDATES.join(', ')}).`,
      inNodeModules(root)
        ? 'The package\'s install step builds it unless SCOREFLOW_SKIP_BUILD=1 was set (its log: ' +
          `${join(root, 'build-cmake', 'install.log')}). Fix: run \`npm rebuild scoreflow\` in your project (it names ` +
          'what is missing, e.g. `sudo apt-get install --no-install-recommends libtorch-dev`), or set ' +
          'SCOREFLOW_ADDON=/path/to/scoreflow.node.'
        : 'Fix: run `bash scripts/setup` (installs libtorch from apt if missing, then builds), or `npm run build:native`.');
  } else if (path === process.env.SCOREFLOW_ADDON && !existsSync(path)) {
    lines.push(`SCOREFLOW_ADDON=${path}: no such file.`,
      `Fix: point SCOREFLOW_ADDON at a built scoreflow.node, or unset it to use ${ADDON_CANDIDATES[0]} (${rebuild} builds it).`);
  } else if (/libtorch|libc10|libtorch_cpu/.test(msg) && /cannot open shared object/.test(msg)) {
    lines.push(`libtorch's shared libraries are missing at run time (${msg}).`,
      'Fix: install Debian\'s libtorch-dev (`sudo apt-get install --no-install-recommends libtorch-dev`), or add the ' +
      `lib/ folder of the libtorch you built against to LD_LIBRARY_PATH, or rebuild against the one you have: ${rebuild}.`);
  } else if (/cuda|cudnn|cublas|nvrtc/i.test(msg) && /cannot open shared object/.test(msg)) {
    lines.push(`CUDA libraries are missing (${msg}).`,
      'Fix: run on a machine with the NVIDIA driver and the CUDA runtime that your libtorch was built for, or rebuild ' +
      `a CPU-only addon: \`SCOREFLOW_CUDA=0 ${rebuild.slice(1)} (or LIBTORCH_DIR=<a CPU libtorch>).`);
  } else if (/undefined symbol/.test(msg)) {
    lines.push(`Symbol mismatch (${msg}).`,
      'The addon was built against a different libtorch (or C++ ABI) than the one found at run time. Fix: rebuild with ' +
      `${rebuild} in this environment.`);
  } else {
    lines.push(`Loading ${path} failed: ${msg}`, `Fix: rebuild with ${rebuild}.`);
  }
  return lines.join('\n');
}

/**
 * Loads the addon once. Sets the thread defaults first (src/thread-env.ts: libgomp and OpenBLAS read them
 * when libtorch loads; `availableParallelism` honours the affinity mask; the load picks the wait policy), then the CPU allocator (src/heap.ts).
 */
export function addon(): Addon {
  if (cached) return cached;
  Object.assign(process.env, threadEnvDefaults(process.env, availableParallelism(), loadavg()[0]!));
  const path = process.env.SCOREFLOW_ADDON ?? ADDON_CANDIDATES.find((p) => existsSync(p));
  if (!path) throw new AddonLoadError(explainLoadFailure(undefined, undefined));
  try {
    cached = createRequire(import.meta.url)(path) as Addon;
  } catch (e) {
    throw new AddonLoadError(explainLoadFailure(path, e), { cause: e });
  }
  if (chooseCpuAllocator(cached.heapInfo().glibc, process.env.SCOREFLOW_CPU_ALLOCATOR) === 'malloc') cached.useMallocCpuAllocator();
  return cached;
}
