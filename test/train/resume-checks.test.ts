import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyTrainer, train } from './tiny-trainer.js';
import { DEFAULT_CONFIG, flattenConfig, loadConfig } from '../../src/config/index.js';
import { checkResumeConfig, FREELY_CHANGEABLE } from '../../src/train/resume-config.js';

const newWorkdir = () => mkdtempSync(join(tmpdir(), 'sf-resume-check-'));

describe('resume checks', () => {
  let w: string;
  beforeAll(async () => {
    w = newWorkdir();
    await train(w, ['training.n_iters=2']);
  });

  it('refuses a config change that alters what the weights mean, listing each field old → new, and keeps config.json', () => {
    const before = readFileSync(join(w, 'config.json'), 'utf8');
    const t = tinyTrainer(w, ['training.n_iters=4', 'training.sde=subvpsde', 'optim.lr=1e-3']);
    try {
      expect(() => t.resume()).toThrow(expect.objectContaining({
        code: 'ERR_CONFIG',
        message: `cannot resume from ${t.resumePoints.newest}: it was trained with a different config:\n` +
          '  training.sde: "vpsde" → "subvpsde"\n  optim.lr: 0.0005 → 0.001\n' +
          'These change what the weights mean or how they are trained. Train into a new --workdir, or, to continue these ' +
          'weights under the new values on purpose (e.g. a lower optim.lr after a divergence), re-run with --allow-change training.sde,optim.lr.',
      }));
    } finally {
      t.dispose();
    }
    expect(readFileSync(join(w, 'config.json'), 'utf8')).toBe(before);
  });

  it('accepts a longer run and other logging, reporting the changes; --allow-change lets a named field through', () => {
    const t = tinyTrainer(w, ['training.n_iters=4', 'training.log_freq=2', 'eval.batch_size=8']);
    expect(t.resume()).toEqual({ step: 2, path: t.resumePoints.newest, interrupted: false, changes: [
      { path: 'training.n_iters', from: 2, to: 4 }, { path: 'training.log_freq', from: 1, to: 2 }, { path: 'eval.batch_size', from: 250, to: 8 },
    ] });
    t.dispose();
    const u = tinyTrainer(w, ['training.n_iters=2', 'optim.lr=1e-3'], { allowChanges: ['optim.lr'] });
    expect(u.resume()?.changes).toEqual([{ path: 'optim.lr', from: 0.0005, to: 0.001 }]);
    u.dispose();
  });

  it('a damaged resume point is an error naming it, the cause and the intact previous one', async () => {
    const d = newWorkdir();
    await train(d, ['training.n_iters=2']);
    const t = tinyTrainer(d, ['training.n_iters=2']);
    writeFileSync(t.resumePoints.newest, readFileSync(t.resumePoints.newest).subarray(0, 1000));
    try {
      expect(() => t.resume()).toThrow(expect.objectContaining({
        code: 'ERR_FORMAT',
        message: expect.stringMatching(new RegExp(`^cannot resume from ${t.resumePoints.newest}: truncated zip.*\\. The previous resume point ${t.resumePoints.previous} is kept: move`)),
      }));
    } finally {
      t.dispose();
    }
  });

  it('a --steps at or before the resume point trains nothing', async () => {
    const r = await train(w, ['training.n_iters=4'], { stopAtStep: 1 });
    expect(r.result).toMatchObject({ step: 2, stoppedBy: 'stopAtStep' });
  });
});

describe('resume config rules', () => {
  it('every freely changeable field exists in the schema', () => {
    const paths = flattenConfig(DEFAULT_CONFIG).map(([p]) => p);
    for (const f of FREELY_CHANGEABLE) expect(paths.some((p) => (f.endsWith('.*') ? p.startsWith(f.slice(0, -1)) : p === f)), f).toBe(true);
  });

  it('a field missing from an older saved config counts as its default', () => {
    const config = loadConfig('fmnist_small');
    const older = JSON.parse(JSON.stringify(config)) as { training: Record<string, unknown>; model: Record<string, unknown> };
    delete older.training.smallest_time; // fmnist_small keeps the default
    expect(checkResumeConfig(older, config, [], 'ck.pth')).toEqual([]);
    delete older.model.ema_rate; // fmnist_small sets 0.99, the default is 0.9999
    expect(() => checkResumeConfig(older, config, [], 'ck.pth')).toThrow('model.ema_rate: 0.9999 → 0.99');
  });
});
