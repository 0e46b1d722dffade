// The data-parallel policy without processes: the torchrun environment, sharding, launcher arguments.
import { describe, expect, it } from 'vitest';
import { distEnvFrom } from '../../src/dist/env.js';
import { withoutOption } from '../../src/dist/launch.js';
import { drawRows } from '../../src/losses/shard.js';
import { DataParallel } from '../../src/dist/data-parallel.js';
import { generator, randn } from '../../src/random.js';
import type { ProcessGroup } from '../../src/dist/process-group.js';
import type { Batch } from '../../src/data/index.js';

const TORCHRUN = { RANK: '1', LOCAL_RANK: '1', WORLD_SIZE: '4', LOCAL_WORLD_SIZE: '2', MASTER_ADDR: 'node0', MASTER_PORT: '29500' };

describe('torchrun environment', () => {
  it('reads the variables torchrun sets, with the agent store and restart count', () => {
    expect(distEnvFrom({})).toBeUndefined();
    expect(distEnvFrom({ ...TORCHRUN, WORLD_SIZE: '1', RANK: '0' })).toBeUndefined(); // one process: alone
    expect(distEnvFrom({ ...TORCHRUN, TORCHELASTIC_USE_AGENT_STORE: 'True', TORCHELASTIC_RESTART_COUNT: '2', SCOREFLOW_DIST_TIMEOUT: '30' })).toEqual({
      rank: 1, worldSize: 4, localRank: 1, localWorldSize: 2, masterAddr: 'node0', masterPort: 29500,
      agentStore: true, restartCount: 2, timeoutMs: 30_000,
    });
    expect(distEnvFrom(TORCHRUN)!.agentStore).toBe(false);
    expect(distEnvFrom(TORCHRUN)!.timeoutMs).toBe(600_000);
  });

  it('names the variable that is missing or wrong', () => {
    expect(() => distEnvFrom({ ...TORCHRUN, MASTER_ADDR: '' })).toThrow('MASTER_ADDR: expected the host of rank 0');
    expect(() => distEnvFrom({ ...TORCHRUN, RANK: '4' })).toThrow('RANK: expected an integer < WORLD_SIZE (4), received 4');
    expect(() => distEnvFrom({ ...TORCHRUN, MASTER_PORT: 'x' })).toThrow("MASTER_PORT: expected an integer >= 1, received 'x'");
    expect(() => distEnvFrom({ WORLD_SIZE: '2' })).toThrow('RANK: expected an integer >= 0 in the environment');
  });
});

describe('sharding', () => {
  it("a shard's noise is its rows of the global draw, and the generator ends where one process's does", () => {
    const one = generator(5), r0 = generator(5), r1 = generator(5);
    const whole = randn([6, 2], { generator: one });
    const s0 = drawRows({ offset: 0, total: 6 }, 3, (n) => randn([n, 2], { generator: r0 }));
    const s1 = drawRows({ offset: 3, total: 6 }, 3, (n) => randn([n, 2], { generator: r1 }));
    expect([...s0.toArray(), ...s1.toArray()]).toEqual([...whole.toArray()]);
    expect(Buffer.from(r1.getState()).equals(Buffer.from(one.getState()))).toBe(true);
    expect(() => drawRows({ offset: 4, total: 6 }, 3, (n) => randn([n], { generator: r0 }))).toThrow('shard: expected rows [offset, offset + 3) inside a global batch of 6');
  });

  it('splits a host batch into contiguous rows; the global batch must split evenly', () => {
    const group = (rank: number) => ({ rank, worldSize: 2 }) as ProcessGroup;
    const b: Batch = { images: { dtype: 'float32', shape: [4, 1, 1, 2], data: Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]) },
      labels: Int32Array.from([9, 8, 7, 6]), indices: Int32Array.from([3, 2, 1, 0]), index: 0, epoch: 0 };
    const s = new DataParallel(group(1), 4).shardBatch(b);
    expect(s.images.shape).toEqual([2, 1, 1, 2]);
    expect(Array.from(s.images.data)).toEqual([4, 5, 6, 7]);
    expect(Array.from(s.labels)).toEqual([7, 6]);
    expect(new DataParallel(group(1), 4).shard()).toEqual({ offset: 2, total: 4 });
    expect(() => new DataParallel(group(0), 5)).toThrow('training.batch_size (5) is the global batch and must split evenly over the 2 processes');
    expect(new DataParallel(group(0), 4).rankSeed(11)).toBe(11);
    expect(new DataParallel(group(1), 4).rankSeed(11)).not.toBe(11);
  });

  it('the launcher passes the command on without --nproc', () => {
    expect(withoutOption(['train', '--nproc', '2', '--config', 'x', '--nproc=3', '--workdir', 'w'], 'nproc')).toEqual(['train', '--config', 'x', '--workdir', 'w']);
  });
});
