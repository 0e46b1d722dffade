/**
 * The TrainLogger of `scoreflow train`: metrics records to their sinks (metrics-logger.ts), every step to
 * one progress line whose s/it and ETA are the trainer's (phases left out of s/it, counted in the ETA), and
 * each snapshot sampling to a sub-progress line of its own.
 */
import type { MetricsLogger } from './metrics-logger.js';
import type { Progress, ProgressTiming } from './progress.js';
import type { EtaEstimate } from './eta.js';
import type { TrainLogger } from './trainer.js';

/** The progress line's rate (steps per second, phases left out) and ETA from the trainer's estimate. */
export function progressTiming(eta: EtaEstimate): ProgressTiming {
  const s = eta.costs.step;
  return { rate: s !== undefined && s > 0 ? 1 / s : undefined, eta: eta.seconds };
}

export function progressLogger(progress: Progress, metrics: MetricsLogger): TrainLogger {
  return {
    log: (step, scalars) => metrics.log({ step, ...scalars }),
    tick: (_step, _total, eta) => progress.tick(1, undefined, eta && progressTiming(eta)),
    phase: (shape) => progress.sub(shape),
    image: (tag, png, h, w, c, step) => metrics.image(tag, png, h, w, c, step),
    close: () => { progress.done(); metrics.close(); },
  };
}
