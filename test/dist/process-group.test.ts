// c10d collectives through the native handle: two Gloo ranks in this one process (their blocking waits run
// on libuv's pool, so both sides progress), each result against its closed form.
import { describe, expect, it } from 'vitest';
import { ProcessGroup, distBackends } from '../../src/dist/process-group.js';
import { freePort } from '../../src/dist/launch.js';
import type { DistEnv } from '../../src/dist/env.js';
import { tensor, type Tensor } from '../../src/tensor.js';

async function pair(opts: { bucketBytes?: number } = {}): Promise<[ProcessGroup, ProcessGroup]> {
  const port = await freePort();
  const env = (rank: number): DistEnv => ({
    rank, worldSize: 2, localRank: rank, localWorldSize: 2, masterAddr: '127.0.0.1', masterPort: port,
    agentStore: false, restartCount: 0, timeoutMs: 20_000,
  });
  return Promise.all([ProcessGroup.join(env(0), 'gloo', opts), ProcessGroup.join(env(1), 'gloo', opts)]) as Promise<[ProcessGroup, ProcessGroup]>;
}

const values = (t: Tensor) => Array.from(t.toArray() as Float32Array);

describe.skipIf(!distBackends().gloo)('ProcessGroup (Gloo, 2 ranks in one process)', () => {
  it('allreduce sums or averages in place, across several buckets and dtypes', async () => {
    const [a, b] = await pair({ bucketBytes: 8 }); // 8 bytes: every tensor below gets a bucket of its own or two share
    try {
      const ta = [tensor([1, 2, 3]), tensor([10]), tensor([1, 2], { dtype: 'float64' })];
      const tb = [tensor([4, 5, 6]), tensor([20]), tensor([3, 4], { dtype: 'float64' })];
      await Promise.all([a.allreduce(ta, { average: false }), b.allreduce(tb, { average: false })]);
      for (const ts of [ta, tb]) {
        expect(values(ts[0]!)).toEqual([5, 7, 9]);
        expect(values(ts[1]!)).toEqual([30]);
        expect(Array.from(ts[2]!.toArray() as Float64Array)).toEqual([4, 6]);
      }
      await Promise.all([a.allreduce(ta, { average: true }), b.allreduce(tb, { average: true })]);
      expect(values(ta[0]!)).toEqual([5, 7, 9]); // the mean of equal values
    } finally {
      a.dispose(); b.dispose();
    }
  });

  it('averages gradients of parameters (skipping those without), with extra tensors in the same buckets', async () => {
    const [a, b] = await pair();
    try {
      const mk = (w: number[]) => { const p = tensor(w).requiresGrad_(); p.mul(p).sum().backward(); return p; }; // grad = 2w
      const pa = [mk([1, 2]), tensor([7]).requiresGrad_()], pb = [mk([3, 6]), tensor([7]).requiresGrad_()];
      const fa = tensor([1]), fb = tensor([0]);
      await Promise.all([a.allreduceGradients(pa, [fa]), b.allreduceGradients(pb, [fb])]);
      expect(values(pa[0]!.grad!)).toEqual([4, 8]); // (2·[1,2] + 2·[3,6]) / 2
      expect(values(pb[0]!.grad!)).toEqual([4, 8]);
      expect(pa[1]!.grad).toBeNull();
      expect(values(fa)).toEqual([0.5]);
      expect(values(pa[0]!)).toEqual([1, 2]); // the values themselves are untouched
    } finally {
      a.dispose(); b.dispose();
    }
  });

  it('broadcast, broadcastBytes, allgather and barrier', async () => {
    const [a, b] = await pair();
    try {
      const xa = [tensor([1, 2]), tensor([3])], xb = [tensor([0, 0]), tensor([0])];
      await Promise.all([a.broadcast(xa), b.broadcast(xb)]);
      expect(xb.map(values)).toEqual([[1, 2], [3]]);
      const bytes = new Uint8Array(100_003).map((_, i) => (i * 7) & 255);
      const [, got] = await Promise.all([a.broadcastBytes(bytes), b.broadcastBytes(undefined)]);
      expect(Buffer.from(got).equals(Buffer.from(bytes))).toBe(true);
      const [ga, gb] = await Promise.all([a.allgather(tensor([1, 1])), b.allgather(tensor([2, 3]))]);
      expect(ga!.map(values)).toEqual([[1, 1], [2, 3]]);
      expect(gb!.map(values)).toEqual([[1, 1], [2, 3]]);
      await Promise.all([a.barrier(), b.barrier()]);
    } finally {
      a.dispose(); b.dispose();
      a.dispose(); // idempotent
    }
    await expect(a.barrier()).rejects.toMatchObject({ code: 'ERR_DISPOSED' });
  });

  it('a rank whose peer never comes fails to join within the timeout, naming itself and the address', async () => {
    const port = await freePort();
    const env: DistEnv = { rank: 0, worldSize: 2, localRank: 0, localWorldSize: 2, masterAddr: '127.0.0.1', masterPort: port, agentStore: false, restartCount: 0, timeoutMs: 1500 };
    await expect(ProcessGroup.join(env, 'gloo')).rejects.toThrow(new RegExp(`rank 0 could not join the job at 127.0.0.1:${port} within 1500 ms`));
  });

  it('NCCL without a CUDA build is refused with the reason; bad arguments are named', async () => {
    const env: DistEnv = { rank: 0, worldSize: 2, localRank: 0, localWorldSize: 2, masterAddr: '127.0.0.1', masterPort: 1, agentStore: false, restartCount: 0, timeoutMs: 1000 };
    if (!distBackends().nccl) await expect(ProcessGroup.join(env, 'nccl', { device: 'cuda:0' })).rejects.toMatchObject({ code: 'ERR_DEVICE', message: expect.stringContaining("backend 'nccl'") });
    await expect(ProcessGroup.join(env, 'nccl')).rejects.toThrow("device: expected a CUDA device for backend 'nccl', received 'cpu'");
    await expect(ProcessGroup.join(env, 'mpi' as 'gloo')).rejects.toThrow("backend: expected 'gloo' or 'nccl', received 'mpi'");
    await expect(ProcessGroup.join({ ...env, rank: 2 }, 'gloo')).rejects.toThrow('rank: expected 0 <= rank < worldSize');
  });
});
