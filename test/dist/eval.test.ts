// Data-parallel evaluation on 2 Gloo processes against one process: the bits/dim rounds are dealt out to the
// ranks and gathered (each computed once, as one process computes it); the eval loss of each batch is the
// average of the ranks' row shards.
import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { runEvaluation, readRoundFile } from '../../src/eval/index.js';
import { readNpzFile } from '../../src/formats/npz.js';
import { launch } from '../../src/dist/launch.js';
import { distBackends } from '../../src/dist/process-group.js';
import { writeUntrainedCheckpoint } from '../eval/helpers.js';
import { EVAL_TINY, evalDataset } from './eval-fixture.js';

const ROOT = new URL('../../', import.meta.url).pathname;

describe.skipIf(!distBackends().gloo)('data-parallel eval, 2 Gloo processes', () => {
  it('bits/dim rounds equal one process\'s exactly; eval losses agree to float32 rounding; rank 0 writes', async () => {
    const config = loadConfig('fmnist_small', EVAL_TINY);
    const one = mkdtempSync(join(tmpdir(), 'sf-dpeval1-'));
    const two = mkdtempSync(join(tmpdir(), 'sf-dpeval2-'));
    writeUntrainedCheckpoint(config, join(one, 'checkpoints', 'checkpoint_1.pth'));
    mkdirSync(join(two, 'checkpoints'));
    copyFileSync(join(one, 'checkpoints', 'checkpoint_1.pth'), join(two, 'checkpoints', 'checkpoint_1.pth'));
    await runEvaluation(config, one, { datasets: { test: evalDataset() }, log: () => {}, progressStream: { write: () => true } });
    let err = '';
    const code = await launch({
      nproc: 2, script: join(ROOT, 'test/dist/eval-rank.ts'), execArgv: ['--import', join(ROOT, 'scripts/register-ts.js')],
      args: [two], out: () => {}, err: (l) => { err += l; },
    });
    expect(code, err).toBe(0);
    const files = (w: string) => readdirSync(join(w, 'eval')).sort();
    expect(files(two)).toEqual(files(one));
    for (let k = 0; k < 4; k++) {
      const f = `test_ckpt_1_bpd_${k}.npz`;
      expect(Array.from(readRoundFile(join(two, 'eval', f))!)).toEqual(Array.from(readRoundFile(join(one, 'eval', f))!));
    }
    const summary = (w: string) => { const s = JSON.parse(readFileSync(join(w, 'eval', 'test_ckpt_1_bpd_summary.json'), 'utf8')); delete s.nfePerBatch; return s; };
    expect(summary(two)).toEqual(summary(one));
    const losses = (w: string) => Array.from(readNpzFile(join(w, 'eval', 'ckpt_1_loss.npz')).get('all_losses')!.data as Float64Array | Float32Array);
    const [a, b] = [losses(one), losses(two)];
    expect(b.length).toBe(a.length);
    // The mean of two 1-row means against one 2-row mean: float32 rounding of the network and the reduction.
    b.forEach((v, i) => expect(Math.abs(v - a[i]!) / Math.abs(a[i]!)).toBeLessThan(1e-5));
  }, 180_000);
});
