/**
 * `scoreflow train-deq --config <c> --workdir <dir>` (the references' `--mode train_deq`): trains score_flow's
 * Flow++ variational dequantizer against the score model of `<dir>/checkpoints/checkpoint_<eval.ckpt_id>.pth`
 * into `<dir>/flowpp_dequantizer` (locked; resumes from its newest resume point; SIGINT / SIGTERM save and
 * exit with 128 + the signal number).
 */
import { join } from 'node:path';
import { loadConfig } from '../config/index.js';
import { StopSignals } from '../train/stop-signals.js';
import { checkAllowChange } from '../train/resume-config.js';
import { openWorkdir } from '../workdir/open.js';
import { DeqTrainer, DEQ_DIR } from '../dequant/trainer.js';
import { allowChangeArg, resumeLine, trainLogger, workdirArg } from './train-common.js';

const say = (line: string) => console.error(`scoreflow train-deq: ${line}`);

export async function run(args: Record<string, unknown>, overrides: string[]): Promise<void> {
  const workdir = workdirArg(args.workdir);
  const stopAtStep = typeof args.steps === 'number' ? args.steps : undefined;
  const allowChanges = allowChangeArg(args['allow-change']);
  const config = loadConfig(String(args.config), overrides);
  checkAllowChange(allowChanges, config);
  const deqDir = join(workdir, DEQ_DIR);
  const signals = new StopSignals();
  try {
    const lock = openWorkdir(deqDir, [join(deqDir, 'checkpoints'), join(deqDir, 'checkpoints-meta')], say);
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
    const trainer = new DeqTrainer(config, workdir, { stopAtStep, allowChanges });
    try {
      signals.onStop(() => trainer.requestStop());
      const resumed = trainer.resume();
      const deq = trainer.state.model;
      say(`${String(args.config)} on ${trainer.device}: Flow++ ${deq.config.variant} (filters ${deq.config.filters}, ` +
        `components ${deq.config.components}, blocks ${deq.config.blocks}), ${deq.numParameters().toLocaleString()} parameters, ` +
        `against score checkpoint_${config.eval.ckpt_id} (step ${trainer.scoreStep}); ${resumeLine(resumed, config.deq.n_iters)}; ` +
        `output ${deqDir}`);
      trainer.logger = trainLogger(deqDir, config.deq.n_iters, trainer.state.step, 'train-deq');
      const r = await trainer.run();
      const how = signals.received ? `stopped by ${signals.received} (resume point saved; re-run the same command to resume)`
        : r.stoppedBy === 'stopAtStep' ? 'stopped as --steps asked' : 'done';
      say(`${how} at step ${r.step}, last loss ${r.lastLoss.toFixed(5)}.\n` +
        `  checkpoints: ${join(deqDir, 'checkpoints')}\n  resume point: ${trainer.resumePoints.newest}\n` +
        `  metrics: ${join(deqDir, 'metrics.jsonl')}\n  tensorboard --logdir ${join(deqDir, 'tensorboard')}`);
    } finally {
      trainer.dispose();
    }
  }
}
