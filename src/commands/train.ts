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
import { allowChangeArg, resumeLine, trainLogger, workdirArg } from './train-common.js';

const say = (line: string) => console.error(`scoreflow train: ${line}`);

export async function run(args: Record<string, unknown>, overrides: string[]): Promise<void> {
  const workdir = workdirArg(args.workdir);
  const stopAtStep = typeof args.steps === 'number' ? args.steps : undefined; // checked on parsing (integerOptions)
  const allowChanges = allowChangeArg(args['allow-change']);
  const config = loadConfig(String(args.config), overrides);
  checkAllowChange(allowChanges, config);
  const signals = new StopSignals();
  try {
    const lock = openWorkdir(workdir, [join(workdir, 'checkpoints'), join(workdir, META_DIR)], say);
    try {
      await train();
    } finally {
      lock.release();
    }
  } finally {
    signals.dispose();
  }
  const code = signals.exitCode();
  if (code !== undefined) process.exitCode = code;

  async function train(): Promise<void> {
    const trainer = new Trainer(config, workdir, { stopAtStep, allowChanges });
    try {
      signals.onStop(() => trainer.requestStop());
      const resumed = trainer.resume();
      const start = trainer.state.step;
      say(`${String(args.config)} on ${trainer.device}, ${trainer.state.model.numParameters().toLocaleString()} parameters, ` +
        `${resumeLine(resumed, config.training.n_iters)}; workdir ${workdir}`);
      const logger = trainLogger(workdir, config.training.n_iters, start);
      trainer.logger = logger;
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
