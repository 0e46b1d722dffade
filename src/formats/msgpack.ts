/**
 * MessagePack decoder/encoder (the full type set), for flax checkpoints. Maps decode to JS Maps (ordered,
 * any key type), binary to Uint8Array, ext types to `MsgpackExt` (flax puts numpy arrays in ext 1 and
 * numpy scalars in ext 3), integers beyond 2^53 to bigint.
 */
import { formatError } from './errors.js';

export class MsgpackExt {
  constructor(readonly type: number, readonly data: Uint8Array) {}
}

export interface MsgpackDecodeOptions {
  /** Converts ext values while decoding (e.g. flax arrays → HostTensor); default keeps MsgpackExt. */
  ext?: (type: number, data: Uint8Array) => unknown;
  /** Nesting limit, so hostile input cannot blow the JS stack (default 512). */
  maxDepth?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeMsgpack(bytes: Uint8Array, options: MsgpackDecodeOptions = {}): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const maxDepth = options.maxDepth ?? 512;
  let pos = 0;
  const need = (n: number): void => {
    if (pos + n > bytes.length) throw formatError(`truncated msgpack: needed ${n} bytes at offset ${pos}`);
  };
  const take = (n: number): Uint8Array => { need(n); const b = bytes.subarray(pos, pos + n); pos += n; return b; };
  const u8 = (): number => { need(1); return bytes[pos++]!; };
  const u16 = (): number => { need(2); const v = view.getUint16(pos); pos += 2; return v; };
  const u32 = (): number => { need(4); const v = view.getUint32(pos); pos += 4; return v; };
  const int64 = (signed: boolean): number | bigint => {
    need(8);
    const v = signed ? view.getBigInt64(pos) : view.getBigUint64(pos);
    pos += 8;
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const str = (n: number): string => {
    try { return utf8.decode(take(n)); } catch (e) {
      if ((e as { code?: string }).code === 'ERR_FORMAT') throw e;
      throw formatError('msgpack: invalid UTF-8 string');
    }
  };
  const ext = (n: number): unknown => {
    need(1);
    const type = view.getInt8(pos++);
    const data = take(n);
    return options.ext ? options.ext(type, data) : new MsgpackExt(type, data.slice());
  };
  const arr = (n: number, depth: number): unknown[] => {
    if (n > bytes.length - pos) throw formatError('truncated msgpack: array longer than the data');
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = value(depth + 1);
    return out;
  };
  const map = (n: number, depth: number): Map<unknown, unknown> => {
    if (n > bytes.length - pos) throw formatError('truncated msgpack: map longer than the data');
    const out = new Map<unknown, unknown>();
    for (let i = 0; i < n; i++) {
      const k = value(depth + 1);
      out.set(k, value(depth + 1));
    }
    return out;
  };
  function value(depth: number): unknown {
    if (depth > maxDepth) throw formatError('msgpack: nesting too deep');
    const b = u8();
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if ((b & 0xf0) === 0x80) return map(b & 0x0f, depth);
    if ((b & 0xf0) === 0x90) return arr(b & 0x0f, depth);
    if ((b & 0xe0) === 0xa0) return str(b & 0x1f);
    switch (b) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return take(u8()).slice();
      case 0xc5: return take(u16()).slice();
      case 0xc6: return take(u32()).slice();
      case 0xc7: return ext(u8());
      case 0xc8: return ext(u16());
      case 0xc9: return ext(u32());
      case 0xca: { need(4); const v = view.getFloat32(pos); pos += 4; return v; }
      case 0xcb: { need(8); const v = view.getFloat64(pos); pos += 8; return v; }
      case 0xcc: return u8();
      case 0xcd: return u16();
      case 0xce: return u32();
      case 0xcf: return int64(false);
      case 0xd0: { need(1); return view.getInt8(pos++); }
      case 0xd1: { need(2); const v = view.getInt16(pos); pos += 2; return v; }
      case 0xd2: { need(4); const v = view.getInt32(pos); pos += 4; return v; }
      case 0xd3: return int64(true);
      case 0xd4: return ext(1);
      case 0xd5: return ext(2);
      case 0xd6: return ext(4);
      case 0xd7: return ext(8);
      case 0xd8: return ext(16);
      case 0xd9: return str(u8());
      case 0xda: return str(u16());
      case 0xdb: return str(u32());
      case 0xdc: return arr(u16(), depth);
      case 0xdd: return arr(u32(), depth);
      case 0xde: return map(u16(), depth);
      case 0xdf: return map(u32(), depth);
      default: throw formatError(`msgpack: invalid type byte 0x${b.toString(16)} at offset ${pos - 1}`);
    }
  }
  const v = value(0);
  if (pos !== bytes.length) throw formatError(`msgpack: ${bytes.length - pos} trailing bytes after the value`);
  return v;
}

/** Encodes JS values; `ext` may turn special objects (HostTensors) into MsgpackExt first. */
export function encodeMsgpack(v: unknown, ext?: (v: unknown) => MsgpackExt | undefined): Uint8Array {
  const parts: number[] = [];
  const chunks: Uint8Array[] = [];
  let size = 0;
  const flush = (): void => {
    if (parts.length) { chunks.push(Uint8Array.from(parts)); size += parts.length; parts.length = 0; }
  };
  const raw = (b: Uint8Array): void => { flush(); chunks.push(b); size += b.length; };
  const be = (n: number, bytesLen: number): void => { for (let i = bytesLen - 1; i >= 0; i--) parts.push(Math.floor(n / 2 ** (8 * i)) & 0xff); };
  const big = (x: bigint): void => { for (let i = 7; i >= 0; i--) parts.push(Number((x >> BigInt(8 * i)) & 0xffn)); };
  const enc = new TextEncoder();
  const header = (n: number, fix: number | null, fixMax: number, ops: [number, number, number]): void => {
    if (fix !== null && n <= fixMax) parts.push(fix | n);
    else if (n <= 0xff && ops[0] >= 0) parts.push(ops[0], n);
    else if (n <= 0xffff) { parts.push(ops[1]); be(n, 2); }
    else { parts.push(ops[2]); be(n, 4); }
  };
  function put(x: unknown): void {
    const e = ext?.(x);
    if (e) x = e;
    if (x === null || x === undefined) return void parts.push(0xc0);
    if (x === true) return void parts.push(0xc3);
    if (x === false) return void parts.push(0xc2);
    if (typeof x === 'number') {
      if (Number.isSafeInteger(x)) {
        if (x >= 0) {
          if (x <= 0x7f) parts.push(x);
          else if (x <= 0xff) parts.push(0xcc, x);
          else if (x <= 0xffff) { parts.push(0xcd); be(x, 2); }
          else if (x <= 0xffffffff) { parts.push(0xce); be(x, 4); }
          else { parts.push(0xcf); big(BigInt(x)); }
        } else if (x >= -32) parts.push(x + 0x100);
        else if (x >= -128) parts.push(0xd0, x & 0xff);
        else if (x >= -32768) { parts.push(0xd1); be(x & 0xffff, 2); }
        else if (x >= -2147483648) { parts.push(0xd2); be(x >>> 0, 4); }
        else { parts.push(0xd3); big(BigInt.asUintN(64, BigInt(x))); }
        return;
      }
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, x);
      parts.push(0xcb, ...b);
      return;
    }
    if (typeof x === 'bigint') {
      if (x < 0n) { parts.push(0xd3); big(BigInt.asUintN(64, x)); } else { parts.push(0xcf); big(x); }
      return;
    }
    if (typeof x === 'string') {
      const b = enc.encode(x);
      header(b.length, 0xa0, 31, [0xd9, 0xda, 0xdb]);
      return raw(b);
    }
    if (x instanceof MsgpackExt) {
      const n = x.data.length;
      const fixed: Record<number, number> = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 };
      if (fixed[n] !== undefined) parts.push(fixed[n]!);
      else header(n, null, 0, [0xc7, 0xc8, 0xc9]);
      parts.push(x.type & 0xff);
      return raw(x.data);
    }
    if (x instanceof Uint8Array) {
      header(x.length, null, 0, [0xc4, 0xc5, 0xc6]);
      return raw(x);
    }
    if (Array.isArray(x)) {
      header(x.length, 0x90, 15, [-1, 0xdc, 0xdd]);
      for (const i of x) put(i);
      return;
    }
    const entries = x instanceof Map ? [...x.entries()] : typeof x === 'object' ? Object.entries(x as object) : null;
    if (!entries) throw formatError(`msgpack: cannot encode a ${typeof x}`);
    header(entries.length, 0x80, 15, [-1, 0xde, 0xdf]);
    for (const [k, val] of entries) { put(k); put(val); }
  }
  put(v);
  flush();
  const out = new Uint8Array(size);
  let p = 0;
  for (const c of chunks) { out.set(c, p); p += c.length; }
  return out;
}
