/**
 * Append-only JSON-lines metrics log (`metrics.jsonl`): one object per line, each written with a
 * single `appendFileSync`, so a crash loses at most the record being written. Non-finite numbers
 * (a diverging loss) are kept as the strings "NaN", "Infinity", "-Infinity" (JSON has no such
 * numbers) and turned back into numbers by `readJsonl`.
 *
 * Reopening a file whose last line was torn by a crash first ends that line, so new records never
 * run into the fragment; `readJsonl` skips such unparseable lines and reports them.
 */
import { appendFileSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import { ScoreflowError, argError } from '../errors.js';

const NON_FINITE = new Map<string, number>([['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity]]);

function replacer(_key: string, v: unknown): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (typeof v === 'bigint') return Number(v);
  return v;
}

/** One record as a JSON line (with the trailing newline). */
export function formatJsonlRecord(record: Record<string, unknown>): string {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) argError('record', 'a plain object', record);
  const s = JSON.stringify(record, replacer);
  return `${s}\n`;
}

function endsWithNewline(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return true;
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, size - 1);
    return b[0] === 0x0a;
  } finally {
    closeSync(fd);
  }
}

export class JsonlLog {
  constructor(readonly path: string) {
    if (typeof path !== 'string' || path.length === 0) argError('path', 'a file path', path);
    mkdirSync(dirname(path), { recursive: true });
    if (existsSync(path) && !endsWithNewline(path)) appendFileSync(path, '\n');
  }

  /** Appends one record (a plain object) as one line. */
  write(record: Record<string, unknown>): void {
    appendFileSync(this.path, formatJsonlRecord(record));
  }
}

export interface JsonlReadResult<T> {
  records: T[];
  /** 1-based numbers of lines that did not parse as a JSON object (a torn write), skipped. */
  skipped: number[];
}

/** Parses JSONL text; see `readJsonl`. */
export function parseJsonl<T = Record<string, unknown>>(text: string, what = 'JSONL data', opts: { strict?: boolean } = {}): JsonlReadResult<T> {
  const lines = text.split('\n');
  const lastTorn = !text.endsWith('\n');
  if (!lastTorn) lines.pop();
  const records: T[] = [], skipped: number[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line, (_k, x: unknown) => (typeof x === 'string' && NON_FINITE.has(x) ? NON_FINITE.get(x) : x));
    } catch {
      v = undefined;
    }
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      records.push(v as T);
      return;
    }
    const isTornTail = lastTorn && i === lines.length - 1;
    if (opts.strict && !isTornTail) throw new ScoreflowError('ERR_FORMAT', `${what}: line ${i + 1} is not a JSON object: ${line.slice(0, 80)}`);
    skipped.push(i + 1);
  });
  return { records, skipped };
}

/** Reads a JSONL log. Unparseable lines (a record torn by a crash) are skipped and listed in
 * `skipped`; with `strict`, only an unterminated last line may be skipped, others throw ERR_FORMAT. */
export function readJsonl<T = Record<string, unknown>>(path: string, opts: { strict?: boolean } = {}): JsonlReadResult<T> {
  return parseJsonl<T>(readFileSync(path, 'utf8'), path, opts);
}
