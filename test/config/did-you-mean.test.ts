// Unknown config keys, from a command-line override or a JSON file, are rejected naming the key, the
// nearest valid key and the list of valid ones.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { closest, editDistance } from '../../src/suggest.js';

const message = (fn: () => unknown): string => {
  try { fn(); } catch (e) { expect((e as { code?: string }).code).toBe('ERR_CONFIG'); return (e as Error).message; }
  throw new Error('expected a ConfigError');
};

describe('suggest', () => {
  it('edit distance', () => {
    expect(editDistance('n_iter', 'n_iters')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
  it('closest: a near miss only', () => {
    expect(closest('n_iter', ['batch_size', 'n_iters', 'log_freq'])).toBe('n_iters');
    expect(closest('Evl', ['train', 'eval'])).toBe('eval');
    expect(closest('zzzzzz', ['train', 'eval'])).toBeUndefined();
    expect(closest('ab', ['xy'])).toBeUndefined(); // 2 edits of a 2-letter word is another word
  });
});

describe('unknown config keys: did you mean', () => {
  it('a CLI override names the key, the nearest valid key and the list', () => {
    const m = message(() => loadConfig('fmnist_small', ['--config.training.n_iter=5']));
    expect(m).toBe("override \"--config.training.n_iter=5\": unknown config key 'training.n_iter'; did you mean 'training.n_iters'? " +
      "valid keys under 'training': batch_size, n_iters, snapshot_freq, log_freq, eval_freq, snapshot_freq_for_preemption, snapshot_sampling, " +
      'likelihood_weighting, importance_weighting, continuous, reduce_mean, sde, smallest_time, score_matching_order, n_jitted_steps, precision, allow_tf32');
  });

  it('a misspelt section, a field in the wrong section, a field given as a section', () => {
    expect(message(() => loadConfig('fmnist_small', ['--config.trainng.n_iters=5']))).toContain("unknown config key 'trainng'; did you mean 'training'? valid keys at the top level:");
    expect(message(() => loadConfig('fmnist_small', ['--config.training.lr=1']))).toContain("unknown config key 'training.lr'; did you mean 'optim.lr'? valid keys under 'training':");
    expect(message(() => loadConfig('fmnist_small', ['--config.optimizer.lr=1']))).toContain("unknown config key 'optimizer'; did you mean 'optim.lr'?");
  });

  it('no suggestion when nothing is near', () => {
    const m = message(() => loadConfig('fmnist_small', ['--config.model.zzzzzzzz=1']));
    expect(m).toContain("unknown config key 'model.zzzzzzzz'; valid keys under 'model': name, nf");
    expect(m).not.toContain('did you mean');
  });

  it('a JSON config file: the file, the key, the nearest key and the list', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-cfg-near-'));
    const file = join(dir, 'mine.json');
    writeFileSync(file, JSON.stringify({ extends: 'fmnist_small', training: { n_iter: 5 }, model: { ema_rat: 0.9 } }));
    const m = message(() => loadConfig(file));
    expect(m).toContain(`invalid config file ${file}:`);
    expect(m).toContain(`unknown config key 'training.n_iter' in ${file}; did you mean 'training.n_iters'? valid keys under 'training': batch_size, n_iters`);
    expect(m).toContain(`unknown config key 'model.ema_rat' in ${file}; did you mean 'model.ema_rate'? valid keys under 'model':`);
    writeFileSync(file, JSON.stringify({ extends: 'fmnist_small', batch_size: 5 }));
    expect(message(() => loadConfig(file))).toContain(`unknown config key 'batch_size' in ${file}; did you mean 'training.batch_size' or 'eval.batch_size'?`);
  });
});
