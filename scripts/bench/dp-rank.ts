// One rank of the data-parallel bench (scripts/bench/data-parallel.ts starts 1 or 2 of them with launch()):
//   dp-rank.ts <config> <globalBatch> <warmSteps> <timedSteps>
// Trains on synthetic images of the config's shape (the whole trainer step: data, loss, backward, gradient
// sync, Adam, EMA) and prints, on rank 0, one JSON line {steps, seconds} of the timed steps; in a job also the
// median time of an allreduce of parameter-sized buffers (allreduceMs, bytes).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { ChunkedImageDataset } from '../../src/data/index.js';
import { joinJob } from '../../src/dist/worker.js';
import { Trainer } from '../../src/train/trainer.js';
import type { ProcessGroup } from '../../src/dist/process-group.js';
import type { Tensor } from '../../src/tensor.js';

/** Median of 5 allreduces (after one) of buffers shaped like the parameters: what a gradient sync costs. */
async function allreduceMs(group: ProcessGroup, params: Tensor[]): Promise<{ allreduceMs: number; bytes: number }> {
  const bufs = params.map((p) => p.detach().clone());
  const ms: number[] = [];
  try {
    for (let i = 0; i < 6; i++) {
      const a = performance.now();
      await group.allreduce(bufs, { average: true });
      ms.push(performance.now() - a);
    }
  } finally {
    for (const b of bufs) b.dispose();
  }
  return { allreduceMs: ms.slice(1).sort((x, y) => x - y)[2]!, bytes: params.reduce((n, p) => n + 4 * p.numel, 0) };
}

const [name, batch, warm, timed] = process.argv.slice(2);
const W = Number(warm), T = Number(timed);
const loaded = loadConfig(name!, [`training.batch_size=${batch}`, `training.n_iters=${W + T}`, 'training.log_freq=100000',
  'training.eval_freq=100000', 'training.snapshot_freq=100000', 'training.snapshot_freq_for_preemption=100000',
  'training.snapshot_sampling=false', 'device=cpu']);
const d = loaded.data;
const synthetic = (n: number, seed: number) => {
  const images = new Uint8Array(n * d.num_channels * d.image_size * d.image_size);
  let s = seed;
  for (let i = 0; i < images.length; i++) { s = (s * 1103515245 + 12345) >>> 0; images[i] = s >>> 24; }
  return new ChunkedImageDataset('synthetic', 'train', d.num_channels, d.image_size, d.image_size, [{ images, labels: null }], 'memory');
};
const job = await joinJob(loaded);
const workdir = mkdtempSync(join(tmpdir(), 'sf-bench-dp-'));
const t = new Trainer(job ? { ...loaded, device: job.device } : loaded, workdir,
  { datasets: { train: synthetic(4 * Number(batch), 1), test: synthetic(Number(batch), 2) }, dist: job?.dp });
let t0 = 0, t1 = 0;
t.logger = {
  log: () => {},
  tick: (step) => {
    if (step === W) t0 = performance.now();
    if (step === W + T) t1 = performance.now();
  },
};
try {
  await t.syncState();
  await t.run();
  const comm = job ? await allreduceMs(job.group, t.state.model.parameters()) : undefined;
  if (job?.dp.isWriter ?? true) console.log(JSON.stringify({ steps: T, seconds: (t1 - t0) / 1000, ...comm }));
} finally {
  t.dispose();
  job?.dispose();
  rmSync(workdir, { recursive: true, force: true });
}
