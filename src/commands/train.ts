/**
 * `scoreflow train --config <c> --workdir <dir>`: trains into a locked workdir, resuming from its newest
 * resume point. SIGINT / SIGTERM save and exit with 128 + the signal number.
 */
import { join } from 'node:path';
import { loadConfig } from '../config/index.js';
import { Trainer, META_DIR } from '../train/trainer.js';
import { StopSignals } from '../train/stop-signals.js';
import { checkAllowChange } from '../train/resume-config.js';
import { openWorkdir } from '../workdir/open.js';
import { joinJob } from '../dist/worker.js';
import { launch, withoutOption } from '../dist/launch.js';
import { allowChangeArg, resumeLine, trainLogger, workdirArg } from './train-common.js';

const say = (line: string) => console.error(`scoreflow train: ${line}`);

export async function run(args: Record<string, unknown>, overrides: string[]): Promise<void> {
  const workdir = workdirArg(args.workdir);
  if (typeof args.nproc === 'number' && args.nproc > 1) {
    // The ranks are this command again, less --nproc, with the torchrun environment (src/dist/launch.ts).
    process.exitCode = await launch({ nproc: args.nproc, args: withoutOption(process.argv.slice(2), 'nproc'), label: 'scoreflow train' });
    return;
  }
  const stopAtStep = typeof args.steps === 'number' ? args.steps : undefined; // checked on parsing (integerOptions)
  const allowChanges = allowChangeArg(args['allow-change']);
  const loaded = loadConfig(String(args.config), overrides);
  checkAllowChange(allowChanges, loaded);
  const signals = new StopSignals();
  // A rank of a data-parallel job when the environment names one (torchrun's conventions); only rank 0 writes.
  const job = await joinJob(loaded);
  const config = job ? { ...loaded, device: job.device } : loaded;
  const writer = job?.dp.isWriter ?? true;
  job?.onOrphaned(() => process.kill(process.pid, 'SIGTERM')); // our launcher is gone: save and stop
  try {
    const lock = writer ? openWorkdir(workdir, [join(workdir, 'checkpoints'), join(workdir, META_DIR)], say) : undefined;
    try {
      await train();
    } finally {
      lock?.release();
    }
  } finally {
    signals.dispose();
    job?.dispose();
  }
  const code = signals.exitCode();
  if (code !== undefined) process.exitCode = code;

  async function train(): Promise<void> {
    const trainer = new Trainer(config, workdir, { stopAtStep, allowChanges, dist: job?.dp });
    try {
      signals.onStop(() => trainer.requestStop());
      const resumed = writer ? trainer.resume() : undefined;
      await trainer.syncState();
      const start = trainer.state.step;
      if (!writer) {
        trainer.logger = { log: () => {}, tick: (step) => job!.reportStep(step) };
        await trainer.run();
        return;
      }
      say(`${String(args.config)} on ${trainer.device}, ${trainer.state.model.numParameters().toLocaleString()} parameters, ` +
        `${resumeLine(resumed, config.training.n_iters)}; workdir ${workdir}` +
        (job ? `; rank 0 of ${job.env.worldSize} (${job.dp.localBatch} of each batch of ${config.training.batch_size} per rank)` : ''));
      const logger = trainLogger(workdir, config.training.n_iters, start);
      trainer.logger = job ? { ...logger, tick: (step, total, eta) => { logger.tick?.(step, total, eta); job.reportStep(step); } } : logger;
      const r = await trainer.run();
      const how = signals.received ? `stopped by ${signals.received} (resume point saved; re-run the same command to resume)`
        : r.stoppedBy === 'stopAtStep' ? 'stopped as --steps asked' : 'done';
      say(`${how} at step ${r.step}, last loss ${r.lastLoss.toFixed(5)}.\n` +
        `  checkpoints: ${join(workdir, 'checkpoints')}\n  resume point: ${trainer.resumePoints.newest}\n` +
        `  samples: ${join(workdir, 'samples')}\n  metrics: ${join(workdir, 'metrics.jsonl')}\n` +
        `  tensorboard --logdir ${join(workdir, 'tensorboard')}`);
    } finally {
      trainer.dispose();
    }
  }
}
