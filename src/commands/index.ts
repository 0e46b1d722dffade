/** The command registry: name, options and a lazy loader of the implementation. */
import type { Argv } from 'yargs';
import { flags, integerOptions } from './options.js';

export type CommandRun = (args: Record<string, unknown>, overrides: string[]) => Promise<void>;

export interface CommandSpec {
  command: string;
  describe: string;
  /** `argv` is the command line as typed (for messages that quote the spelling of a flag). */
  builder: (y: Argv, argv: readonly string[]) => Argv;
  load: () => Promise<CommandRun>;
}

const configOption = (y: Argv) => y
  .option('config', { type: 'string', demandOption: true, describe: 'config name (e.g. fmnist_small, score_flow/vp/cifar10_ddpmpp_continuous) or JSON file' });
const workdirOption = { type: 'string', describe: 'run folder (checkpoints, logs, samples)' } as const;
const configOptions = (y: Argv) => configOption(y).option('workdir', { ...workdirOption, demandOption: true });
/**
 * `--device X`: the same as `--config.device=X` (checked by the config's pattern), for every command that
 * computes with tensors. convert and inspect have none: they move tensors between files on the host, and
 * build a model only for its parameter names.
 */
export const deviceOption = (y: Argv) => y
  .option('device', { type: 'string', describe: "'cpu', 'cuda', 'cuda:N' or 'auto' (default: config.device, 'auto' = the first GPU if any)" });

/** The references' `--mode` values (each maps onto the command of that name, `_` read as `-`: train_deq → train-deq). */
export const MODES = ['train', 'eval', 'sample', 'train_deq'] as const;

export const COMMANDS: CommandSpec[] = [
  {
    command: 'train',
    describe: 'train a score model (resumes from <workdir>/checkpoints-meta when present)',
    // train checks --workdir itself, so that a missing or empty one is an ERR_ARG (empty would mean the current folder).
    builder: (y, argv) => flags(integerOptions(deviceOption(configOption(y).option('workdir', workdirOption)), argv, {
      steps: { min: 1, describe: 'stop after this many total steps (default: training.n_iters)' },
      nproc: { min: 1, describe: 'data-parallel: start and supervise this many ranks on this machine (Gloo on CPU, NCCL one GPU per rank; docs/distributed.md)' },
    }), {
      'allow-change': { type: 'string', array: true, describe: 'config fields that may differ from the resume point\'s (e.g. optim.lr); comma-separated or repeated' },
    }),
    load: async () => (await import('./train.js')).run,
  },
  {
    command: 'train-deq',
    describe: 'train the Flow++ variational dequantizer against the score model of <workdir> (into <workdir>/flowpp_dequantizer; resumes)',
    builder: (y, argv) => flags(integerOptions(deviceOption(configOption(y).option('workdir', workdirOption)), argv, {
      steps: { min: 1, describe: 'stop after this many total steps (default: deq.n_iters)' },
    }), {
      'allow-change': { type: 'string', array: true, describe: 'config fields that may differ from the resume point\'s; comma-separated or repeated' },
    }),
    load: async () => (await import('./train-deq.js')).run,
  },
  {
    command: 'sample',
    describe: 'draw samples from the EMA weights of a checkpoint (config.sampling) into <out>/ckpt_<c>/samples_<r>.npz + .png; resumable',
    builder: (y, argv) => integerOptions(deviceOption(configOptions(y)), argv, {
      ckpt: { min: 0, describe: 'checkpoint number: <workdir>/checkpoints/checkpoint_<N>.pth (default eval.ckpt_id)' },
      'num-samples': { min: 1, describe: 'samples to draw, in full batches (default eval.num_samples)' },
      'batch-size': { min: 1, describe: 'samples per round (default eval.batch_size)' },
    })
      .option('checkpoint', { type: 'string', describe: 'any checkpoint file instead (training checkpoint, state dict, .safetensors, flax State)' })
      .option('out', { type: 'string', describe: 'output folder (default <workdir>/eval)' })
      .conflicts('ckpt', 'checkpoint'),
    load: async () => (await import('./sample.js')).run,
  },
  {
    command: 'convert <input> <output>',
    describe: 'convert a reference checkpoint (torch .pth, legacy, flax msgpack) or state dict to ours (.pth) or .safetensors',
    builder: (y) => y
      .positional('input', { type: 'string', demandOption: true })
      .positional('output', { type: 'string', demandOption: true })
      .option('weights', { choices: ['ema', 'raw'] as const, default: 'ema', describe: 'which weights of a training checkpoint' })
      .option('config', { type: 'string', describe: 'model config (needed for flax files: the torch names come from the model)' }),
    load: async () => (await import('./convert.js')).run,
  },
  {
    command: 'inspect <file>',
    describe: 'what a checkpoint holds: keys, shapes, dtypes, parameter count; step, EMA, optimiser and config of a training checkpoint; the configs it matches',
    builder: (y) => y.positional('file', { type: 'string', demandOption: true })
      .option('keys', { type: 'boolean', default: false, describe: 'print every key' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object instead of text' }),
    load: async () => (await import('./inspect.js')).run,
  },
  {
    command: 'stats',
    describe: 'Inception pool_3 activations of a dataset as a reference stats .npz (pool_3, mu, sigma, logits) for FID/KID',
    builder: (y, argv) => integerOptions(deviceOption(y), argv, {
      'batch-size': { min: 1, default: 50, describe: 'images per Inception batch' },
      'max-images': { min: 2, describe: 'use only the first N images' },
    })
      .option('config', { type: 'string', demandOption: true, describe: 'config whose data section names the dataset' })
      .option('out', { type: 'string', demandOption: true, describe: 'output .npz' })
      .option('inception', { type: 'string', describe: 'Inception weights: pytorch-fid pt_inception-2015-12-05-6726825d.pth or a conversion (default: $SCOREFLOW_INCEPTION)' })
      .option('split', { choices: ['train', 'test'] as const, default: 'train' }),
    load: async () => (await import('./stats.js')).run,
  },
  {
    command: 'eval',
    describe: 'evaluate snapshot checkpoints eval.begin_ckpt..end_ckpt: eval loss, bits/dim (probability-flow ODE, or the bound with eval.bound); resumable',
    builder: (y, argv) => flags(integerOptions(deviceOption(configOptions(y)), argv, {
      'max-batches': { min: 1, describe: 'only the first N batches of each pass (quick estimates)' },
      'bound-samples': { min: 1, default: 1000, describe: 'time samples per example for eval.bound' },
      'bound-chunk': { min: 1, default: 1, describe: 'bound time samples per network call (memory vs speed)' },
      'watch-timeout': { min: 1, describe: 'with --watch: give up after waiting this many seconds for one checkpoint (default: wait for ever)' },
      nproc: { min: 1, describe: 'data-parallel: start this many ranks on this machine; they share the rounds (docs/distributed.md)' },
    }), {
      'eval-folder': { type: 'string', default: 'eval', describe: 'results folder under the workdir' },
      watch: { type: 'boolean', describe: 'wait for checkpoints that training has not written yet (as the references do), polling until each is complete' },
    }).implies('watch-timeout', 'watch'),
    load: async () => (await import('./eval.js')).run,
  },
];
