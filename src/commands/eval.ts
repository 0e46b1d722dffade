/** `scoreflow eval --config <c> --workdir <dir>`: eval loss and bits/dim (ODE or bound) of snapshot checkpoints. */
import { join, resolve } from 'node:path';
import { loadConfig } from '../config/index.js';
import { checkpointFile } from '../eval/files.js';
import { checkInputFile } from '../formats/input-file.js';
import { launch, withoutOption } from '../dist/launch.js';

export async function run(args: Record<string, unknown>, overrides: string[]): Promise<void> {
  const workdir = resolve(String(args.workdir));
  const loaded = loadConfig(String(args.config), overrides);
  const { begin_ckpt: begin, end_ckpt: end } = loaded.eval;
  // Every snapshot must be a readable file before hours of evaluation start (missing, a folder, no permission).
  const snapshot = {
    what: 'checkpoint',
    expected: `a snapshot of \`scoreflow train\` for each of eval.begin_ckpt..end_ckpt = ${begin}..${end} (training writes checkpoints/checkpoint_<step // snapshot_freq>.pth)`,
  };
  for (let c = begin; c <= end; c++) checkInputFile(checkpointFile(workdir, c), snapshot);
  if (typeof args.nproc === 'number' && args.nproc > 1) {
    // The ranks are this command again, less --nproc, with the torchrun environment (src/dist/launch.ts).
    process.exitCode = await launch({ nproc: args.nproc, args: withoutOption(process.argv.slice(2), 'nproc'), label: 'scoreflow eval' });
    return;
  }
  const { runEvaluation } = await import('../eval/index.js'); // libtorch: only once the inputs are known to be there
  const { joinGroup } = await import('../dist/worker.js');
  // A rank of a data-parallel job when the environment names one: the ranks share the rounds; rank 0 writes.
  const rank = await joinGroup(loaded);
  const config = rank ? { ...loaded, device: rank.device } : loaded;
  const writer = !rank || rank.env.rank === 0;
  const folder = String(args.eval_folder ?? 'eval');
  if (writer) console.error(`scoreflow eval: ${String(args.config)}, checkpoints ${begin}..${end} of ${workdir}; results in ${join(workdir, folder)}`);
  try {
    await runEvaluation(config, workdir, {
      evalFolder: folder,
      maxBatches: args.max_batches as number | undefined,
      boundSamples: args.bound_samples as number | undefined,
      boundChunk: args.bound_chunk as number | undefined,
      group: rank?.group,
      ...(writer ? {} : { log: () => {}, progressStream: { write: () => true } }),
    });
  } finally {
    rank?.dispose();
  }
}
