/**
 * Console progress for long work (training steps, sampling, likelihood evaluation):
 *
 *   train [########............]  4000/10000  40.0%  12.5 it/s  05:20<08:00  loss=31.25 lr=0.0002
 *
 * On a TTY one line is redrawn in place (`\r`, clear to end of line) at most every `ttyIntervalMs`;
 * elsewhere (CI logs, files) a plain line is printed at most every `intervalMs`. `done()` always
 * prints the final state. The formatting is pure (`formatProgressLine`, `formatDuration`).
 */
import { argError } from '../errors.js';

export type FieldValue = number | string;

/** What one progress line shows. */
export interface ProgressState {
  label?: string;
  count: number;
  /** Unknown totals (undefined, 0) show no bar, percentage or ETA. */
  total?: number;
  /** Seconds since the start. */
  elapsed: number;
  /** Items per second (default count/elapsed); also drives the ETA. */
  rate?: number;
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

function formatRate(rate: number): string {
  if (!Number.isFinite(rate) || rate <= 0) return '? it/s';
  if (rate >= 1) return `${rate >= 100 ? rate.toFixed(0) : rate.toFixed(rate >= 10 ? 1 : 2)} it/s`;
  const spi = 1 / rate;
  return `${spi >= 100 ? spi.toFixed(0) : spi.toFixed(2)} s/it`;
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
  parts.push(formatRate(rate));
  if (known) {
    const eta = count >= total ? 0 : rate > 0 ? (total - count) / rate : NaN;
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
}

export class Progress {
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
  private lastRender = -Infinity;
  private finished = false;
  private _count: number;
  private _fields: Record<string, FieldValue> = {};

  constructor(opts: ProgressOptions = {}) {
    const { total, label, stream = process.stderr, intervalMs = 10_000, ttyIntervalMs = 100, initial = 0 } = opts;
    if (total !== undefined && (!Number.isFinite(total) || total < 0)) argError('total', 'a non-negative number', total);
    if (!Number.isFinite(intervalMs) || intervalMs < 0) argError('intervalMs', 'a non-negative number', intervalMs);
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
      rate: elapsed > 0 ? (this._count - this.initial) / elapsed : undefined,
      fields: this._fields,
      barWidth: this.barWidth,
    };
  }

  /** The line as it would be rendered now. */
  line(): string { return formatProgressLine(this.state()); }

  /** Advances by `n` (0 just updates fields) and merges `fields` into the shown fields. */
  tick(n = 1, fields?: Record<string, FieldValue>): void {
    if (this.finished) return;
    if (!Number.isFinite(n) || n < 0) argError('n', 'a non-negative number', n);
    this._count += n;
    if (fields) Object.assign(this._fields, fields);
    const t = this.now();
    if (t - this.lastRender >= (this.tty ? this.ttyIntervalMs : this.intervalMs)) this.render(t);
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

  /** Prints the final state (ending the TTY line); later ticks are ignored. */
  done(fields?: Record<string, FieldValue>): void {
    if (this.finished) return;
    if (fields) Object.assign(this._fields, fields);
    this.render(this.now());
    if (this.tty) this.stream.write('\n');
    this.finished = true;
  }
}
