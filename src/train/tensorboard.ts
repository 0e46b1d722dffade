/**
 * TensorBoard event files, written without TensorFlow: `tensorboard --logdir <dir>` reads them
 * like the reference implementations' `tf.summary` output.
 *
 * File: `<dir>/events.out.tfevents.<unix seconds>.<hostname>` (a `.<pid>.<n>` suffix is added
 * if that name is taken, so two writers never share a file). Framing is TFRecord:
 *
 *   uint64 LE length | uint32 LE masked_crc32c(length bytes) | data | uint32 LE masked_crc32c(data)
 *
 * with mask(crc) = ((crc >>> 15) | (crc << 17)) + 0xa282ead8 and CRC32C the Castagnoli CRC.
 * Each record is one `tensorflow.Event` protobuf, hand-encoded (only the fields used here):
 *
 *   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
 *   Summary { repeated Value value = 1; }
 *   Value   { string tag = 1; float simple_value = 2; Image image = 4; }
 *   Image   { int32 height = 1; int32 width = 2; int32 colorspace = 3; bytes encoded_image_string = 4; }
 *
 * The first record is `{wall_time, file_version: "brain.Event:2"}`. Every record is written with
 * one synchronous write to the file descriptor, so a crashing process loses nothing already
 * logged; `flush()` additionally fsyncs, for durability across a machine crash.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ScoreflowError, argError } from '../errors.js';

// ---------------------------------------------------------------------------------------------
// CRC32C (Castagnoli, reflected polynomial 0x82f63b78), table-driven.

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC32C of `data` (optionally continuing from a previous `crc`). crc32c("123456789") = 0xe3069283. */
export function crc32c(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC32C_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** TFRecord's masked CRC: ((crc >>> 15) | (crc << 17)) + 0xa282ead8, mod 2^32. */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** Frames one TFRecord: length, masked CRC of the length, data, masked CRC of the data. */
export function frameRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length + 4);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Minimal protobuf encoding.

const WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_LEN = 2, WIRE_FIXED32 = 5;

class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private scratch = Buffer.alloc(8);

  private push(b: Uint8Array): void { this.chunks.push(Uint8Array.from(b)); }

  private varint(v: bigint): void {
    let x = BigInt.asUintN(64, v);
    const bytes: number[] = [];
    while (x >= 0x80n) { bytes.push(Number(x & 0x7fn) | 0x80); x >>= 7n; }
    bytes.push(Number(x));
    this.chunks.push(Uint8Array.from(bytes));
  }

  private key(field: number, wire: number): void { this.varint(BigInt((field << 3) | wire)); }

  /** int32/int64 fields (negative values take ten bytes, as in protobuf). */
  int(field: number, v: number | bigint): this {
    this.key(field, WIRE_VARINT);
    this.varint(typeof v === 'bigint' ? v : BigInt(v));
    return this;
  }

  double(field: number, v: number): this {
    this.key(field, WIRE_FIXED64);
    this.scratch.writeDoubleLE(v, 0);
    this.push(this.scratch.subarray(0, 8));
    return this;
  }

  float(field: number, v: number): this {
    this.key(field, WIRE_FIXED32);
    this.scratch.writeFloatLE(v, 0);
    this.push(this.scratch.subarray(0, 4));
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.key(field, WIRE_LEN);
    this.varint(BigInt(b.length));
    this.chunks.push(b);
    return this;
  }

  string(field: number, s: string): this { return this.bytes(field, Buffer.from(s, 'utf8')); }

  finish(): Buffer { return Buffer.concat(this.chunks); }
}

/** Image payload of a summary value. `colorspace`: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. */
export interface SummaryImage {
  height: number;
  width: number;
  colorspace: number;
  /** The encoded image (PNG). */
  encoded: Uint8Array;
}

export interface SummaryValue {
  tag: string;
  simpleValue?: number;
  image?: SummaryImage;
}

export interface TfEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  summary?: { values: SummaryValue[] };
}

function encodeValue(v: SummaryValue): Buffer {
  const w = new ProtoWriter().string(1, v.tag);
  if (v.simpleValue !== undefined) w.float(2, v.simpleValue);
  if (v.image) {
    const img = new ProtoWriter()
      .int(1, v.image.height).int(2, v.image.width).int(3, v.image.colorspace)
      .bytes(4, v.image.encoded).finish();
    w.bytes(4, img);
  }
  return w.finish();
}

/** Serialises a `tensorflow.Event` (wall_time, step, file_version, summary). Fields at their
 * proto3 default (step 0) are still written: parsers accept both. */
export function encodeEvent(e: TfEvent): Buffer {
  const w = new ProtoWriter().double(1, e.wallTime).int(2, e.step);
  if (e.fileVersion !== undefined) w.string(3, e.fileVersion);
  if (e.summary) {
    const s = new ProtoWriter();
    for (const v of e.summary.values) s.bytes(1, encodeValue(v));
    w.bytes(5, s.finish());
  }
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// Minimal protobuf decoding (for readEvents; unknown fields are skipped).

interface Field { field: number; wire: number; varint?: bigint; data?: Uint8Array }

function formatError(what: string, msg: string): never {
  throw new ScoreflowError('ERR_FORMAT', `${what}: ${msg}`);
}

function* fields(buf: Uint8Array, what: string): Generator<Field> {
  let p = 0;
  const varint = (): bigint => {
    let result = 0n, shift = 0n;
    for (;;) {
      if (p >= buf.length) formatError(what, 'truncated varint');
      const b = buf[p++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
      if (shift > 63n) formatError(what, 'varint longer than 10 bytes');
    }
  };
  const take = (n: number): Uint8Array => {
    if (p + n > buf.length) formatError(what, `field runs past the end of the message (${p + n} > ${buf.length})`);
    const out = buf.subarray(p, p + n);
    p += n;
    return out;
  };
  while (p < buf.length) {
    const key = Number(varint());
    const field = key >>> 3, wire = key & 7;
    switch (wire) {
      case WIRE_VARINT: yield { field, wire, varint: varint() }; break;
      case WIRE_FIXED64: yield { field, wire, data: take(8) }; break;
      case WIRE_LEN: { const n = Number(varint()); yield { field, wire, data: take(n) }; break; }
      case WIRE_FIXED32: yield { field, wire, data: take(4) }; break;
      default: formatError(what, `unsupported wire type ${wire} (field ${field})`);
    }
  }
}

const f64 = (d: Uint8Array): number => Buffer.from(d.buffer, d.byteOffset, 8).readDoubleLE(0);
const f32 = (d: Uint8Array): number => Buffer.from(d.buffer, d.byteOffset, 4).readFloatLE(0);
const utf8 = (d: Uint8Array): string => Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('utf8');
const int64 = (v: bigint): number => Number(BigInt.asIntN(64, v));
const int32 = (v: bigint): number => Number(BigInt.asIntN(32, v));

function decodeImage(buf: Uint8Array, what: string): SummaryImage {
  const img: SummaryImage = { height: 0, width: 0, colorspace: 0, encoded: new Uint8Array(0) };
  for (const f of fields(buf, what)) {
    if (f.field === 1 && f.wire === WIRE_VARINT) img.height = int32(f.varint!);
    else if (f.field === 2 && f.wire === WIRE_VARINT) img.width = int32(f.varint!);
    else if (f.field === 3 && f.wire === WIRE_VARINT) img.colorspace = int32(f.varint!);
    else if (f.field === 4 && f.wire === WIRE_LEN) img.encoded = Uint8Array.from(f.data!);
  }
  return img;
}

function decodeValue(buf: Uint8Array, what: string): SummaryValue {
  const v: SummaryValue = { tag: '' };
  for (const f of fields(buf, what)) {
    if (f.field === 1 && f.wire === WIRE_LEN) v.tag = utf8(f.data!);
    else if (f.field === 2 && f.wire === WIRE_FIXED32) v.simpleValue = f32(f.data!);
    else if (f.field === 4 && f.wire === WIRE_LEN) v.image = decodeImage(f.data!, what);
  }
  return v;
}

/** Parses one serialised `tensorflow.Event` (the fields this module writes; others are skipped). */
export function decodeEvent(buf: Uint8Array, what = 'event'): TfEvent {
  const e: TfEvent = { wallTime: 0, step: 0 };
  for (const f of fields(buf, what)) {
    if (f.field === 1 && f.wire === WIRE_FIXED64) e.wallTime = f64(f.data!);
    else if (f.field === 2 && f.wire === WIRE_VARINT) e.step = int64(f.varint!);
    else if (f.field === 3 && f.wire === WIRE_LEN) e.fileVersion = utf8(f.data!);
    else if (f.field === 5 && f.wire === WIRE_LEN) {
      const values: SummaryValue[] = [];
      for (const s of fields(f.data!, what)) if (s.field === 1 && s.wire === WIRE_LEN) values.push(decodeValue(s.data!, what));
      e.summary = { values };
    }
  }
  return e;
}

/** Splits a TFRecord file into record payloads, verifying both CRCs of every record. A truncated
 * last record (a writer killed mid-write) throws unless `allowTruncatedTail`, when it is dropped. */
export function readRecords(bytes: Uint8Array, what = 'TFRecord data', opts: { allowTruncatedTail?: boolean } = {}): Uint8Array[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  let p = 0;
  while (p < buf.length) {
    const at = `${what}: record ${out.length} at byte ${p}`;
    const truncated = (): never => formatError(at, `truncated record (${buf.length - p} bytes left)`);
    if (p + 12 > buf.length) { if (opts.allowTruncatedTail) break; truncated(); }
    const lenBytes = buf.subarray(p, p + 8);
    const lenCrc = buf.readUInt32LE(p + 8);
    if (maskedCrc32c(lenBytes) !== lenCrc) formatError(at, `length CRC mismatch (stored 0x${lenCrc.toString(16)}, computed 0x${maskedCrc32c(lenBytes).toString(16)})`);
    const len = buf.readBigUInt64LE(p);
    if (len > BigInt(buf.length - p - 16)) { if (opts.allowTruncatedTail) break; truncated(); }
    const n = Number(len);
    const data = buf.subarray(p + 12, p + 12 + n);
    const dataCrc = buf.readUInt32LE(p + 12 + n);
    if (maskedCrc32c(data) !== dataCrc) formatError(at, `data CRC mismatch (stored 0x${dataCrc.toString(16)}, computed 0x${maskedCrc32c(data).toString(16)})`);
    out.push(data);
    p += 16 + n;
  }
  return out;
}

/** Reads an event file back: every record's CRCs are checked and each Event decoded. */
export function readEvents(path: string, opts: { allowTruncatedTail?: boolean } = {}): TfEvent[] {
  return readRecords(new Uint8Array(readFileSync(path)), path, opts).map((r, i) => decodeEvent(r, `${path}: event ${i}`));
}

// ---------------------------------------------------------------------------------------------
// Writer.

function checkTag(tag: unknown): string {
  if (typeof tag !== 'string' || tag.length === 0) argError('tag', 'a non-empty string', tag);
  return tag;
}

function checkStep(step: unknown): number {
  if (typeof step !== 'number' || !Number.isSafeInteger(step)) argError('step', 'a safe integer', step);
  return step;
}

function checkValue(name: string, v: unknown): number {
  if (typeof v !== 'number') argError(name, 'a number', v);
  return v;
}

export interface EventWriterOptions {
  /** Overrides the hostname in the file name (default `os.hostname()`). */
  hostname?: string;
  /** Clock in milliseconds since the epoch (default `Date.now`), for wall_time and the file name. */
  now?: () => number;
}

/** Appends TensorBoard events to a new file in `dir` (created if missing). */
export class EventWriter {
  /** The event file's full path. */
  readonly path: string;
  private fd: number | null;
  private readonly now: () => number;

  constructor(readonly dir: string, opts: EventWriterOptions = {}) {
    if (typeof dir !== 'string' || dir.length === 0) argError('dir', 'a directory path', dir);
    this.now = opts.now ?? Date.now;
    mkdirSync(dir, { recursive: true });
    const host = (opts.hostname ?? hostname()).replace(/[/\\]/g, '_');
    const base = join(dir, `events.out.tfevents.${Math.floor(this.now() / 1000)}.${host}`);
    let fd: number | null = null, path = base;
    for (let n = 0; fd === null; n++) {
      path = n === 0 ? base : `${base}.${process.pid}.${n}`;
      try {
        fd = openSync(path, 'wx');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || n >= 1000) throw e;
      }
    }
    this.fd = fd;
    this.path = path;
    this.writeEvent({ wallTime: this.now() / 1000, step: 0, fileVersion: 'brain.Event:2' });
  }

  get closed(): boolean { return this.fd === null; }

  private writeEvent(e: TfEvent): void {
    if (this.fd === null) throw new ScoreflowError('ERR_ARG', `EventWriter(${this.path}): already closed`);
    const rec = frameRecord(encodeEvent(e));
    let off = 0;
    while (off < rec.length) off += writeSync(this.fd, rec, off, rec.length - off);
  }

  private summary(values: SummaryValue[], step: number): void {
    this.writeEvent({ wallTime: this.now() / 1000, step, summary: { values } });
  }

  /** One scalar (stored as float32, as TensorBoard's simple_value). */
  scalar(tag: string, value: number, step: number): void {
    this.summary([{ tag: checkTag(tag), simpleValue: checkValue(tag, value) }], checkStep(step));
  }

  /** Several scalars at one step, in one event. Non-number entries are rejected. */
  scalars(record: Record<string, number>, step: number): void {
    checkStep(step);
    const values = Object.entries(record).map(([tag, v]) => ({ tag: checkTag(tag), simpleValue: checkValue(tag, v) }));
    if (values.length > 0) this.summary(values, step);
  }

  /** An encoded image (PNG bytes) with its size; `channels` 1, 2, 3 or 4 is the colorspace. */
  image(tag: string, pngBytes: Uint8Array, height: number, width: number, channels: number, step: number): void {
    checkTag(tag);
    if (!(pngBytes instanceof Uint8Array)) argError('pngBytes', 'a Uint8Array', pngBytes);
    if (!Number.isInteger(height) || height < 1) argError('height', 'a positive integer', height);
    if (!Number.isInteger(width) || width < 1) argError('width', 'a positive integer', width);
    if (![1, 2, 3, 4].includes(channels)) argError('channels', '1, 2, 3 or 4', channels);
    this.summary([{ tag, image: { height, width, colorspace: channels, encoded: pngBytes } }], checkStep(step));
  }

  /** Records are already in the file after each call; this fsyncs them to disk. */
  flush(): void {
    if (this.fd !== null) fsyncSync(this.fd);
  }

  /** Flushes and closes the file; later writes throw, a second close does nothing. */
  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    try { fsyncSync(fd); } finally { this.fd = null; closeSync(fd); }
  }
}
