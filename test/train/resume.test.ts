import { describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readReferenceCheckpoint } from '../../src/formats/reference-checkpoint.js';
import { FASHION_MNIST_DEFAULT_ROOT } from '../../src/data/index.js';

const ROOT = new URL('../../', import.meta.url).pathname;
// A tiny model and few steps: the point is exactness of resumption, not learning.
const OVERRIDES = [
  '--config.model.nf=8', '--config.training.batch_size=4', '--config.training.n_iters=8',
  '--config.training.snapshot_freq_for_preemption=2', '--config.training.log_freq=2', '--config.training.eval_freq=4',
  '--config.training.snapshot_freq=8', '--config.optim.warmup=2', '--config.device=cpu',
];

function startTrain(workdir: string): ChildProcess {
  return spawn(process.execPath, ['--import', './scripts/register-ts.js', 'scripts/dev-cli.ts', 'train',
    '--config', 'fmnist_small', '--workdir', workdir, ...OVERRIDES], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

function finish(p: ChildProcess): Promise<{ code: number | null; signal: string | null; err: string }> {
  let err = '';
  p.stderr!.on('data', (d) => { err += d; });
  p.stdout!.resume();
  return new Promise((res) => p.on('exit', (code, signal) => res({ code, signal, err })));
}

async function waitFor(path: string, p: ChildProcess, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!existsSync(path)) {
    if (p.exitCode !== null) throw new Error('trainer exited before writing ' + path);
    if (Date.now() - t0 > ms) throw new Error('timed out waiting for ' + path);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function finalParams(workdir: string): Float32Array[] {
  const ck = readReferenceCheckpoint(join(workdir, 'checkpoints', 'checkpoint_1.pth'));
  expect(ck.step).toBe(8);
  return [...ck.model.values(), ...ck.ema.shadowParams, ...ck.optimizer.expAvg.map((t) => t!)].map((t) => t.data as Float32Array);
}

describe.skipIf(!existsSync(FASHION_MNIST_DEFAULT_ROOT))('resumption (needs Debian dataset-fashion-mnist)', () => {
  it('a run killed with SIGKILL and resumed, and one stopped with SIGINT and resumed, end identical to an uninterrupted run', async () => {
    const base = mkdtempSync(join(tmpdir(), 'sf-resume-'));
    const [full, killed, interrupted] = ['full', 'killed', 'interrupted'].map((d) => join(base, d));

    const a = await finish(startTrain(full));
    expect(a.code, a.err).toBe(0);

    const meta = (w: string) => join(w, 'checkpoints-meta', 'checkpoint.pth');
    const k = startTrain(killed);
    const kDone = finish(k);
    await waitFor(meta(killed), k);
    k.kill('SIGKILL');
    expect((await kDone).signal).toBe('SIGKILL');
    const k2 = await finish(startTrain(killed));
    expect(k2.code, k2.err).toBe(0);
    expect(k2.err).toMatch(/resuming at step [2-8]/);
    expect(k2.err).toMatch(/took over the stale lock .* of pid \d+ \(no longer running/);

    const s = startTrain(interrupted);
    const sDone = finish(s);
    await waitFor(meta(interrupted), s);
    s.kill('SIGINT');
    const sRes = await sDone;
    // 128 + SIGINT, after saving (a SIGINT that lands after the last step finds the run done: exit 0).
    expect(sRes.code, sRes.err).toBe(/stopped by SIGINT/.test(sRes.err) ? 130 : 0);
    expect(sRes.err).toMatch(/stopped by SIGINT \(resume point saved|done at step 8/);
    const s2 = await finish(startTrain(interrupted));
    expect(s2.code, s2.err).toBe(0);

    const want = finalParams(full);
    for (const w of [killed, interrupted]) {
      const got = finalParams(w);
      expect(got.length).toBe(want.length);
      got.forEach((t, i) => expect(Buffer.compare(Buffer.from(t.buffer, t.byteOffset, t.byteLength), Buffer.from(want[i]!.buffer, want[i]!.byteOffset, want[i]!.byteLength))).toBe(0));
      expect(readdirSync(join(w, 'checkpoints-meta')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      expect(existsSync(join(w, 'scoreflow.lock'))).toBe(false);
    }
  }, 300_000);
});
