/** The command registry: name, options and a lazy loader of the implementation. */
import type { Argv } from 'yargs';

export type CommandRun = (args: Record<string, unknown>, overrides: string[]) => Promise<void>;

export interface CommandSpec {
  command: string;
  describe: string;
  builder: (y: Argv) => Argv;
  load: () => Promise<CommandRun>;
}

const configOptions = (y: Argv) => y
  .option('config', { type: 'string', demandOption: true, describe: 'config name (e.g. fmnist_small, score_flow/vp/cifar10_ddpmpp_continuous) or JSON file' })
  .option('workdir', { type: 'string', demandOption: true, describe: 'run folder (checkpoints, logs, samples)' });

export const COMMANDS: CommandSpec[] = [
  {
    command: 'train',
    describe: 'train a score model (resumes from <workdir>/checkpoints-meta when present)',
    builder: (y) => configOptions(y).option('steps', { type: 'number', describe: 'stop after this many total steps (default: training.n_iters)' }),
    load: async () => (await import('./train.js')).run,
  },
  {
    command: 'sample',
    describe: 'draw samples from the EMA weights of a checkpoint (config.sampling) into <out>/ckpt_<c>/samples_<r>.npz + .png; resumable',
    builder: (y) => configOptions(y)
      .option('ckpt', { type: 'number', describe: 'checkpoint number: <workdir>/checkpoints/checkpoint_<N>.pth (default eval.ckpt_id)' })
      .option('checkpoint', { type: 'string', describe: 'any checkpoint file instead (training checkpoint, state dict, .safetensors, flax State)' })
      .option('num_samples', { type: 'number', describe: 'samples to draw, in full batches (default eval.num_samples)' })
      .option('batch_size', { type: 'number', describe: 'samples per round (default eval.batch_size)' })
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
    describe: 'list the keys, shapes, dtypes and parameter count of a checkpoint and the configs it matches',
    builder: (y) => y.positional('file', { type: 'string', demandOption: true }).option('keys', { type: 'boolean', default: false, describe: 'print every key' }),
    load: async () => (await import('./inspect.js')).run,
  },
  {
    command: 'stats',
    describe: 'Inception pool_3 activations of a dataset as a reference stats .npz (pool_3, mu, sigma, logits) for FID/KID',
    builder: (y) => y
      .option('config', { type: 'string', demandOption: true, describe: 'config whose data section names the dataset' })
      .option('out', { type: 'string', demandOption: true, describe: 'output .npz' })
      .option('inception', { type: 'string', describe: 'Inception weights: pytorch-fid pt_inception-2015-12-05-6726825d.pth or a conversion (default: $SCOREFLOW_INCEPTION)' })
      .option('split', { choices: ['train', 'test'] as const, default: 'train' })
      .option('batch-size', { type: 'number', default: 50 })
      .option('max-images', { type: 'number', describe: 'use only the first N images' })
      .option('device', { type: 'string', describe: "'cpu', 'cuda', 'cuda:N' or 'auto' (default: config.device)" }),
    load: async () => (await import('./stats.js')).run,
  },
  {
    command: 'eval',
    describe: 'evaluate snapshot checkpoints eval.begin_ckpt..end_ckpt: eval loss, bits/dim (probability-flow ODE, or the bound with eval.bound); resumable',
    builder: (y) => configOptions(y)
      .option('eval_folder', { type: 'string', default: 'eval', describe: 'results folder under the workdir' })
      .option('max_batches', { type: 'number', describe: 'only the first N batches of each pass (quick estimates)' })
      .option('bound_samples', { type: 'number', default: 1000, describe: 'time samples per example for eval.bound' })
      .option('bound_chunk', { type: 'number', default: 1, describe: 'bound time samples per network call (memory vs speed)' }),
    load: async () => (await import('./eval.js')).run,
  },
];
