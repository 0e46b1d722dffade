/** What `train` and `train-deq` share: argument readers, the resume line, the logger (progress, metrics, TensorBoard). */
import { join, resolve } from 'node:path';
import type { ResumeInfo, TrainLogger } from '../train/trainer.js';
import { MetricsLogger } from '../train/metrics-logger.js';
import { Progress } from '../train/progress.js';
import { progressLogger } from '../train/progress-logger.js';
import { describeChange } from '../train/resume-config.js';
import { argError } from '../errors.js';

export function workdirArg(v: unknown): string {
  // An empty path would resolve to the current folder and train into it.
  if (typeof v !== 'string' || v.trim() === '') argError('--workdir', 'a folder for checkpoints and logs', v);
  return resolve(v);
}

/** --allow-change a.b,c.d (or repeated). */
export function allowChangeArg(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(',')).map((k) => k.trim()).filter((k) => k !== '');
}

export function resumeLine(r: ResumeInfo | undefined, total: number): string {
  if (!r) return `starting at step 0 of ${total}`;
  const from = r.interrupted ? ` from the previous resume point ${r.path} (the newest is missing, e.g. its save was cut short)` : '';
  const changes = r.changes.length ? ` (config changes accepted: ${r.changes.map(describeChange).join(', ')})` : '';
  return `resuming at step ${r.step} of ${total}${from}${changes}`;
}

/** Progress line, `<dir>/metrics.jsonl` and TensorBoard events in `<dir>/tensorboard`. */
export function trainLogger(dir: string, total: number, start: number, label = 'train'): TrainLogger {
  const progress = new Progress({ total, initial: start, label, intervalMs: 5000 });
  return progressLogger(progress, new MetricsLogger({ dir, tensorboardDir: join(dir, 'tensorboard'), progress }));
}
