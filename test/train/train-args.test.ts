import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli.js';

const train = (...args: string[]) => main(['train', '--config', 'fmnist_small', ...args]);

describe('train arguments', () => {
  it('an empty or missing --workdir is an ERR_ARG (it would train into the current folder)', async () => {
    await expect(train('--workdir', '')).rejects.toMatchObject({ code: 'ERR_ARG', message: "--workdir: expected a folder for checkpoints and logs, received ''" });
    await expect(train()).rejects.toMatchObject({ code: 'ERR_ARG', message: '--workdir: expected a folder for checkpoints and logs, received undefined' });
  });

  it('a --workdir that is a file is named as such', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'sf-args-')), 'file');
    writeFileSync(f, 'x');
    await expect(train('--workdir', f)).rejects.toMatchObject({ code: 'ERR_ARG', message: expect.stringContaining(`--workdir ${f} is a file`) });
  });

  it('--steps must be a positive integer, reported as given', async () => {
    const w = mkdtempSync(join(tmpdir(), 'sf-args-'));
    for (const [v, shown] of [['abc', "'abc'"], ['0', '0'], ['-1', '-1'], ['1.5', '1.5']]) {
      await expect(train('--workdir', w, '--steps', v!)).rejects.toMatchObject({ code: 'ERR_ARG', message: `--steps: expected a positive integer, received ${shown}` });
    }
  });

  it('--allow-change takes config fields only', async () => {
    const w = mkdtempSync(join(tmpdir(), 'sf-args-'));
    await expect(train('--workdir', w, '--allow-change', 'optim.lr,optim.lrr')).rejects.toMatchObject({
      code: 'ERR_ARG', message: "--allow-change: expected config fields such as optim.lr or training.sde, received 'optim.lrr'" });
  });
});
