/** `scoreflow train --config <c> --workdir <dir>`: trains, resuming from the pre-emption checkpoint. */
import { join, resolve } from 'node:path';
import { loadConfig } from '../config/index.js';
import { Trainer, type TrainLogger } from '../train/trainer.js';
import { MetricsLogger } from '../train/metrics-logger.js';
import { Progress } from '../train/progress.js';

export async function run(args: Record<string, unknown>, overrides: string[]): Promise<void> {
  const workdir = resolve(String(args.workdir));
  const config = loadConfig(String(args.config), overrides);
  const trainer = new Trainer(config, workdir, {
    stopAtStep: typeof args.steps === 'number' ? args.steps : undefined,
  });
  const resumed = trainer.resume();
  const start = trainer.state.step;
  console.error(`scoreflow train: ${String(args.config)} on ${trainer.device}, ${trainer.state.model.numParameters().toLocaleString()} ` +
    `parameters, ${resumed ? `resuming at step ${start}` : 'starting at step 0'} of ${config.training.n_iters}; workdir ${workdir}`);
  const progress = new Progress({ total: config.training.n_iters, initial: start, label: 'train', intervalMs: 5000 });
  const metrics = new MetricsLogger({ dir: workdir, tensorboardDir: join(workdir, 'tensorboard'), progress });
  const logger: TrainLogger = {
    log: (step, scalars) => metrics.log({ step, ...scalars }),
    tick: () => progress.tick(1),
    image: (tag, png, h, w, c, step) => metrics.image(tag, png, h, w, c, step),
    close: () => { progress.done(); metrics.close(); },
  };
  trainer.logger = logger;
  try {
    const r = await trainer.run();
    const how = r.stoppedBy === 'signal' ? 'stopped by signal (checkpoint saved; re-run the same command to resume)' : 'done';
    console.error(`scoreflow train: ${how} at step ${r.step}, last loss ${r.lastLoss.toFixed(5)}.\n` +
      `  checkpoints: ${join(workdir, 'checkpoints')}\n  resume point: ${join(workdir, 'checkpoints-meta', 'checkpoint.pth')}\n` +
      `  samples: ${join(workdir, 'samples')}\n  metrics: ${join(workdir, 'metrics.jsonl')}\n` +
      `  tensorboard --logdir ${join(workdir, 'tensorboard')}`);
  } finally {
    trainer.dispose();
  }
}
