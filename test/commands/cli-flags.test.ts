// One flag style: kebab-case names, the references' snake_case spellings as aliases that reach the same
// option; help shows the kebab names; `--threads` sets libtorch's intra-op threads; `--config.*`
// overrides are split off before the flags are parsed.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import yargs from 'yargs';
import { main, splitOverrides } from '../../src/cli.js';
import { COMMANDS } from '../../src/commands/index.js';
import { numThreads, setNumThreads } from '../../src/device.js';
import { REFERENCE_FIXTURES } from '../reference-fixtures.js';

/** The options `argv` parses to for its command (first word), without running it. */
async function parse(argv: string[]): Promise<Record<string, unknown>> {
  const c = COMMANDS.find((x) => x.command.split(' ')[0] === argv[0])!;
  let parsed: Record<string, unknown> = {};
  await yargs(argv).strict().fail((msg, err) => { throw err ?? new Error(msg); })
    .command(c.command, c.describe, (y) => c.builder(y, argv), (a) => { parsed = a; }).parseAsync();
  return parsed;
}

const workdir = mkdtempSync(join(tmpdir(), 'sf-flags-'));
const base = ['--config', 'fmnist_small', '--workdir', workdir];

describe('kebab-case flags with snake_case aliases', () => {
  it('eval: both spellings reach the kebab-case option', async () => {
    for (const style of ['kebab', 'snake'] as const) {
      const f = (name: string) => (style === 'snake' ? name.replaceAll('-', '_') : name);
      const a = await parse(['eval', ...base, `--${f('max-batches')}=3`, `--${f('bound-samples')}`, '7', `--${f('bound-chunk')}=2`,
        `--${f('eval-folder')}`, 'ev2', '--watch', `--${f('watch-timeout')}=5`]);
      expect([a['max-batches'], a['bound-samples'], a['bound-chunk'], a['eval-folder'], a.watch, a['watch-timeout']]).toEqual([3, 7, 2, 'ev2', true, 5]);
    }
  });

  it('sample, stats and train: both spellings', async () => {
    for (const [kebab, snake] of [['--num-samples=8', '--num_samples=8'], ['--batch-size=4', '--batch_size=4']]) {
      for (const spelling of [kebab, snake]) {
        const a = await parse(['sample', ...base, spelling]);
        const name = kebab.slice(2).split('=')[0]!;
        expect(a[name]).toBe(Number(kebab.split('=')[1]));
      }
    }
    for (const spelling of ['--max-images', '--max_images']) {
      const a = await parse(['stats', '--config', 'fmnist_small', '--out', 'o.npz', spelling, '10', '--batch_size', '5']);
      expect([a['max-images'], a['batch-size']]).toEqual([10, 5]);
    }
    for (const spelling of ['--allow-change', '--allow_change']) {
      const a = await parse(['train', ...base, spelling, 'optim.lr', spelling, 'training.n_iters']);
      expect(a['allow-change']).toEqual(['optim.lr', 'training.n_iters']);
    }
  });

  it('defaults apply under the kebab-case name', async () => {
    const a = await parse(['eval', ...base]);
    expect([a['bound-samples'], a['bound-chunk'], a['eval-folder']]).toEqual([1000, 1, 'eval']);
  });

  it('--watch-timeout needs --watch', async () => {
    await expect(parse(['eval', ...base, '--watch-timeout', '5'])).rejects.toThrow(/watch-timeout -> watch/);
  });

  it('help lists the kebab-case name first, with its alias', async () => {
    const c = COMMANDS.find((x) => x.command === 'eval')!;
    const help = await c.builder(yargs([]), []).getHelp();
    for (const name of ['max-batches', 'bound-samples', 'bound-chunk', 'eval-folder', 'watch-timeout']) {
      expect(help).toContain(`--${name}, --${name.replaceAll('-', '_')}`);
    }
    expect(help).toMatch(/--device\b/);
  });
});

describe('--config overrides next to the flags', () => {
  it('are split off in all three forms, the other arguments kept in order', () => {
    expect(splitOverrides(['eval', '--config', 'fmnist_small', '--config.eval.batch_size=4', '--max-batches', '2',
      '--config.model.nf', '8', '--config.training.continuous', '--watch'])).toEqual({
      rest: ['eval', '--config', 'fmnist_small', '--max-batches', '2', '--watch'],
      overrides: ['--config.eval.batch_size=4', '--config.model.nf=8', '--config.training.continuous=true'],
    });
  });

  it('reach the config (a bad one fails naming the override)', async () => {
    await expect(main(['eval', ...base, '--max-batches=2', '--config.eval.batch_size=0'])).rejects
      .toMatchObject({ code: 'ERR_CONFIG', message: 'config.eval.batch_size: expected an integer >= 1, received 0 (number) (set by override "--config.eval.batch_size=0")' });
  });
});

describe('--threads', () => {
  const before = { threads: numThreads(), env: process.env.OMP_NUM_THREADS };
  afterEach(() => {
    setNumThreads(before.threads);
    if (before.env === undefined) delete process.env.OMP_NUM_THREADS;
    else process.env.OMP_NUM_THREADS = before.env;
  });

  it('sets OMP_NUM_THREADS and the loaded libtorch\'s intra-op threads before the command runs', async () => {
    const want = before.threads === 1 ? 2 : 1;
    const log = console.log;
    console.log = () => {};
    try {
      await main(['--threads', String(want), 'inspect', REFERENCE_FIXTURES + 'a_ddpmpp.pth']);
    } finally {
      console.log = log;
    }
    expect(process.env.OMP_NUM_THREADS).toBe(String(want));
    expect(numThreads()).toBe(want);
  });
});
