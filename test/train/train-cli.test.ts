import { describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FASHION_MNIST_DEFAULT_ROOT } from '../../src/data/index.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const OVERRIDES = ['--config.model.nf=8', '--config.training.batch_size=4', '--config.training.n_iters=100000',
  '--config.training.snapshot_freq_for_preemption=2', '--config.training.snapshot_sampling=false', '--config.device=cpu'];

function startTrain(workdir: string): { p: ChildProcess; done: Promise<{ code: number | null; err: string }> } {
  const p = spawn(process.execPath, ['--import', './scripts/register-ts.js', 'scripts/dev-cli.ts', 'train',
    '--config', 'fmnist_small', '--workdir', workdir, ...OVERRIDES], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr!.on('data', (d) => { err += d; });
  return { p, done: new Promise((res) => p.on('exit', (code) => res({ code, err }))) };
}

async function waitFor(path: string, p: ChildProcess): Promise<void> {
  while (!existsSync(path)) {
    if (p.exitCode !== null) throw new Error(`trainer exited before writing ${path}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!existsSync(FASHION_MNIST_DEFAULT_ROOT))('train command (needs Debian dataset-fashion-mnist)', () => {
  it('a second run on a locked workdir is refused naming the lock and its owner; SIGTERM saves, unlocks and exits 143', async () => {
    const w = mkdtempSync(join(tmpdir(), 'sf-cli-'));
    const first = startTrain(w);
    await waitFor(join(w, 'checkpoints-meta', 'checkpoint.pth'), first.p);
    const second = await startTrain(w).done;
    expect(second.code).toBe(1);
    expect(second.err).toContain(`--workdir ${w} is in use by another run: ${join(w, 'scoreflow.lock')} is held by pid ${first.p.pid} on this host`);
    first.p.kill('SIGTERM');
    const r = await first.done;
    expect(r.code, r.err).toBe(143);
    expect(r.err).toMatch(/stopped by SIGTERM \(resume point saved; re-run the same command to resume\) at step \d+/);
    expect(existsSync(join(w, 'scoreflow.lock'))).toBe(false);
  }, 120_000);
});
