/**
 * Data-parallel scaling (part of `npm run bench`): steps/s of the whole training step at 1 and 2 processes
 * (Gloo on the CPU, 1 intra-op thread each) on the same global batch, and the scaling efficiency
 * t1 / (2·t2) with t the time per global batch. Each process count is a fresh job of scripts/bench/dp-rank.ts.
 * Alone: `npm run bench:dp`. The GPU rows (one GPU per rank, NCCL) need a machine with 2 GPUs and a CUDA build with NCCL.
 */
import { pathToFileURL } from 'node:url';
import { launch } from '../../src/dist/launch.js';
import { distBackends } from '../../src/dist/process-group.js';

export interface DataParallelBenchOptions { config?: string; batch?: number; warm?: number; steps?: number }

async function secondsPerStep(nproc: number, o: Required<DataParallelBenchOptions>): Promise<number> {
  let out = '';
  const code = await launch({
    nproc, script: new URL('./dp-rank.ts', import.meta.url).pathname, execArgv: process.execArgv,
    args: [o.config, String(o.batch), String(o.warm), String(o.steps)],
    env: { ...process.env, OMP_NUM_THREADS: '1' }, out: (l) => { out += l; }, err: () => {},
  });
  if (code !== 0) throw new Error(`data-parallel bench: ${nproc} process(es) exited with ${code}`);
  const r = JSON.parse(out.trim().split('\n').pop()!) as { steps: number; seconds: number };
  return r.seconds / r.steps;
}

export async function benchDataParallel(opts: DataParallelBenchOptions = {}): Promise<void> {
  if (!distBackends().gloo) {
    console.log('data-parallel: skipped (this addon was built without Gloo: install libgloo-dev and rebuild)');
    return;
  }
  const o = { config: 'fmnist_small', batch: 64, warm: 2, steps: 5, ...opts };
  // The one-process job is a fresh process too (launch with nproc 1: no process group), so both start alike.
  const t1 = await secondsPerStep(1, o);
  const t2 = await secondsPerStep(2, o);
  console.log(`data-parallel (${o.config}, global batch ${o.batch}, CPU, Gloo, 1 thread per process, ${o.steps} timed steps after ${o.warm}):`);
  console.log(`  1 process:   ${(1 / t1).toFixed(3)} steps/s (${(t1 * 1000).toFixed(0)} ms per global batch)`);
  console.log(`  2 processes: ${(1 / t2).toFixed(3)} steps/s (${(t2 * 1000).toFixed(0)} ms per global batch)`);
  console.log(`  scaling efficiency t1 / (2·t2): ${(100 * t1 / (2 * t2)).toFixed(1)} % (target >= 90 %)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await benchDataParallel();
