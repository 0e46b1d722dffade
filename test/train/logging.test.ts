import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../src/data/png.js';
import {
  EventWriter, crc32c, decodeEvent, encodeEvent, frameRecord, maskedCrc32c, readEvents, readRecords,
} from '../../src/train/tensorboard.js';
import { Progress, formatDuration, formatFieldValue, formatProgressLine, type ProgressStream } from '../../src/train/progress.js';
import { JsonlLog, parseJsonl, readJsonl } from '../../src/train/jsonl-log.js';
import { MetricsLogger } from '../../src/train/metrics-logger.js';

const ROOT = mkdtempSync(join(tmpdir(), 'scoreflow-logging-'));
afterAll(() => rmSync(ROOT, { recursive: true, force: true }));
let dirN = 0;
const freshDir = (): string => join(ROOT, `d${dirN++}`);

const f32 = (x: number): number => Math.fround(x);

function code(fn: () => unknown): string | undefined {
  try { fn(); } catch (e) { return (e as { code?: string }).code; }
  throw new Error('expected a throw');
}

describe('crc32c and TFRecord framing', () => {
  it('matches the standard CRC32C check values', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    // Incremental use gives the same result.
    const b = Buffer.from('hello, tensorboard');
    expect(crc32c(b.subarray(5), crc32c(b.subarray(0, 5)))).toBe(crc32c(b));
  });

  it('masks as TFRecord does', () => {
    const data = Buffer.from('123456789');
    const crc = 0xe3069283;
    expect(maskedCrc32c(data)).toBe(((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0);
  });

  it('frames length, CRCs and payload, and readRecords verifies them', () => {
    const payload = Buffer.from('abc');
    const rec = frameRecord(payload);
    expect(rec.length).toBe(12 + 3 + 4);
    expect(rec.readBigUInt64LE(0)).toBe(3n);
    expect(rec.readUInt32LE(8)).toBe(maskedCrc32c(rec.subarray(0, 8)));
    expect(rec.subarray(12, 15).toString()).toBe('abc');
    expect(rec.readUInt32LE(15)).toBe(maskedCrc32c(payload));
    const two = Buffer.concat([rec, frameRecord(Buffer.from('defg'))]);
    expect(readRecords(two).map((r) => Buffer.from(r).toString())).toEqual(['abc', 'defg']);
    const badData = Buffer.from(two); badData[13] ^= 1;
    expect(() => readRecords(badData)).toThrow(/data CRC mismatch/);
    const badLen = Buffer.from(two); badLen[0] ^= 1;
    expect(() => readRecords(badLen)).toThrow(/length CRC mismatch/);
    const torn = two.subarray(0, two.length - 2);
    expect(() => readRecords(torn)).toThrow(/truncated/);
    expect(readRecords(torn, 'x', { allowTruncatedTail: true })).toHaveLength(1);
  });
});

describe('Event protobuf encoding', () => {
  it('encodes wall_time/step/file_version with the expected wire bytes', () => {
    const b = encodeEvent({ wallTime: 1.5, step: 300, fileVersion: 'brain.Event:2' });
    const expected = Buffer.concat([
      Buffer.from([0x09]), (() => { const d = Buffer.alloc(8); d.writeDoubleLE(1.5); return d; })(),
      Buffer.from([0x10, 0xac, 0x02]), // step 300 as varint
      Buffer.from([0x1a, 13]), Buffer.from('brain.Event:2'),
    ]);
    expect(b.equals(expected)).toBe(true);
  });

  it('encodes a scalar summary value with a fixed32 float', () => {
    const b = encodeEvent({ wallTime: 0, step: 1, summary: { values: [{ tag: 'l', simpleValue: 0.5 }] } });
    // ... 0x2a len( 0x0a len( 0x0a 0x01 'l' 0x15 f32(0.5) ) )
    const tail = Buffer.from([0x2a, 0x0a, 0x0a, 0x08, 0x0a, 0x01, 0x6c, 0x15, 0x00, 0x00, 0x00, 0x3f]);
    expect(b.subarray(b.length - tail.length).equals(tail)).toBe(true);
  });

  it('round-trips large and negative steps and images', () => {
    for (const step of [0, 1, 127, 128, 2 ** 31, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER, -1, -12345]) {
      expect(decodeEvent(encodeEvent({ wallTime: 3.25, step })).step).toBe(step);
    }
    expect(encodeEvent({ wallTime: 0, step: -1 }).length).toBe(9 + 1 + 10); // int64 -1 takes ten varint bytes
    const img = { height: 2, width: 3, colorspace: 3, encoded: Uint8Array.from([1, 2, 3, 250]) };
    const e = decodeEvent(encodeEvent({ wallTime: 7, step: 9, summary: { values: [{ tag: 'im', image: img }, { tag: 'x', simpleValue: -2 }] } }));
    expect(e).toEqual({ wallTime: 7, step: 9, summary: { values: [{ tag: 'im', image: img }, { tag: 'x', simpleValue: -2 }] } });
  });
});

describe('EventWriter', () => {
  it('writes a readable event file: file_version first, scalars, image; CRCs verified on read', () => {
    const dir = freshDir();
    let t = 1_700_000_000_000;
    const w = new EventWriter(dir, { hostname: 'testhost', now: () => (t += 250) });
    expect(w.path).toBe(join(dir, 'events.out.tfevents.1700000000.testhost'));
    w.scalar('loss', 1.25, 0);
    w.scalars({ loss: 0.1, lr: 2e-4, 'eval/bpd': 3.3 }, 100);
    const pixels = Uint8Array.from({ length: 4 * 5 * 3 }, (_, i) => (i * 37) & 255);
    const png = encodePng({ width: 5, height: 4, channels: 3, data: pixels });
    w.image('samples', png, 4, 5, 3, 100);
    w.scalar('nan', NaN, 101);
    w.flush();
    w.close();
    w.close(); // idempotent
    expect(code(() => w.scalar('loss', 1, 2))).toBe('ERR_ARG');

    expect(readdirSync(dir)).toEqual(['events.out.tfevents.1700000000.testhost']);
    const events = readEvents(w.path);
    expect(events).toHaveLength(5);
    expect(events[0]).toEqual({ wallTime: 1_700_000_000.5, step: 0, fileVersion: 'brain.Event:2' });
    expect(events[1]!.summary!.values).toEqual([{ tag: 'loss', simpleValue: 1.25 }]);
    expect(events[1]!.step).toBe(0);
    expect(events[2]!.step).toBe(100);
    expect(events[2]!.summary!.values).toEqual([
      { tag: 'loss', simpleValue: f32(0.1) }, { tag: 'lr', simpleValue: f32(2e-4) }, { tag: 'eval/bpd', simpleValue: f32(3.3) },
    ]);
    const img = events[3]!.summary!.values[0]!;
    expect(img.tag).toBe('samples');
    expect(img.image).toEqual({ height: 4, width: 5, colorspace: 3, encoded: Uint8Array.from(png) });
    expect(Number.isNaN(events[4]!.summary!.values[0]!.simpleValue)).toBe(true);
    // wall times increase monotonically with the injected clock
    const times = events.map((e) => e.wallTime);
    expect([...times].sort((a, b) => a - b)).toEqual(times);

    // Corrupting one byte of the image payload is caught by the data CRC.
    const bytes = readFileSync(w.path);
    const at = bytes.indexOf(Buffer.from(png).subarray(20, 40));
    bytes[at] ^= 0x55;
    writeFileSync(join(dir, 'corrupt'), bytes);
    expect(() => readEvents(join(dir, 'corrupt'))).toThrow(/record 3 .*data CRC mismatch/);
    expect(code(() => readEvents(join(dir, 'corrupt')))).toBe('ERR_FORMAT');
  });

  it('every record is on disk as soon as the call returns (a crash loses nothing logged)', () => {
    const dir = freshDir();
    const w = new EventWriter(dir);
    expect(w.path).toMatch(/events\.out\.tfevents\.\d{10}\.[^/]+$/);
    w.scalar('a', 1, 1);
    // read while still open, without flush/close
    expect(readEvents(w.path).map((e) => e.summary?.values[0]?.tag)).toEqual([undefined, 'a']);
    w.scalar('b', 2, 2);
    const size = statSync(w.path).size;
    expect(readEvents(w.path)).toHaveLength(3);
    // a torn tail (killed mid-write) is reported, or dropped on request
    appendFileSync(w.path, frameRecord(encodeEvent({ wallTime: 0, step: 3 })).subarray(0, 10));
    expect(() => readEvents(w.path)).toThrow(/truncated/);
    expect(readEvents(w.path, { allowTruncatedTail: true })).toHaveLength(3);
    truncateSync(w.path, size);
    w.close();
  });

  it('never shares a file with another writer started in the same second', () => {
    const dir = freshDir();
    const now = (): number => 1_600_000_000_000;
    const a = new EventWriter(dir, { hostname: 'h', now });
    const b = new EventWriter(dir, { hostname: 'h', now });
    expect(a.path).not.toBe(b.path);
    expect(b.path).toBe(`${a.path}.${process.pid}.1`);
    a.scalar('x', 1, 1); b.scalar('y', 2, 1);
    a.close(); b.close();
    expect(readEvents(a.path)[1]!.summary!.values[0]!.tag).toBe('x');
    expect(readEvents(b.path)[1]!.summary!.values[0]!.tag).toBe('y');
  });

  it('validates its arguments', () => {
    const w = new EventWriter(freshDir());
    expect(code(() => w.scalar('', 1, 0))).toBe('ERR_ARG');
    expect(code(() => w.scalar('a', 1, 1.5))).toBe('ERR_ARG');
    expect(code(() => w.scalar('a', '1' as unknown as number, 1))).toBe('ERR_ARG');
    expect(code(() => w.scalars({ a: 1, b: 'x' as unknown as number }, 1))).toBe('ERR_ARG');
    expect(code(() => w.image('i', new Uint8Array(4), 2, 2, 5, 0))).toBe('ERR_ARG');
    expect(code(() => w.image('i', new Uint8Array(4), 0, 2, 3, 0))).toBe('ERR_ARG');
    w.scalars({}, 3); // nothing to write
    w.close();
    expect(readEvents(w.path)).toHaveLength(1);
  });
});

describe('formatDuration / formatFieldValue / formatProgressLine', () => {
  it('formats durations', () => {
    expect(formatDuration(0)).toBe('00:00');
    expect(formatDuration(59.9)).toBe('00:59');
    expect(formatDuration(61)).toBe('01:01');
    expect(formatDuration(3599)).toBe('59:59');
    expect(formatDuration(3600)).toBe('1:00:00');
    expect(formatDuration(3 * 3600 + 25 * 60 + 7)).toBe('3:25:07');
    expect(formatDuration(86400 * 2 + 3661)).toBe('2d 01:01:01');
    expect(formatDuration(NaN)).toBe('--:--');
    expect(formatDuration(Infinity)).toBe('--:--');
    expect(formatDuration(-1)).toBe('--:--');
  });

  it('formats field values compactly', () => {
    expect(formatFieldValue(12)).toBe('12');
    expect(formatFieldValue(31.254321)).toBe('31.25');
    expect(formatFieldValue(0.123456)).toBe('0.1235');
    expect(formatFieldValue(2e-4)).toBe('2e-4');
    expect(formatFieldValue(1.23456e-5)).toBe('1.235e-5');
    expect(formatFieldValue(0)).toBe('0');
    expect(formatFieldValue(NaN)).toBe('NaN');
    expect(formatFieldValue('cifar10')).toBe('cifar10');
  });

  it('renders bar, count/total, percentage, rate, elapsed<ETA and fields', () => {
    const line = formatProgressLine({ label: 'train', count: 40, total: 100, elapsed: 20, fields: { loss: 31.25, lr: 2e-4 }, barWidth: 10 });
    expect(line).toBe('train  [####......]   40/100   40.0%  2.00 it/s  00:20<00:30  loss=31.25 lr=2e-4');
  });

  it('handles unknown totals, slow rates, completion and a zero elapsed time', () => {
    expect(formatProgressLine({ count: 7, elapsed: 2 })).toBe('7  3.50 it/s  00:02');
    expect(formatProgressLine({ count: 1, total: 10, elapsed: 5, barWidth: 4 })).toBe('[....]   1/10   10.0%  5.00 s/it  00:05<00:45');
    expect(formatProgressLine({ count: 10, total: 10, elapsed: 4000, barWidth: 4 })).toBe('[####]  10/10  100.0%  400 s/it  1:06:40<00:00');
    expect(formatProgressLine({ count: 0, total: 10, elapsed: 0, barWidth: 4 })).toBe('[....]   0/10    0.0%  ? it/s  00:00<--:--');
    expect(formatProgressLine({ count: 250, total: 100, elapsed: 1, barWidth: 4 })).toContain('[####]');
    expect(formatProgressLine({ count: 5, total: 10, elapsed: 1, rate: 1, barWidth: 4 })).toContain('1.00 it/s  00:01<00:05');
  });
});

class FakeStream implements ProgressStream {
  out = '';
  constructor(public isTTY: boolean, public columns?: number) {}
  write(s: string): boolean { this.out += s; return true; }
}

describe('Progress', () => {
  it('on a non-TTY prints plain lines at most every intervalMs, and the final state on done()', () => {
    const s = new FakeStream(false);
    let t = 0;
    const p = new Progress({ total: 100, label: 'sample', stream: s, intervalMs: 1000, now: () => t, barWidth: 4 });
    for (let i = 0; i < 100; i++) { t += 50; p.tick(1, { loss: 100 - i }); }
    p.done();
    p.done();
    p.tick(); // ignored after done
    const lines = s.out.split('\n').filter(Boolean);
    // ticks at 50, 100, …, 5000 ms: lines at 50, 1050, 2050, 3050, 4050, plus done()
    expect(lines.length).toBe(5 + 1);
    expect(s.out).not.toContain('\r');
    expect(lines[0]).toBe('sample  [....]    1/100    1.0%  20.0 it/s  00:00<00:04  loss=100');
    expect(lines.at(-1)).toBe('sample  [####]  100/100  100.0%  20.0 it/s  00:05<00:00  loss=1');
    expect(p.count).toBe(100);
  });

  it('on a TTY redraws one line with \\r, truncated to the terminal width, and ends it on done()', () => {
    const s = new FakeStream(true, 30);
    let t = 0;
    const p = new Progress({ total: 10, stream: s, now: () => t, ttyIntervalMs: 100 });
    for (let i = 0; i < 10; i++) { t += 100; p.tick(); }
    p.done({ loss: 1 });
    expect(s.out.split('\n')).toHaveLength(2);
    expect(s.out.endsWith('\n')).toBe(true);
    const frames = s.out.trimEnd().split('\r').filter(Boolean);
    expect(frames).toHaveLength(11);
    for (const f of frames) {
      expect(f.endsWith('\x1b[K')).toBe(true);
      expect(f.length - 3).toBeLessThanOrEqual(29);
    }
  });

  it('tick(0, fields) updates fields; resumed work is excluded from the rate', () => {
    const s = new FakeStream(false);
    let t = 0;
    const p = new Progress({ total: 1000, initial: 900, stream: s, intervalMs: 1e9, now: () => t, barWidth: 4 });
    t = 10_000;
    p.tick(50);
    p.tick(0, { lr: 0.001, phase: 'warmup' });
    expect(p.fields).toEqual({ lr: 0.001, phase: 'warmup' });
    expect(p.line()).toBe('[###.]   950/1000   95.0%  5.00 it/s  00:10<00:10  lr=0.001 phase=warmup');
    expect(code(() => p.tick(-1))).toBe('ERR_ARG');
  });
});

describe('JsonlLog', () => {
  it('appends one line per record, keeps non-finite numbers, and reads back', () => {
    const path = join(freshDir(), 'sub', 'metrics.jsonl');
    const log = new JsonlLog(path);
    log.write({ step: 1, loss: 2.5 });
    log.write({ step: 2, loss: NaN, note: 'diverged', big: -Infinity });
    expect(readFileSync(path, 'utf8')).toBe('{"step":1,"loss":2.5}\n{"step":2,"loss":"NaN","note":"diverged","big":"-Infinity"}\n');
    const { records, skipped } = readJsonl(path);
    expect(skipped).toEqual([]);
    expect(records[0]).toEqual({ step: 1, loss: 2.5 });
    expect(Number.isNaN(records[1]!.loss)).toBe(true);
    expect(records[1]!.big).toBe(-Infinity);
    expect(code(() => log.write([1, 2] as unknown as Record<string, unknown>))).toBe('ERR_ARG');
  });

  it('skips a torn last line, and a reopened log ends the torn line before appending', () => {
    const path = join(freshDir(), 'metrics.jsonl');
    const log = new JsonlLog(path);
    log.write({ step: 1 });
    log.write({ step: 2 });
    appendFileSync(path, '{"step":3,"lo'); // crash mid-write
    expect(readJsonl(path)).toEqual({ records: [{ step: 1 }, { step: 2 }], skipped: [3] });
    expect(readJsonl(path, { strict: true }).records).toHaveLength(2); // a torn tail is fine even when strict

    const resumed = new JsonlLog(path);
    resumed.write({ step: 3 });
    expect(readFileSync(path, 'utf8')).toBe('{"step":1}\n{"step":2}\n{"step":3,"lo\n{"step":3}\n');
    expect(readJsonl(path)).toEqual({ records: [{ step: 1 }, { step: 2 }, { step: 3 }], skipped: [3] });
    expect(code(() => readJsonl(path, { strict: true }))).toBe('ERR_FORMAT');
  });

  it('parses empty and blank-line input', () => {
    expect(parseJsonl('')).toEqual({ records: [], skipped: [] });
    expect(parseJsonl('\n{"a":1}\n\n')).toEqual({ records: [{ a: 1 }], skipped: [] });
    expect(parseJsonl('[1]\n"x"\n{"a":1}\n')).toEqual({ records: [{ a: 1 }], skipped: [1, 2] });
  });
});

describe('MetricsLogger', () => {
  it('fans records out to JSONL, TensorBoard scalars and the progress line; images to TensorBoard', () => {
    const dir = freshDir();
    const s = new FakeStream(false);
    let t = 0;
    const progress = new Progress({ total: 10, label: 'train', stream: s, intervalMs: 0, now: () => t, barWidth: 4 });
    const logger = new MetricsLogger({ dir, progress, now: () => 1_700_000_000_000 });
    t = 1000; progress.tick(5);
    logger.log({ step: 5, training_loss: 12.5, lr: 1e-4, phase: 'warmup' });
    const png = encodePng({ width: 2, height: 2, channels: 1, data: Uint8Array.from([0, 64, 128, 255]) });
    logger.image('samples', png, 2, 2, 1, 5);
    logger.log({ step: 10, training_loss: 3 });
    logger.flush();
    logger.close();

    const { records } = readJsonl(join(dir, 'metrics.jsonl'));
    expect(records).toEqual([
      { step: 5, wall_time: 1_700_000_000, training_loss: 12.5, lr: 1e-4, phase: 'warmup' },
      { step: 10, wall_time: 1_700_000_000, training_loss: 3 },
    ]);

    const files = readdirSync(dir).filter((f) => f.startsWith('events.out.tfevents.'));
    expect(files).toHaveLength(1);
    const events = readEvents(join(dir, files[0]!));
    expect(events.map((e) => e.step)).toEqual([0, 5, 5, 10]);
    expect(events[1]!.summary!.values).toEqual([{ tag: 'training_loss', simpleValue: 12.5 }, { tag: 'lr', simpleValue: f32(1e-4) }]);
    expect(events[2]!.summary!.values[0]!.image).toMatchObject({ height: 2, width: 2, colorspace: 1 });
    expect(events[3]!.summary!.values).toEqual([{ tag: 'training_loss', simpleValue: 3 }]);

    const last = s.out.trimEnd().split('\n').at(-1)!;
    expect(last).toContain('training_loss=3');
    expect(last).toContain('phase=warmup');
    expect(last).toContain('5/10');
    expect(code(() => logger.log({ step: 1.5 } as never))).toBe('ERR_ARG');
  });

  it('sinks can be switched off', () => {
    const dir = freshDir();
    const logger = new MetricsLogger({ dir, tensorboardDir: null, jsonlName: 'm.jsonl' });
    logger.log({ step: 1, x: 1 });
    logger.image('i', new Uint8Array(1), 1, 1, 1, 1); // no TensorBoard: ignored
    logger.close();
    expect(readdirSync(dir)).toEqual(['m.jsonl']);
    const tbOnly = new MetricsLogger({ dir: freshDir(), jsonlName: null, tensorboardDir: join(ROOT, 'tb-only') });
    tbOnly.log({ step: 2, y: 2 });
    tbOnly.close();
    expect(readEvents(tbOnly.tensorboard!.path)).toHaveLength(2);
  });
});
