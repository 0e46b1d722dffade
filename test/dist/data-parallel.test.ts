// Data-parallel training on 2 Gloo processes (CPU), against one process on the same global batch.
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch } from '../../src/dist/launch.js';
import { readCheckpoint, type LoadedCheckpoint } from '../../src/train/checkpoint.js';
import { Trainer } from '../../src/train/trainer.js';
import { loadConfig } from '../../src/config/index.js';
import { distBackends } from '../../src/dist/process-group.js';
import type { HostTensor } from '../../src/host-tensor.js';
import { fakeData, TINY } from '../train/tiny-trainer.js';
import { DP_TINY } from './dp-fixture.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const META = (w: string) => join(w, 'checkpoints-meta', 'checkpoint.pth');

/** Two ranks of test/dist/rank-main.ts on `workdir` up to `steps`; resolves with their output lines. */
async function twoRanks(workdir: string, steps: number, env: NodeJS.ProcessEnv = {}, graceMs?: number) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await launch({
    nproc: 2, script: join(ROOT, 'test/dist/rank-main.ts'), execArgv: ['--import', join(ROOT, 'scripts/register-ts.js')],
    args: [workdir, String(steps)], env: { ...process.env, OMP_NUM_THREADS: '1', ...env }, graceMs,
    out: (l) => out.push(l), err: (l) => err.push(l),
  });
  return { code, out: out.join(''), err: err.join('') };
}

/** The same job in this process, alone (resuming from `workdir` when it holds a resume point); its eval losses. */
async function oneProcess(workdir: string, steps: number): Promise<Map<number, number>> {
  const evalLoss = new Map<number, number>();
  const t = new Trainer(loadConfig('fmnist_small', [...TINY, ...DP_TINY]), workdir, {
    datasets: { train: fakeData(64, 1), test: fakeData(16, 2) }, stopAtStep: steps,
    logger: { log: (step, s) => { if ('eval_loss' in s) evalLoss.set(step, s.eval_loss!); } },
  });
  try {
    t.resume();
    await t.run();
  } finally {
    t.dispose();
  }
  return evalLoss;
}

/** The eval losses rank 0 printed equal one process's up to float32 rounding (mean of 2 shard means vs one mean). */
function expectEvalLosses(out: string, expected: Map<number, number>): void {
  const got = out.trim().split('\n').filter((l) => l.startsWith('{"step"')).map((l) => JSON.parse(l) as { step: number; eval_loss: number });
  expect(got.length).toBeGreaterThan(0);
  for (const { step, eval_loss } of got) expect(Math.abs(eval_loss - expected.get(step)!) / expected.get(step)!).toBeLessThan(1e-5);
}

function maxAbsDiff(a: HostTensor[], b: HostTensor[]): number {
  expect(a.map((t) => [t.dtype, t.shape])).toEqual(b.map((t) => [t.dtype, t.shape]));
  let m = 0;
  a.forEach((t, i) => { const u = b[i]!.data; t.data.forEach((v, j) => { m = Math.max(m, Math.abs(Number(v) - Number(u[j]))); }); });
  return m;
}

/**
 * The tolerance. Both runs see the same examples and the same noise (src/losses/shard.ts); what differs is
 * float32 summation order (the mean over 8 rows against the average of two means over 4; convolution
 * reductions over batch 4 against 8): ~1e-7 relative in each gradient. Adam divides by √v, so an early
 * update is ≈ lr·sign(g) and could flip for a gradient component ≈ 0: up to ~lr = 5e-4 per step (fmnist_small,
 * no warm-up here). Measured (libtorch 1.13, OpenBLAS, 1 thread per process): ≤ 4e-8 on weights and EMA, ≤ 9e-8 on Adam's first moments after
 * 2 and 4 steps, i.e. float32 rounding and no flips. 1e-6 leaves 10× margin for other BLAS and thread counts,
 * and any real mismatch (wrong rows or noise) moves weights by ~lr per step, 500× more.
 */
const TOL = 1e-6;

function expectSameState(a: LoadedCheckpoint, b: LoadedCheckpoint): void {
  expect(b.checkpoint.step).toBe(a.checkpoint.step);
  expect([...b.checkpoint.model.keys()]).toEqual([...a.checkpoint.model.keys()]); // identical layout
  expect(maxAbsDiff([...a.checkpoint.model.values()], [...b.checkpoint.model.values()])).toBeLessThan(TOL);
  expect(maxAbsDiff(a.checkpoint.ema.shadowParams, b.checkpoint.ema.shadowParams)).toBeLessThan(TOL);
  expect(b.checkpoint.optimizer.step).toEqual(a.checkpoint.optimizer.step);
  expect(maxAbsDiff(a.checkpoint.optimizer.expAvg as HostTensor[], b.checkpoint.optimizer.expAvg as HostTensor[])).toBeLessThan(TOL);
  // The data positions and the noise generators' states are the same bytes: the job drew what one process draws.
  expect(b.extras!.json.data).toEqual(a.extras!.json.data);
  expect(Object.keys(b.extras!.blobs)).toEqual(Object.keys(a.extras!.blobs));
  for (const k of Object.keys(a.extras!.blobs)) expect(Buffer.from(b.extras!.blobs[k]!).equals(Buffer.from(a.extras!.blobs[k]!))).toBe(true);
}

/** Both ranks printed their digest (rank 1's lines come prefixed) and the digests are equal. */
function expectRanksAgree(out: string): void {
  const d = out.trim().split('\n').map((l) => l.replace(/^\[rank \d+\] /, '')).filter((l) => l.startsWith('{"rank"'))
    .map((l) => JSON.parse(l) as { rank: number; digest: number });
  expect(d.map((x) => x.rank).sort()).toEqual([0, 1]);
  expect(d[0]!.digest).toBe(d[1]!.digest); // bit-identical ranks: the same averaged gradients, the same update
}

describe.skipIf(!distBackends().gloo)('data-parallel training, 2 Gloo processes', () => {
  it('2 ranks equal one process on the same global batch, resume each other\'s checkpoints, and write one layout', async () => {
    const ref = mkdtempSync(join(tmpdir(), 'sf-dpref-'));
    const evalLoss = await oneProcess(ref, 2);
    const ref2 = readCheckpoint(META(ref));
    for (const [k, v] of await oneProcess(ref, 4)) evalLoss.set(k, v);
    const ref4 = readCheckpoint(META(ref));
    // 2 ranks from scratch to step 2 (= one process's step 2), then one process on to step 4.
    const twoThenOne = mkdtempSync(join(tmpdir(), 'sf-dp21-'));
    const a = await twoRanks(twoThenOne, 2);
    expect(a.code, a.err).toBe(0);
    expectRanksAgree(a.out);
    expectEvalLosses(a.out, evalLoss);
    expectSameState(ref2, readCheckpoint(META(twoThenOne)));
    await oneProcess(twoThenOne, 4);
    expectSameState(ref4, readCheckpoint(META(twoThenOne)));
    // One process to step 2, then 2 ranks on to step 4 (rank 0 resumes and sends its state to rank 1).
    const oneThenTwo = mkdtempSync(join(tmpdir(), 'sf-dp12-'));
    await oneProcess(oneThenTwo, 2);
    const b = await twoRanks(oneThenTwo, 4);
    expect(b.code, b.err).toBe(0);
    expectRanksAgree(b.out);
    expectEvalLosses(b.out, evalLoss);
    expectSameState(ref4, readCheckpoint(META(oneThenTwo)));
  }, 180_000);

  it('a killed rank stops the job with an error naming it and its last output', async () => {
    const w = mkdtempSync(join(tmpdir(), 'sf-dpkill-'));
    const r = twoRanks(w, 100_000, { SF_TEST_KILL_RANK: '1', SF_TEST_KILL_AT_STEP: '2', SCOREFLOW_DIST_TIMEOUT: '30' });
    await expect(r).rejects.toMatchObject({ code: 'ERR_DIST' });
    await expect(r).rejects.toThrow(/data-parallel job failed: rank 1 of 2 \(pid \d+\) was killed by SIGKILL; its last output:\n {2}\| /);
  }, 180_000);

  it('a hung rank makes the others time out; the error names the rank that was stuck', async () => {
    const w = mkdtempSync(join(tmpdir(), 'sf-dphang-'));
    const r = twoRanks(w, 100_000, { SF_TEST_STOP_RANK: '1', SF_TEST_STOP_AT_STEP: '2', SCOREFLOW_DIST_TIMEOUT: '3' }, 2000);
    await expect(r).rejects.toThrow(/rank 0 of 2 \(pid \d+\) exited with code 1; its last output:[^]*[Tt]imed out[^]*ERR_DIST[^]*stuck \(did not stop within 2 s of SIGTERM, killed\): rank 1 \(last reported step \d\)/);
  }, 180_000);
});
