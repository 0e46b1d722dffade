/**
 * Minimal zip reader/writer for checkpoint containers (torch.save zip files, .npz).
 *
 * Reading: central directory driven (the local headers of torch-written files carry zero sizes and a data
 * descriptor, so they cannot be trusted), stored and deflate entries, zip64 sizes/offsets/entry counts.
 * Writing: the layout torch.save produces (stored entries whose data starts on a 64-byte boundary, padded
 * with a private 'FB' extra field full of 'Z's, exactly like caffe2's PyTorchStreamWriter) or plain
 * deflated entries for np.savez_compressed-style files. Sizes/CRCs go in the local header up front (no
 * data descriptors): both miniz (torch) and Python's zipfile read that.
 */
import * as zlib from 'node:zlib';
import { crc32 } from './crc32.js';
import { formatError } from './errors.js';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  localHeaderOffset: number;
}

export interface ZipReadOptions {
  /** Check each entry's CRC-32 when it is read (default true; native crc32 makes this cheap). */
  verifyCrc?: boolean;
}

/** True when the bytes start like a zip file (local header or, for an empty archive, an EOCD). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  const sig = (bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24)) >>> 0;
  return sig === SIG_LOCAL || sig === SIG_EOCD;
}

export class ZipReader {
  readonly entries: ZipEntry[];
  private readonly byName = new Map<string, ZipEntry>();
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array, private readonly options: ZipReadOptions = {}) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.entries = this.readCentralDirectory();
    for (const e of this.entries) this.byName.set(e.name, e);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  /** Entry contents; stored entries are zero-copy views into the archive bytes. */
  read(nameOrEntry: string | ZipEntry): Uint8Array {
    const e = typeof nameOrEntry === 'string' ? this.byName.get(nameOrEntry) : nameOrEntry;
    if (!e) throw formatError(`zip: no entry named '${String(nameOrEntry)}'`);
    const h = e.localHeaderOffset;
    this.need(h, 30, `local header of '${e.name}'`);
    if (this.view.getUint32(h, true) !== SIG_LOCAL) throw formatError(`zip: bad local header signature for '${e.name}'`);
    const start = h + 30 + this.view.getUint16(h + 26, true) + this.view.getUint16(h + 28, true);
    this.need(start, e.compressedSize, `data of '${e.name}'`);
    const raw = this.bytes.subarray(start, start + e.compressedSize);
    let out: Uint8Array;
    if (e.method === 0) out = raw;
    else if (e.method === 8) {
      try {
        const b = zlib.inflateRawSync(raw);
        out = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      } catch (err) {
        throw formatError(`zip: cannot inflate '${e.name}': ${(err as Error).message}`, err);
      }
    } else throw formatError(`zip: entry '${e.name}' uses unsupported compression method ${e.method}`);
    if (out.length !== e.size) throw formatError(`zip: entry '${e.name}' has ${out.length} bytes, directory says ${e.size}`);
    if (this.options.verifyCrc !== false && crc32(out) !== e.crc32) throw formatError(`zip: CRC mismatch in '${e.name}'`);
    return out;
  }

  private need(offset: number, length: number, what: string): void {
    if (offset < 0 || length < 0 || offset + length > this.bytes.length) {
      throw formatError(`truncated zip: ${what} lies outside the file (${this.bytes.length} bytes)`);
    }
  }

  private u64(offset: number): number {
    const v = this.view.getBigUint64(offset, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw formatError('zip: 64-bit field too large');
    return Number(v);
  }

  private findEocd(): number {
    const n = this.bytes.length;
    if (n < 22) throw formatError(`truncated zip: ${n} bytes is smaller than an end-of-central-directory record`);
    // The EOCD is the last 22 bytes plus an optional comment of at most 65535 bytes.
    const stop = Math.max(0, n - 22 - U16_MAX);
    for (let p = n - 22; p >= stop; p--) {
      if (this.view.getUint32(p, true) === SIG_EOCD && p + 22 + this.view.getUint16(p + 20, true) <= n) return p;
    }
    if (!looksLikeZip(this.bytes)) throw formatError('not a zip file: wrong magic (no PK header, no end-of-central-directory record)');
    throw formatError('truncated zip: end-of-central-directory record not found');
  }

  private readCentralDirectory(): ZipEntry[] {
    const eocd = this.findEocd();
    let count = this.view.getUint16(eocd + 10, true);
    let cdSize = this.view.getUint32(eocd + 12, true);
    let cdOffset = this.view.getUint32(eocd + 16, true);
    if (count === U16_MAX || cdSize === U32_MAX || cdOffset === U32_MAX) {
      // zip64: the locator sits right before the EOCD and points at the zip64 EOCD record.
      const loc = eocd - 20;
      if (loc >= 0 && this.view.getUint32(loc, true) === SIG_EOCD64_LOCATOR) {
        const rec = this.u64(loc + 8);
        this.need(rec, 56, 'zip64 end-of-central-directory record');
        if (this.view.getUint32(rec, true) !== SIG_EOCD64) throw formatError('zip: bad zip64 end-of-central-directory signature');
        count = this.u64(rec + 32);
        cdSize = this.u64(rec + 40);
        cdOffset = this.u64(rec + 48);
      }
    }
    this.need(cdOffset, cdSize, 'central directory');
    const entries: ZipEntry[] = [];
    const decoder = new TextDecoder();
    let p = cdOffset;
    for (let i = 0; i < count; i++) {
      this.need(p, 46, 'central directory entry');
      if (this.view.getUint32(p, true) !== SIG_CENTRAL) throw formatError(`zip: bad central directory signature at entry ${i}`);
      const method = this.view.getUint16(p + 10, true);
      const crc = this.view.getUint32(p + 16, true);
      let compressedSize = this.view.getUint32(p + 20, true);
      let size = this.view.getUint32(p + 24, true);
      const nameLen = this.view.getUint16(p + 28, true);
      const extraLen = this.view.getUint16(p + 30, true);
      const commentLen = this.view.getUint16(p + 32, true);
      let localHeaderOffset = this.view.getUint32(p + 42, true);
      this.need(p + 46, nameLen + extraLen + commentLen, 'central directory entry');
      const name = decoder.decode(this.bytes.subarray(p + 46, p + 46 + nameLen));
      // zip64 extended information: only the fields whose 32-bit slot is saturated are present, in order.
      let x = p + 46 + nameLen;
      const xEnd = x + extraLen;
      while (x + 4 <= xEnd) {
        const id = this.view.getUint16(x, true);
        const len = this.view.getUint16(x + 2, true);
        if (id === 0x0001) {
          let q = x + 4;
          if (size === U32_MAX) { size = this.u64(q); q += 8; }
          if (compressedSize === U32_MAX) { compressedSize = this.u64(q); q += 8; }
          if (localHeaderOffset === U32_MAX) { localHeaderOffset = this.u64(q); q += 8; }
        }
        x += 4 + len;
      }
      entries.push({ name, method, compressedSize, size, crc32: crc, localHeaderOffset });
      p = xEnd + commentLen;
    }
    return entries;
  }
}

export function readZip(bytes: Uint8Array, options?: ZipReadOptions): ZipReader {
  return new ZipReader(bytes, options);
}

// ---------------------------------------------------------------------------------------------------------
// Writing

export interface ZipWriteEntry {
  name: string;
  data: Uint8Array;
}

export interface ZipWriteOptions {
  /** 'store' (torch.save, np.savez) or 'deflate' (np.savez_compressed). */
  method?: 'store' | 'deflate';
  /**
   * Align each entry's data to this many bytes with a torch-style 'FB' padding extra field (torch uses 64
   * so storages can be memory-mapped). 0 disables padding.
   */
  align?: number;
  /**
   * Sizes/offsets/counts from this value up use zip64 records. Only tests lower it (to exercise zip64
   * without writing 4 GiB); the default is the format's 32-bit limit.
   */
  zip64Limit?: number;
}

/** Collects chunks, or forwards them to `sink` (streaming to a file) while counting the length. */
class Chunks {
  readonly parts: Uint8Array[] = [];
  length = 0;
  constructor(private readonly sink?: (chunk: Uint8Array) => void) {}
  push(b: Uint8Array): void {
    if (this.sink) this.sink(b);
    else this.parts.push(b);
    this.length += b.length;
  }
}

function le(size: number): { buf: Uint8Array; view: DataView } {
  const buf = new Uint8Array(size);
  return { buf, view: new DataView(buf.buffer) };
}

/** Writes a complete zip archive into one buffer. */
export function writeZip(entries: ZipWriteEntry[], options: ZipWriteOptions = {}): Uint8Array {
  const chunks = new Chunks();
  writeZipTo((c) => chunks.push(c), entries, options);
  return concat(chunks);
}

/** Streams a zip archive chunk by chunk (entry data is passed through without copying). */
export function writeZipTo(sink: (chunk: Uint8Array) => void, entries: ZipWriteEntry[], options: ZipWriteOptions = {}): void {
  const method = options.method === 'deflate' ? 8 : 0;
  const align = options.align ?? 0;
  const limit = Math.min(options.zip64Limit ?? U32_MAX, U32_MAX);
  const encoder = new TextEncoder();
  const out = new Chunks(sink);
  const central = new Chunks();
  for (const entry of entries) {
    const name = encoder.encode(entry.name);
    const data = method === 8 ? new Uint8Array(zlib.deflateRawSync(entry.data)) : entry.data;
    const crc = crc32(entry.data);
    const offset = out.length;
    const big = entry.data.length >= limit || data.length >= limit;
    const bigOffset = offset >= limit;
    // Local zip64 extra: uncompressed + compressed sizes (both, per the spec, when either is present).
    const localZip64 = big ? 20 : 0;
    let padding = 0;
    if (align > 0) {
      const start = offset + 30 + name.length + localZip64 + 4;
      padding = (align - (start % align)) % align;
    }
    const extraLen = localZip64 + (align > 0 ? 4 + padding : 0);
    const { buf: h, view: hv } = le(30 + name.length + extraLen);
    hv.setUint32(0, SIG_LOCAL, true);
    hv.setUint16(4, big || bigOffset ? 45 : 20, true);
    hv.setUint16(6, 0x0800, true); // names are UTF-8
    hv.setUint16(8, method, true);
    hv.setUint16(10, 0, true); // time
    hv.setUint16(12, 0x21, true); // date 1980-01-01, the zip epoch (what torch writes too)
    hv.setUint32(14, crc, true);
    hv.setUint32(18, big ? U32_MAX : data.length, true);
    hv.setUint32(22, big ? U32_MAX : entry.data.length, true);
    hv.setUint16(26, name.length, true);
    hv.setUint16(28, extraLen, true);
    h.set(name, 30);
    let x = 30 + name.length;
    if (big) {
      hv.setUint16(x, 0x0001, true);
      hv.setUint16(x + 2, 16, true);
      hv.setBigUint64(x + 4, BigInt(entry.data.length), true);
      hv.setBigUint64(x + 12, BigInt(data.length), true);
      x += 20;
    }
    if (align > 0) {
      h[x] = 0x46; h[x + 1] = 0x42; // 'FB'
      hv.setUint16(x + 2, padding, true);
      h.fill(0x5a, x + 4, x + 4 + padding); // 'Z'
    }
    out.push(h);
    out.push(data);

    const cz: number[] = [];
    if (big) cz.push(entry.data.length, data.length);
    if (bigOffset) cz.push(offset);
    const cExtra = cz.length ? 4 + 8 * cz.length : 0;
    const { buf: c, view: cv } = le(46 + name.length + cExtra);
    cv.setUint32(0, SIG_CENTRAL, true);
    cv.setUint16(4, cz.length ? 45 : 20, true);
    cv.setUint16(6, cz.length ? 45 : 20, true);
    cv.setUint16(8, 0x0800, true);
    cv.setUint16(10, method, true);
    cv.setUint16(12, 0, true);
    cv.setUint16(14, 0x21, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, big ? U32_MAX : data.length, true);
    cv.setUint32(24, big ? U32_MAX : entry.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint16(30, cExtra, true);
    cv.setUint32(42, bigOffset ? U32_MAX : offset, true);
    c.set(name, 46);
    if (cz.length) {
      const q = 46 + name.length;
      cv.setUint16(q, 0x0001, true);
      cv.setUint16(q + 2, 8 * cz.length, true);
      cz.forEach((v, i) => cv.setBigUint64(q + 4 + 8 * i, BigInt(v), true));
    }
    central.push(c);
  }
  const cdOffset = out.length;
  for (const c of central.parts) out.push(c);
  const cdSize = central.length;
  const count = entries.length;
  const need64 = count >= Math.min(U16_MAX, limit) || cdOffset >= limit || cdSize >= limit;
  if (need64) {
    const recOffset = out.length;
    const { buf: r, view: rv } = le(56);
    rv.setUint32(0, SIG_EOCD64, true);
    rv.setBigUint64(4, 44n, true);
    rv.setUint16(12, 45, true);
    rv.setUint16(14, 45, true);
    rv.setBigUint64(24, BigInt(count), true);
    rv.setBigUint64(32, BigInt(count), true);
    rv.setBigUint64(40, BigInt(cdSize), true);
    rv.setBigUint64(48, BigInt(cdOffset), true);
    out.push(r);
    const { buf: l, view: lv } = le(20);
    lv.setUint32(0, SIG_EOCD64_LOCATOR, true);
    lv.setBigUint64(8, BigInt(recOffset), true);
    lv.setUint32(16, 1, true);
    out.push(l);
  }
  const { buf: e, view: ev } = le(22);
  ev.setUint32(0, SIG_EOCD, true);
  ev.setUint16(8, Math.min(count, U16_MAX), true);
  ev.setUint16(10, Math.min(count, U16_MAX), true);
  ev.setUint32(12, need64 ? U32_MAX : cdSize, true);
  ev.setUint32(16, need64 ? U32_MAX : cdOffset, true);
  out.push(e);
}

function concat(chunks: Chunks): Uint8Array {
  const all = new Uint8Array(chunks.length);
  let p = 0;
  for (const b of chunks.parts) {
    all.set(b, p);
    p += b.length;
  }
  return all;
}
