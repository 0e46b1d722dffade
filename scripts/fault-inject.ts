/**
 * Fault injection for resumption: SIGKILLs a tiny training run at N random moments (start-up, steps,
 * checkpoint saves alike), re-runs the same command each time, and checks that every resumed run ends
 * byte-identical to an uninterrupted one. Counts native crashes (deaths by a signal other than our
 * SIGKILL, exit codes 134/139) and damaged resume points (one that fails to load).
 *
 *   node --import ./scripts/register-ts.js scripts/fault-inject.ts [--n 20] [--seed 1] [--keep]
 *
 * Runs the built CLI (bin/scoreflow.js: `npm run build:ts` first) and needs Debian's dataset-fashion-mnist.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readReferenceCheckpoint } from '../src/formats/reference-checkpoint.js';

const { values: opt } = parseArgs({ options: { n: { type: 'string', default: '20' }, seed: { type: 'string', default: '1' }, keep: { type: 'boolean', default: false } } });
const N = Number(opt.n);
if (!Number.isSafeInteger(N) || N < 1) throw new Error(`--n: expected a positive integer, received '${opt.n}'`);

const ROOT = new URL('../', import.meta.url).pathname;
const N_ITERS = 24;
// Tiny model, a resume point every 2 steps: kills land in start-up, steps and saves.
const OVERRIDES = [
  '--config.model.nf=8', '--config.training.batch_size=4', `--config.training.n_iters=${N_ITERS}`,
  '--config.training.snapshot_freq_for_preemption=2', '--config.training.log_freq=4', '--config.training.eval_freq=8',
  `--config.training.snapshot_freq=${N_ITERS}`, '--config.training.snapshot_sampling=false', '--config.optim.warmup=2', '--config.device=cpu',
];

interface Exit { code: number | null; signal: NodeJS.Signals | null; err: string; ms: number }

/** Starts `train` on `workdir`; with `killAfterMs`, SIGKILLs it then (if still running). */
function train(workdir: string, killAfterMs?: number): Promise<Exit> {
  const t0 = performance.now();
  const p = spawn(process.execPath, [join(ROOT, 'bin/scoreflow.js'), 'train', '--config', 'fmnist_small', '--workdir', workdir, ...OVERRIDES],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr!.on('data', (d) => { err += d; });
  const timer = killAfterMs === undefined ? undefined : setTimeout(() => p.kill('SIGKILL'), killAfterMs);
  return new Promise((res) => p.on('exit', (code, signal) => {
    clearTimeout(timer);
    res({ code, signal, err, ms: performance.now() - t0 });
  }));
}

/** Weights, EMA and Adam moments of the final snapshot, as raw bytes. */
function finalBytes(workdir: string): Buffer[] {
  const ck = readReferenceCheckpoint(join(workdir, 'checkpoints', 'checkpoint_1.pth'));
  if (ck.step !== N_ITERS) throw new Error(`final snapshot of ${workdir} is at step ${ck.step}`);
  return [...ck.model.values(), ...ck.ema.shadowParams, ...ck.optimizer.expAvg.map((t) => t!), ...ck.optimizer.expAvgSq.map((t) => t!)]
    .map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

const nativeCrash = (e: Exit, ours: boolean) => (e.signal !== null && !(ours && e.signal === 'SIGKILL')) || e.code === 134 || e.code === 139;

/** mulberry32: reproducible kill moments for a given --seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const base = mkdtempSync(join(tmpdir(), 'sf-fault-'));
const ref = await train(join(base, 'reference'));
if (ref.code !== 0) throw new Error(`the uninterrupted run failed (exit ${ref.code ?? ref.signal}):\n${ref.err}`);
const want = finalBytes(join(base, 'reference'));
console.log(`uninterrupted run: ${(ref.ms / 1000).toFixed(1)} s; killing ${N} runs at uniform moments in [0, ${(ref.ms / 1000).toFixed(1)} s]`);

const random = rng(Number(opt.seed));
const tally = { killed: 0, finishedFirst: 0, identical: 0, different: 0, failedResume: 0, nativeCrashes: 0, damaged: 0, staleLocks: 0, tempsRemoved: 0, leftovers: 0 };
const resumedAt: Record<string, number> = {};
for (let i = 0; i < N; i++) {
  const w = join(base, `run${i}`);
  const at = Math.round(random() * ref.ms);
  const k = await train(w, at);
  if (nativeCrash(k, true)) tally.nativeCrashes++;
  if (k.signal === 'SIGKILL') tally.killed++;
  else if (k.code === 0) tally.finishedFirst++;
  const meta = join(w, 'checkpoints-meta');
  for (const f of ['checkpoint.pth', 'checkpoint.prev.pth'].map((n) => join(meta, n)).filter(existsSync)) {
    try { readReferenceCheckpoint(f); } catch (e) {
      tally.damaged++;
      console.log(`  run ${i}: damaged resume point ${f}: ${(e as Error).message}`);
    }
  }
  const r = await train(w);
  if (nativeCrash(r, false)) tally.nativeCrashes++;
  if (r.code !== 0) {
    tally.failedResume++;
    console.log(`  run ${i}: the re-run failed (exit ${r.code ?? r.signal}): ${r.err.trim().split('\n').pop()}`);
    continue;
  }
  const step = /resuming at step (\d+)/.exec(r.err)?.[1] ?? (/starting at step 0/.test(r.err) ? '0' : 'none');
  resumedAt[step] = (resumedAt[step] ?? 0) + 1;
  tally.staleLocks += /took over the stale lock/.test(r.err) ? 1 : 0;
  tally.tempsRemoved += (r.err.match(/removed .*\.tmp/g) ?? []).length;
  tally.leftovers += [meta, join(w, 'checkpoints')].flatMap((d) => (existsSync(d) ? readdirSync(d) : [])).filter((f) => f.endsWith('.tmp')).length
    + (existsSync(join(w, 'scoreflow.lock')) ? 1 : 0);
  const got = finalBytes(w);
  const same = got.length === want.length && got.every((b, j) => b.equals(want[j]!));
  if (same) tally.identical++;
  else {
    tally.different++;
    console.log(`  run ${i}: killed at ${at} ms, resumed at step ${step}: final state differs from the uninterrupted run`);
  }
}

console.log(`\nsummary over ${N} runs (seed ${opt.seed}):`);
console.log(`  killed by our SIGKILL:                 ${tally.killed} (finished before the kill: ${tally.finishedFirst})`);
console.log(`  resumed-at step (count):               ${Object.entries(resumedAt).sort((a, b) => Number(a[0]) - Number(b[0])).map(([s, c]) => `${s}:${c}`).join(' ')}`);
console.log(`  re-runs byte-identical to uninterrupted: ${tally.identical} / ${N}`);
console.log(`  re-runs that differ:                   ${tally.different}`);
console.log(`  re-runs that failed:                   ${tally.failedResume}`);
console.log(`  native crashes:                        ${tally.nativeCrashes}`);
console.log(`  damaged resume points:                 ${tally.damaged}`);
console.log(`  stale locks taken over:                ${tally.staleLocks}`);
console.log(`  stale temp files removed:              ${tally.tempsRemoved}`);
console.log(`  temp/lock files left after re-runs:    ${tally.leftovers}`);
if (!opt.keep) rmSync(base, { recursive: true, force: true });
else console.log(`  workdirs kept in ${base}`);
process.exitCode = tally.different + tally.failedResume + tally.nativeCrashes + tally.damaged + tally.leftovers > 0 ? 1 : 0;
