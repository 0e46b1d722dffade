// `scoreflow train --nproc 2` end to end: the launcher, the torchrun environment, rank 0 as the only writer,
// and SIGINT to the launcher: one resume point saved at the step all ranks agreed on, every rank stopped.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FASHION_MNIST_DEFAULT_ROOT } from '../../src/data/index.js';
import { distBackends } from '../../src/dist/process-group.js';
import { readCheckpoint } from '../../src/train/checkpoint.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const OVERRIDES = ['--config.model.nf=8', '--config.training.batch_size=8', '--config.training.n_iters=100000',
  '--config.training.snapshot_freq_for_preemption=2', '--config.training.snapshot_sampling=false', '--config.training.log_freq=1',
  '--config.device=cpu'];

describe.skipIf(!existsSync(FASHION_MNIST_DEFAULT_ROOT) || !distBackends().gloo)('train --nproc 2 (needs Debian dataset-fashion-mnist)', () => {
  it('SIGINT to the launcher saves one resume point at the agreed step and stops both ranks with 130', async () => {
    const w = mkdtempSync(join(tmpdir(), 'sf-dpcli-'));
    const p = spawn(process.execPath, ['--import', './scripts/register-ts.js', 'scripts/dev-cli.ts', 'train', '--nproc', '2',
      '--config', 'fmnist_small', '--workdir', w, ...OVERRIDES], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: '1' } });
    let err = '';
    p.stderr!.on('data', (d) => { err += d; });
    const done = new Promise<number | null>((res) => p.on('exit', (code) => res(code)));
    const meta = join(w, 'checkpoints-meta', 'checkpoint.pth');
    while (!existsSync(meta)) {
      if (p.exitCode !== null) throw new Error(`launcher exited early:\n${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    p.kill('SIGINT');
    expect(await done, err).toBe(130);
    expect(err).toMatch(/started 2 ranks on 127\.0\.0\.1:\d+ \(pids \d+, \d+\), 1 thread\(s\) each/);
    expect(err).toContain('rank 0 of 2 (4 of each batch of 8 per rank)');
    expect(err).toContain('scoreflow train: SIGINT: passed on to all 2 ranks (training stops them after the same step; rank 0 saves the resume point)');
    const stopped = /stopped by SIGINT \(resume point saved; re-run the same command to resume\) at step (\d+)/.exec(err);
    expect(stopped, err).not.toBeNull();
    expect(readCheckpoint(meta).checkpoint.step).toBe(Number(stopped![1]));
    expect(err).not.toContain('[rank 1]'); // rank 1 writes nothing, not even to the terminal
    expect(readdirSync(w).sort()).toEqual(['checkpoints', 'checkpoints-meta', 'config.json', 'metrics.jsonl', 'tensorboard']);
  }, 300_000);
});
