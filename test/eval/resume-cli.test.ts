/** `scoreflow eval` killed with SIGKILL mid-run and re-run ends with the same files as an uninterrupted run. */
import { describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { FASHION_MNIST_DEFAULT_ROOT } from '../../src/data/index.js';
import { readRoundFile } from '../../src/eval/index.js';
import { writeUntrainedCheckpoint } from './helpers.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const OVERRIDES = ['model.nf=8', 'model.init_scale=1.0', 'eval.batch_size=2', 'eval.num_repeats=1', 'eval.begin_ckpt=1', 'eval.end_ckpt=1',
  'eval.enable_loss=false', 'eval.rtol=1e-2', 'eval.atol=1e-2', 'device=cpu'];
const ROUNDS = 4;

function startEval(workdir: string): ChildProcess {
  return spawn(process.execPath, ['--import', './scripts/register-ts.js', 'scripts/dev-cli.ts', 'eval', '--config', 'fmnist_small',
    '--workdir', workdir, '--max_batches', String(ROUNDS), ...OVERRIDES.map((o) => `--config.${o}`)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

function finish(p: ChildProcess): Promise<{ code: number | null; signal: string | null; err: string }> {
  let err = '';
  p.stderr!.on('data', (d) => { err += d; });
  p.stdout!.resume();
  return new Promise((res) => p.on('exit', (code, signal) => res({ code, signal, err })));
}

const roundFiles = (w: string) => (existsSync(join(w, 'eval')) ? readdirSync(join(w, 'eval')).filter((f) => /^test_ckpt_1_bpd_\d+\.npz$/.test(f)) : []);

describe.skipIf(!existsSync(FASHION_MNIST_DEFAULT_ROOT))('eval resumption after SIGKILL (needs Debian dataset-fashion-mnist)', () => {
  it('re-running a killed eval computes only the missing rounds and ends identical to an uninterrupted run', async () => {
    const base = mkdtempSync(join(tmpdir(), 'sf-eval-kill-'));
    const [full, killed] = ['full', 'killed'].map((d) => join(base, d));
    const config = loadConfig('fmnist_small', OVERRIDES);
    for (const w of [full, killed]) writeUntrainedCheckpoint(config, join(w, 'checkpoints', 'checkpoint_1.pth'));

    const a = await finish(startEval(full));
    expect(a.code, a.err).toBe(0);
    expect(roundFiles(full).length).toBe(ROUNDS);

    const k = startEval(killed);
    const kDone = finish(k);
    const t0 = Date.now();
    while (roundFiles(killed).length < 1 && k.exitCode === null && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 20));
    k.kill('SIGKILL');
    expect((await kDone).signal).toBe('SIGKILL');
    const left = roundFiles(killed).length;
    expect(left).toBeGreaterThanOrEqual(1);
    expect(left).toBeLessThan(ROUNDS);

    const k2 = await finish(startEval(killed));
    expect(k2.code, k2.err).toBe(0);
    expect(k2.err).toContain(`${left} of ${ROUNDS} rounds already in`);
    expect(roundFiles(killed).sort()).toEqual(roundFiles(full).sort());
    for (const f of roundFiles(full)) expect([...readRoundFile(join(killed, 'eval', f))!]).toEqual([...readRoundFile(join(full, 'eval', f))!]);
    expect(readdirSync(join(killed, 'eval')).filter((f) => f.endsWith('.tmp')).length).toBeLessThanOrEqual(1);
    rmSync(base, { recursive: true, force: true });
  }, 300_000);
});
