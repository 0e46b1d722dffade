/** `scoreflow eval --config <c> --workdir <dir>`: eval loss and bits/dim (ODE or bound) of snapshot checkpoints. */
import { join, resolve } from 'node:path';
import { loadConfig } from '../config/index.js';
import { runEvaluation } from '../eval/index.js';

export async function run(args: Record<string, unknown>, overrides: string[]): Promise<void> {
  const workdir = resolve(String(args.workdir));
  const config = loadConfig(String(args.config), overrides);
  const folder = String(args.eval_folder ?? 'eval');
  console.error(`scoreflow eval: ${String(args.config)}, checkpoints ${config.eval.begin_ckpt}..${config.eval.end_ckpt} of ${workdir}; results in ${join(workdir, folder)}`);
  runEvaluation(config, workdir, {
    evalFolder: folder,
    maxBatches: typeof args.max_batches === 'number' ? args.max_batches : undefined,
    boundSamples: typeof args.bound_samples === 'number' ? args.bound_samples : undefined,
    boundChunk: typeof args.bound_chunk === 'number' ? args.bound_chunk : undefined,
  });
}
