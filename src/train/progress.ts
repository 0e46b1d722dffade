/**
 * Console progress for long work (training steps, sampling, likelihood evaluation):
 *
 *   train [########............]  4000/10000  40.0%  12.5 it/s  05:20<08:00  loss=31.25 lr=0.0002
 *
 *   sample [######..............]    60/200   30.0%  4.00 it/s  12.8 img/s  00:15<00:35  t=0.7 nfe=120
 *
 * On a TTY one line is redrawn in place (`\r`, clear to end of line) at most every `ttyIntervalMs`;
 * elsewhere (CI logs, files) a plain line is printed at most every `intervalMs`. `done()` always
 * prints the final state. A long phase inside another (snapshot sampling inside training) is a `sub()`
 * progress on the same stream: on a TTY it takes over the line, and its `done()` leaves its final state
 * as a line of its own and redraws the outer line. The formatting is pure (`formatProgressLine`,
 * `formatDuration`, `formatRate`).
 */
import { argError } from '../errors.js';

export type FieldValue = number | string;

/** A second unit of the work: `count` of `unit` per counted item. */
export interface PerUnit { unit: string; count: number }

/** What one progress line shows. */
export interface ProgressState {
  label?: string;
  count: number;
  /** Unknown totals (undefined, 0) show no bar, percentage or ETA. */
  total?: number;
  /** Seconds since the start. */
  elapsed: number;
  /** Items per second (default count/elapsed); also drives the ETA unless `eta` is given. */
  rate?: number;
  /** Seconds left, when the caller knows better than (total − count)/rate (training counts its other phases). */
  eta?: number;
  /** Name of what is counted, for the rate (default 'it'). */
  unit?: string;
  /** A second rate in other units per counted item: e.g. images per batch, `{ unit: 'img', count: 64 }`. */
  per?: PerUnit;
  fields?: Record<string, FieldValue>;
  /** Bar width in characters (default 20). */
  barWidth?: number;
}

/** `MM:SS` below an hour, `H:MM:SS` below a day, then `Nd HH:MM:SS`; `--:--` if not finite or negative. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  let s = Math.floor(seconds);
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  const p2 = (n: number): string => String(n).padStart(2, '0');
  if (d > 0) return `${d}d ${p2(h)}:${p2(m)}:${p2(s)}`;
  if (h > 0) return `${h}:${p2(m)}:${p2(s)}`;
  return `${p2(m)}:${p2(s)}`;
}

/** Compact number for a field: integers as is, tiny/huge values in exponent form, else 4 significant digits. */
export function formatFieldValue(v: FieldValue): string {
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e9) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3).replace(/\.?0+e/, 'e');
  return String(Number(v.toPrecision(4)));
}

/** `12.5 it/s` at one or more per second, else the time per item (`5.00 s/it`): both read at a glance. */
export function formatRate(rate: number, unit = 'it'): string {
  if (!Number.isFinite(rate) || rate <= 0) return `? ${unit}/s`;
  if (rate >= 1) return `${rate >= 100 ? rate.toFixed(0) : rate.toFixed(rate >= 10 ? 1 : 2)} ${unit}/s`;
  const spi = 1 / rate;
  return `${spi >= 100 ? spi.toFixed(0) : spi.toFixed(2)} s/${unit}`;
}

/** One progress line (no trailing newline). */
export function formatProgressLine(state: ProgressState): string {
  const { label, count, total, elapsed, fields = {}, barWidth = 20 } = state;
  const parts: string[] = [];
  if (label) parts.push(label);
  const known = total !== undefined && total > 0;
  if (known) {
    const frac = Math.min(1, Math.max(0, count / total));
    const filled = Math.floor(frac * barWidth);
    parts.push(`[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]`);
    parts.push(`${String(count).padStart(String(total).length)}/${total}`);
    parts.push(`${(frac * 100).toFixed(1).padStart(5)}%`);
  } else {
    parts.push(String(count));
  }
  const rate = state.rate ?? (elapsed > 0 ? count / elapsed : NaN);
  parts.push(formatRate(rate, state.unit));
  if (state.per) parts.push(formatRate(rate * state.per.count, state.per.unit));
  if (known) {
    // A given ETA holds also at count = total: training has its last step's eval, saves and snapshot to go.
    const eta = state.eta ?? (count >= total ? 0 : rate > 0 ? (total - count) / rate : NaN);
    parts.push(`${formatDuration(elapsed)}<${formatDuration(eta)}`);
  } else {
    parts.push(formatDuration(elapsed));
  }
  const f = Object.entries(fields).map(([k, v]) => `${k}=${formatFieldValue(v)}`);
  if (f.length) parts.push(f.join(' '));
  return parts.join('  ');
}

/** Where progress goes: any writable with `write(string)`; `isTTY`/`columns` as on process.stderr. */
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  total?: number;
  label?: string;
  stream?: ProgressStream;
  /** Minimum milliseconds between plain lines on a non-TTY (default 10000). */
  intervalMs?: number;
  /** Minimum milliseconds between redraws on a TTY (default 100). */
  ttyIntervalMs?: number;
  /** Overrides `stream.isTTY`. */
  tty?: boolean;
  /** Count already done (resuming), excluded from the rate. */
  initial?: number;
  /** Clock in milliseconds (default `performance.now()`). */
  now?: () => number;
  barWidth?: number;
  /** See ProgressState. */
  unit?: string;
  per?: PerUnit;
}

/** What the caller measured itself: a rate and ETA that replace those of count/elapsed. */
export interface ProgressTiming { rate?: number; eta?: number }

/** What a phase reports its progress to (a Progress, or nothing). */
export interface PhaseProgress {
  /** Sets the count done (e.g. a sampler's step) and merges `fields` into the shown fields. */
  update(count: number, fields?: Record<string, FieldValue>): void;
  done(fields?: Record<string, FieldValue>): void;
}

export class Progress implements PhaseProgress {
  readonly total: number | undefined;
  readonly label: string | undefined;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly ttyIntervalMs: number;
  private readonly now: () => number;
  private readonly start: number;
  private readonly initial: number;
  private readonly barWidth: number | undefined;
  private readonly unit: string | undefined;
  private readonly per: PerUnit | undefined;
  /** The progress this one is a phase of (sub()): redrawn when this one is done. */
  private readonly outer: Progress | undefined;
  private timing: ProgressTiming = {};
  private lastRender = -Infinity;
  private finished = false;
  private _count: number;
  private _fields: Record<string, FieldValue> = {};

  /** `outer` is set by sub(): the progress whose line is redrawn when this one is done. */
  constructor(opts: ProgressOptions = {}, outer?: Progress) {
    const { total, label, stream = process.stderr, intervalMs = 10_000, ttyIntervalMs = 100, initial = 0 } = opts;
    if (total !== undefined && (!Number.isFinite(total) || total < 0)) argError('total', 'a non-negative number', total);
    if (!Number.isFinite(intervalMs) || intervalMs < 0) argError('intervalMs', 'a non-negative number', intervalMs);
    if (opts.per !== undefined && !(Number.isFinite(opts.per.count) && opts.per.count > 0)) argError('per.count', 'a positive number', opts.per.count);
    this.total = total;
    this.label = label;
    this.stream = stream;
    this.tty = opts.tty ?? stream.isTTY === true;
    this.intervalMs = intervalMs;
    this.ttyIntervalMs = ttyIntervalMs;
    this.now = opts.now ?? (() => performance.now());
    this.start = this.now();
    this.initial = initial;
    this._count = initial;
    this.barWidth = opts.barWidth;
    this.unit = opts.unit;
    this.per = opts.per;
    this.outer = outer;
  }

  /**
   * A phase of this work on the same stream, clock and TTY-ness (intervals default to this one's): e.g.
   * snapshot sampling inside training. Its done() redraws this line on a TTY.
   */
  sub(opts: Omit<ProgressOptions, 'stream' | 'tty' | 'now'> = {}): Progress {
    return new Progress({
      intervalMs: this.intervalMs, ttyIntervalMs: this.ttyIntervalMs, barWidth: this.barWidth, ...opts,
      stream: this.stream, tty: this.tty, now: this.now,
    }, this);
  }

  get count(): number { return this._count; }
  get fields(): Readonly<Record<string, FieldValue>> { return this._fields; }

  /** Current state; the rate counts only work done since construction (`initial` excluded). */
  state(): ProgressState {
    const elapsed = (this.now() - this.start) / 1000;
    return {
      label: this.label,
      count: this._count,
      total: this.total,
      elapsed,
      rate: this.timing.rate ?? (elapsed > 0 ? (this._count - this.initial) / elapsed : undefined),
      eta: this.timing.eta,
      fields: this._fields,
      barWidth: this.barWidth,
      unit: this.unit,
      per: this.per,
    };
  }

  /** The line as it would be rendered now. */
  line(): string { return formatProgressLine(this.state()); }

  /**
   * Advances by `n` (0 just updates fields) and merges `fields` into the shown fields; `timing`, when
   * given, replaces the shown rate and ETA from now on.
   */
  tick(n = 1, fields?: Record<string, FieldValue>, timing?: ProgressTiming): void {
    if (this.finished) return;
    if (!Number.isFinite(n) || n < 0) argError('n', 'a non-negative number', n);
    this._count += n;
    if (fields) Object.assign(this._fields, fields);
    if (timing) this.timing = timing;
    const t = this.now();
    if (t - this.lastRender >= (this.tty ? this.ttyIntervalMs : this.intervalMs)) this.render(t);
  }

  update(count: number, fields?: Record<string, FieldValue>): void {
    if (!Number.isFinite(count) || count < this._count) argError('count', `a number >= the count done (${this._count})`, count);
    this.tick(count - this._count, fields);
  }

  private render(t: number): void {
    this.lastRender = t;
    let line = this.line();
    if (this.tty) {
      const cols = this.stream.columns;
      if (cols && cols > 1 && line.length > cols - 1) line = line.slice(0, cols - 1);
      this.stream.write(`\r${line}\x1b[K`);
    } else {
      this.stream.write(`${line}\n`);
    }
  }

  /**
   * Prints the final state (ending the TTY line); later ticks are ignored. A given ETA is dropped: once
   * this work stops, what is left of the total (a run stopped early) is shown at the measured rate.
   */
  done(fields?: Record<string, FieldValue>): void {
    if (this.finished) return;
    if (fields) Object.assign(this._fields, fields);
    this.timing = { rate: this.timing.rate };
    this.render(this.now());
    if (this.tty) this.stream.write('\n');
    this.finished = true;
    if (this.tty && this.outer && !this.outer.finished) this.outer.render(this.now());
  }
}
