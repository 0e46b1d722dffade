/**
 * Data-parallel scaling (part of `npm run bench`): steps/s of the whole training step at 1 and 2 processes
 * (Gloo on the CPU, 1 intra-op thread each) on the same global batch, and the scaling efficiency
 * t1 / (2·t2) with t the time per global batch. Each process count is a fresh job of scripts/bench/dp-rank.ts.
 * Alone: `npm run bench:dp`. The GPU rows (one GPU per rank, NCCL) need a machine with 2 GPUs and a CUDA build with NCCL.
 */
import { availableParallelism, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { launch } from '../../src/dist/launch.js';
import { distBackends } from '../../src/dist/process-group.js';

export interface DataParallelBenchOptions { config?: string; batch?: number; warm?: number; steps?: number }

interface Timing { seconds: number; allreduceMs?: number; bytes?: number }

/** Seconds per step of a fresh job of `nproc` ranks on a global batch of `batch`. */
async function timeJob(nproc: number, batch: number, o: Required<DataParallelBenchOptions>): Promise<Timing> {
  let out = '';
  const code = await launch({
    nproc, script: new URL('./dp-rank.ts', import.meta.url).pathname, execArgv: process.execArgv,
    args: [o.config, String(batch), String(o.warm), String(o.steps)],
    env: { ...process.env, OMP_NUM_THREADS: '1' }, out: (l) => { out += l; }, err: () => {},
  });
  if (code !== 0) throw new Error(`data-parallel bench: ${nproc} process(es) exited with ${code}`);
  const r = JSON.parse(out.trim().split('\n').pop()!) as { steps: number; seconds: number; allreduceMs?: number; bytes?: number };
  return { ...r, seconds: r.seconds / r.steps };
}

export async function benchDataParallel(opts: DataParallelBenchOptions = {}): Promise<void> {
  if (!distBackends().gloo) {
    console.log('data-parallel: skipped (this addon was built without Gloo: install libgloo-dev and rebuild)');
    return;
  }
  const o = { config: 'fmnist_small', batch: 64, warm: 2, steps: 5, ...opts };
  // The one-process job is a fresh process too (launch with nproc 1: no process group), so both start alike.
  const t1 = (await timeJob(1, o.batch, o)).seconds;
  const two = await timeJob(2, o.batch, o);
  const t2 = two.seconds;
  // One process on a rank's share: what 2 ranks would take with free communication and no contention.
  const tHalf = (await timeJob(1, o.batch / 2, o)).seconds;
  console.log(`data-parallel (${o.config}, global batch ${o.batch}, CPU, Gloo, 1 thread per process, ${o.steps} timed steps after ${o.warm}; ` +
    `load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores):`);
  console.log(`  1 process:   ${(1 / t1).toFixed(3)} steps/s (${(t1 * 1000).toFixed(0)} ms per global batch)`);
  console.log(`  2 processes: ${(1 / t2).toFixed(3)} steps/s (${(t2 * 1000).toFixed(0)} ms per global batch)`);
  console.log(`  scaling efficiency t1 / (2·t2): ${(100 * t1 / (2 * t2)).toFixed(1)} % (target >= 90 %)`);
  console.log(`  where it goes: 1 process on batch ${o.batch / 2} takes ${(tHalf * 1000).toFixed(0)} ms (t1 / (2·t_half) = ` +
    `${(100 * t1 / (2 * tHalf)).toFixed(1)} %: the smaller batch alone); allreduce of the ${((two.bytes ?? 0) / 1e6).toFixed(2)} MB of ` +
    `gradients: ${two.allreduceMs?.toFixed(1)} ms (${(100 * (two.allreduceMs ?? 0) / 1000 / t2).toFixed(1)} % of a step); ` +
    `t_half / t2 = ${(100 * tHalf / t2).toFixed(1)} % (what the job costs over a rank's share alone)`);
  console.log('  (on a shared machine the 1- and 2-process jobs get different CPU shares: compare runs at a like load average)');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await benchDataParallel();
