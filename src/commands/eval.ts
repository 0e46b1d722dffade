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

const say = (line: string) => console.error(`scoreflow eval: ${line}`);

export async function run(args: Record<string, unknown>, overrides: string[]): Promise<void> {
  const workdir = resolve(String(args.workdir));
  const config = loadConfig(String(args.config), overrides);
  const { begin_ckpt: begin, end_ckpt: end } = config.eval;
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
  const { runEvaluation, watchEvaluation, WatchStopped } = await import('../eval/index.js'); // libtorch: only once the inputs are known
  const folder = String(args['eval-folder'] ?? 'eval');
  say(`${String(args.config)}, checkpoints ${begin}..${end} of ${workdir}; results in ${join(workdir, folder)}`);
  const opts = {
    evalFolder: folder,
    maxBatches: args['max-batches'] as number | undefined,
    boundSamples: args['bound-samples'] as number | undefined,
    boundChunk: args['bound-chunk'] as number | undefined,
  };
  if (!watch) {
    runEvaluation(config, workdir, opts);
    return;
  }
  try {
    await watchEvaluation(config, workdir, { ...opts, watch: { timeoutS: args['watch-timeout'] as number | undefined } });
  } catch (e) {
    if (!(e instanceof WatchStopped)) throw e;
    say(`${e.message}; the checkpoints evaluated so far are in ${join(workdir, folder)}, and a re-run skips their finished rounds`);
    process.exitCode = e.exitCode;
  }
}
