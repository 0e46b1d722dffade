/**
 * `scoreflow eval --config <c> --workdir <dir> [--watch [--watch-timeout S]]`: eval loss and bits/dim (ODE
 * or bound) of snapshot checkpoints. Without --watch every snapshot must be there before hours of work
 * start; with it, each is waited for in turn (src/eval/watch.ts) and Ctrl-C while waiting exits with 130.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../config/index.js';
import { checkpointFile } from '../eval/files.js';
import { checkInputFile } from '../formats/input-file.js';
import { launch, withoutOption } from '../dist/launch.js';

const say = (line: string) => console.error(`scoreflow eval: ${line}`);

export async function run(args: Record<string, unknown>, overrides: string[]): Promise<void> {
  const workdir = resolve(String(args.workdir));
  const loaded = loadConfig(String(args.config), overrides);
  const { begin_ckpt: begin, end_ckpt: end } = loaded.eval;
  const watch = args.watch === true;
  const snapshot = {
    what: 'checkpoint',
    expected: `a snapshot of \`scoreflow train\` for each of eval.begin_ckpt..end_ckpt = ${begin}..${end} (training writes ` +
      'checkpoints/checkpoint_<step // snapshot_freq>.pth); pass --watch to wait for checkpoints still to come',
  };
  // Missing, a folder, no permission: said before any work starts. With --watch only a missing one is awaited.
  for (let c = begin; c <= end; c++) {
    const p = checkpointFile(workdir, c);
    if (!watch || existsSync(p)) checkInputFile(p, snapshot);
  }
  if (typeof args.nproc === 'number' && args.nproc > 1) {
    // The ranks are this command again, less --nproc, with the torchrun environment (src/dist/launch.ts).
    process.exitCode = await launch({ nproc: args.nproc, args: withoutOption(process.argv.slice(2), 'nproc'), label: 'scoreflow eval' });
    return;
  }
  const { runEvaluation, watchEvaluation, WatchStopped } = await import('../eval/index.js'); // libtorch: only once the inputs are known
  const { joinGroup } = await import('../dist/worker.js');
  // A rank of a data-parallel job when the environment names one: the ranks share the rounds; rank 0 writes.
  const rank = await joinGroup(loaded);
  const config = rank ? { ...loaded, device: rank.device } : loaded;
  const writer = !rank || rank.env.rank === 0;
  const folder = String(args['eval-folder'] ?? 'eval');
  if (writer) say(`${String(args.config)}, checkpoints ${begin}..${end} of ${workdir}; results in ${join(workdir, folder)}`);
  const opts = {
    evalFolder: folder,
    maxBatches: args['max-batches'] as number | undefined,
    boundSamples: args['bound-samples'] as number | undefined,
    boundChunk: args['bound-chunk'] as number | undefined,
    group: rank?.group,
    ...(writer ? {} : { log: () => {}, progressStream: { write: () => true } }),
  };
  try {
    if (!watch) {
      await runEvaluation(config, workdir, opts);
      return;
    }
    await watchEvaluation(config, workdir, { ...opts, watch: { timeoutS: args['watch-timeout'] as number | undefined } });
  } catch (e) {
    if (!(e instanceof WatchStopped)) throw e;
    if (writer) say(`${e.message}; the checkpoints evaluated so far are in ${join(workdir, folder)}, and a re-run skips their finished rounds`);
    process.exitCode = e.exitCode;
  } finally {
    rank?.dispose();
  }
}
