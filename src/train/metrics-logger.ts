/**
 * One logger for the training loop, fanning each metrics record `{step, ...scalars}` out to:
 *  - the console, as the fields of a `Progress` line (if one is attached),
 *  - `metrics.jsonl` (the record plus `wall_time`, unix seconds),
 *  - TensorBoard scalars (numeric entries only; `step` is the event step),
 * and sample grids (PNG) to TensorBoard images.
 */
import { join } from 'node:path';
import { argError } from '../errors.js';
import { EventWriter } from './tensorboard.js';
import { JsonlLog } from './jsonl-log.js';
import type { FieldValue, Progress } from './progress.js';

export interface MetricsRecord {
  step: number;
  [key: string]: number | string;
}

export interface MetricsLoggerOptions {
  /** Directory for `metrics.jsonl` and (by default) the TensorBoard event file. */
  dir: string;
  /** JSONL file name inside `dir` (default `metrics.jsonl`); null disables the JSONL sink. */
  jsonlName?: string | null;
  /** TensorBoard event directory (default `dir`); null disables the TensorBoard sink. */
  tensorboardDir?: string | null;
  /** Progress whose line shows the latest scalars. */
  progress?: Progress | null;
  /** Clock in milliseconds since the epoch, for `wall_time` (default `Date.now`). */
  now?: () => number;
}

export class MetricsLogger {
  readonly jsonl: JsonlLog | null;
  readonly tensorboard: EventWriter | null;
  progress: Progress | null;
  private readonly now: () => number;

  constructor(opts: MetricsLoggerOptions) {
    if (!opts || typeof opts.dir !== 'string' || opts.dir.length === 0) argError('dir', 'a directory path', opts?.dir);
    this.now = opts.now ?? Date.now;
    const jsonlName = opts.jsonlName === undefined ? 'metrics.jsonl' : opts.jsonlName;
    this.jsonl = jsonlName === null ? null : new JsonlLog(join(opts.dir, jsonlName));
    const tbDir = opts.tensorboardDir === undefined ? opts.dir : opts.tensorboardDir;
    this.tensorboard = tbDir === null ? null : new EventWriter(tbDir, { now: this.now });
    this.progress = opts.progress ?? null;
  }

  /** Logs one record to every sink. `step` must be a safe integer; other values numbers or strings. */
  log(record: MetricsRecord): void {
    const { step, ...rest } = record;
    if (typeof step !== 'number' || !Number.isSafeInteger(step)) argError('step', 'a safe integer', step);
    const scalars: Record<string, number> = {};
    const fields: Record<string, FieldValue> = {};
    for (const [k, v] of Object.entries(rest)) {
      if (typeof v === 'number') scalars[k] = v;
      else if (typeof v !== 'string') argError(k, 'a number or a string', v);
      fields[k] = v;
    }
    this.jsonl?.write({ step, wall_time: this.now() / 1000, ...rest });
    this.tensorboard?.scalars(scalars, step);
    this.progress?.tick(0, fields);
  }

  /** A sample grid (PNG bytes, `channels` 1–4) to TensorBoard. */
  image(tag: string, png: Uint8Array, height: number, width: number, channels: number, step: number): void {
    this.tensorboard?.image(tag, png, height, width, channels, step);
  }

  /** fsyncs the event file (JSONL records are appended synchronously already). */
  flush(): void {
    this.tensorboard?.flush();
  }

  /** Closes the event file; the Progress, if any, is left to its owner. */
  close(): void {
    this.tensorboard?.close();
  }
}
