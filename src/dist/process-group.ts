/**
 * A c10d process group (native/dist/process_group.cc): Gloo on the CPU, NCCL on CUDA. Collectives resolve
 * when done on this rank and reject with ERR_DIST, naming the rank, when a peer dies, hangs past the timeout
 * or leaves. Every rank must issue the same collectives in the same order (c10d matches them by order).
 */
import { addon, type DistBackend, type NativeProcessGroup } from '../native.js';
import { argError, ScoreflowError } from '../errors.js';
import { fromHost, full, type Tensor } from '../tensor.js';
import type { DistEnv } from './env.js';

/** Flat buckets of at most this many bytes (DistributedDataParallel's default bucket_cap_mb). */
export const DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024;

export class ProcessGroup {
  private native: NativeProcessGroup | undefined;

  private constructor(readonly env: DistEnv, readonly backend: DistBackend, native: NativeProcessGroup, readonly bucketBytes: number,
    /** Where this rank's collective buffers live (NCCL reduces CUDA tensors only). */
    readonly device: string) {
    this.native = native;
  }

  get rank(): number { return this.env.rank; }
  get worldSize(): number { return this.env.worldSize; }

  /** Joins the job `env` describes; resolves once every rank has (the rendezvous waits up to env.timeoutMs). */
  static async join(env: DistEnv, backend: DistBackend, opts: { bucketBytes?: number; device?: string } = {}): Promise<ProcessGroup> {
    if (backend !== 'gloo' && backend !== 'nccl') argError('backend', "'gloo' or 'nccl'", backend);
    const device = opts.device ?? 'cpu';
    if (backend === 'nccl' && !device.startsWith('cuda')) argError('device', "a CUDA device for backend 'nccl'", device);
    const bucketBytes = opts.bucketBytes ?? DEFAULT_BUCKET_BYTES;
    if (!Number.isSafeInteger(bucketBytes) || bucketBytes < 1) argError('bucketBytes', 'a positive integer', bucketBytes);
    const native = new (addon().ProcessGroup)({
      backend, rank: env.rank, worldSize: env.worldSize, masterAddr: env.masterAddr, masterPort: env.masterPort,
      timeoutMs: env.timeoutMs, storePrefix: `scoreflow/${env.restartCount}/`, serveStore: !env.agentStore,
    });
    try {
      await native.connect();
    } catch (e) {
      native.dispose();
      throw e;
    }
    return new ProcessGroup(env, backend, native, bucketBytes, device);
  }

  private live(): NativeProcessGroup {
    if (!this.native) throw new ScoreflowError('ERR_DISPOSED', 'process group was disposed');
    return this.native;
  }

  /** Averages the parameters' gradients over the ranks, in place; `extra` tensors are averaged with them. */
  async allreduceGradients(params: Tensor[], extra: Tensor[] = []): Promise<void> {
    return this.live().allreduce(params, { grads: true, average: true, bucketBytes: this.bucketBytes, extra });
  }

  /** Sums (or averages) floating tensors over the ranks, in place. */
  async allreduce(tensors: Tensor[], opts: { average: boolean }): Promise<void> {
    return this.live().allreduce(tensors, { grads: false, average: opts.average, bucketBytes: this.bucketBytes });
  }

  /** Every rank's `tensor` (same shape on all ranks), in rank order; the caller disposes them. */
  async allgather(tensor: Tensor): Promise<Tensor[]> {
    return (await this.live().allgather(tensor)) as Tensor[];
  }

  /** Overwrites `tensors` with rank `root`'s, in place. */
  async broadcast(tensors: Tensor[], root = 0): Promise<void> {
    return this.live().broadcast(tensors, root, this.bucketBytes);
  }

  /** Rank `root`'s bytes on every rank (others pass undefined): a length, then the bytes. */
  async broadcastBytes(bytes: Uint8Array | undefined, root = 0): Promise<Uint8Array> {
    const mine = this.rank === root;
    if (mine && !bytes) argError('bytes', `the bytes to send on rank ${root}`, bytes);
    const device = this.device;
    const len = full([1], mine ? bytes!.length : 0, { dtype: 'float64', device }); // float64 holds lengths exactly up to 2^53
    try {
      await this.broadcast([len], root);
      const n = len.item();
      const buf = mine ? fromHost({ dtype: 'uint8', shape: [n], data: bytes! }, device) : full([n], 0, { dtype: 'uint8', device });
      try {
        await this.broadcast([buf], root);
        return mine ? bytes! : (buf.toArray() as Uint8Array);
      } finally {
        buf.dispose();
      }
    } finally {
      len.dispose();
    }
  }

  async barrier(): Promise<void> { return this.live().barrier(); }

  /** Idempotent; a collective in flight keeps the group alive until it settles. */
  dispose(): void {
    this.native?.dispose();
    this.native = undefined;
  }
}

/** The backends this build can use. */
export function distBackends(): { gloo: boolean; nccl: boolean } { return addon().distInfo(); }
