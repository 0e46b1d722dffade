// Command-line values are checked when the arguments are parsed: the message names the flag the user
// typed (kebab-case, or its snake_case alias), what it takes and what it got (`--max-batches: expected a
// positive integer, received -1`), and `--mode` lists the modes it maps, with a did-you-mean for near misses.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';

const workdir = mkdtempSync(join(tmpdir(), 'sf-cli-'));
const base = ['--config', 'fmnist_small', '--workdir', workdir];
const rejects = (argv: string[], message: string | RegExp, code = 'ERR_ARG') =>
  expect(main(argv)).rejects.toMatchObject({ name: 'ScoreflowError', code, message });

describe('numeric options', () => {
  it('eval --max-batches and the bound options', async () => {
    await rejects(['eval', ...base, '--max-batches=-1'], '--max-batches: expected a positive integer, received -1');
    await rejects(['eval', ...base, '--max-batches', '0'], '--max-batches: expected a positive integer, received 0');
    await rejects(['eval', ...base, '--max-batches', 'abc'], "--max-batches: expected a positive integer, received 'abc'");
    await rejects(['eval', ...base, '--max-batches', '2.5'], '--max-batches: expected a positive integer, received 2.5');
    await rejects(['eval', ...base, '--max-batches'], '--max-batches: expected a positive integer, received no value (write --max-batches=N)');
    await rejects(['eval', ...base, '--max-batches=2', '--max-batches=3'], '--max-batches: expected a positive integer once, received it 2 times (2, 3)');
    await rejects(['eval', ...base, '--bound-samples=0'], '--bound-samples: expected a positive integer, received 0');
    await rejects(['eval', ...base, '--bound-chunk=-2'], '--bound-chunk: expected a positive integer, received -2');
  });

  it('sample --ckpt, --num-samples, --batch-size', async () => {
    await rejects(['sample', ...base, '--ckpt', '-1'], '--ckpt: expected a non-negative integer, received -1');
    await rejects(['sample', ...base, '--num-samples=0'], '--num-samples: expected a positive integer, received 0');
    await rejects(['sample', ...base, '--batch-size=1e-1'], '--batch-size: expected a positive integer, received 0.1');
  });

  it('stats --batch-size, --max-images', async () => {
    const stats = ['stats', '--config', 'fmnist_small', '--out', join(workdir, 's.npz')];
    await rejects([...stats, '--batch-size=-3'], '--batch-size: expected a positive integer, received -3');
    await rejects([...stats, '--max-images', '1'], '--max-images: expected an integer >= 2, received 1');
  });

  it('a bad value is reported under the spelling typed: the snake_case alias or the camel-case expansion', async () => {
    await rejects(['eval', ...base, '--max_batches=-1'], '--max_batches: expected a positive integer, received -1');
    await rejects(['eval', ...base, '--maxBatches', 'abc'], "--maxBatches: expected a positive integer, received 'abc'");
    await rejects(['eval', ...base, '--bound_chunk=0'], '--bound_chunk: expected a positive integer, received 0');
    await rejects(['sample', ...base, '--batch_size=0'], '--batch_size: expected a positive integer, received 0');
    await rejects(['stats', '--config', 'fmnist_small', '--out', join(workdir, 's.npz'), '--max_images=1'], '--max_images: expected an integer >= 2, received 1');
    // Both spellings at once are one flag given twice.
    await rejects(['eval', ...base, '--max_batches=2', '--max-batches=3'], '--max_batches: expected a positive integer once, received it 2 times (2, 3)');
  });

  it('--threads (global, before or after the command)', async () => {
    await rejects(['--threads', '0', 'eval', ...base], '--threads: expected a positive integer, received 0');
    await rejects(['eval', ...base, '--threads=x'], "--threads: expected a positive integer, received 'x'");
  });

  it('valid values reach the command (which then wants the checkpoint)', async () => {
    const missing = new RegExp(`^checkpoint not found: ${join(workdir, 'checkpoints', 'checkpoint_1.pth')} \\(no such file\\); expected a snapshot of \`scoreflow train\``);
    await rejects(['eval', ...base, '--max-batches', '2', '--config.eval.begin_ckpt=1', '--config.eval.end_ckpt=1'], missing, 'ERR_IO');
    await rejects(['--mode', 'eval', ...base, '--max-batches=2', '--config.eval.begin_ckpt=1', '--config.eval.end_ckpt=1'], missing, 'ERR_IO');
  });
});

describe('--mode', () => {
  it('lists the modes it maps', async () => {
    await rejects(['--mode', 'bogus', ...base], "--mode: expected one of train|eval|sample|train_deq, received 'bogus'");
    await rejects([...base, '--mode=stats'], "--mode: expected one of train|eval|sample|train_deq, received 'stats'");
    await rejects([...base, '--mode'], '--mode: expected one of train|eval|sample|train_deq, received no value (write --mode train)');
  });

  it('suggests the closest mode for a near miss', async () => {
    await rejects(['--mode', 'evl', ...base], "--mode: expected one of train|eval|sample|train_deq, received 'evl'; did you mean 'eval'?");
    await rejects(['--mode=Sampel', ...base], "--mode: expected one of train|eval|sample|train_deq, received 'Sampel'; did you mean 'sample'?");
    await rejects(['--mode', 'trian', ...base], "--mode: expected one of train|eval|sample|train_deq, received 'trian'; did you mean 'train'?");
  });

  it('maps score_flow\'s train_deq onto train-deq', async () => {
    const needs = /^train-deq needs a trained score model: .*checkpoint_2\.pth does not exist/;
    await rejects(['--mode', 'train_deq', ...base], needs, 'ERR_CONFIG');
    await rejects(['train-deq', ...base], needs, 'ERR_CONFIG');
  });
});

describe('--device', () => {
  it('is config.device for train, eval, sample and stats: checked by the config pattern', async () => {
    for (const args of [['train', ...base], ['eval', ...base], ['sample', ...base], ['stats', '--config', 'fmnist_small', '--out', join(workdir, 's.npz')]]) {
      await expect(main([...args, '--device', 'gpu0'])).rejects
        .toMatchObject({ code: 'ERR_CONFIG', message: expect.stringMatching(/^config\.device: expected 'auto', 'cpu', 'cuda' or 'cuda:N'.*gpu0/s) });
    }
  });
});
