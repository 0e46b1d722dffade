/**
 * MessagePack for flax checkpoints, over @msgpack/msgpack: a spec-strict decoder (no extension types of
 * its own beyond the timestamp, switched off here), iterative, so deep nesting cannot overflow the stack.
 * This adapter gives the flax reader the shapes it works with: maps decode to JS Maps (string keys, in
 * file order, as flax writes them; the library yields plain objects, which move integer-like keys first),
 * binary to owned Uint8Arrays, ext values to `MsgpackExt` or what `options.ext` makes of them, 64-bit
 * integers to numbers where exact (bigint beyond 2^53). Library errors become FormatErrors.
 */
import { DecodeError, ExtData, ExtensionCodec, decode, encode } from '@msgpack/msgpack';
import { formatError } from './errors.js';

/** An ext value as stored: flax uses type 1 (numpy array), 2 (complex), 3 (numpy scalar). */
export { ExtData as MsgpackExt };

export interface MsgpackDecodeOptions {
  /** Converts ext values (e.g. flax arrays → HostTensor); default keeps them as MsgpackExt. */
  ext?: (type: number, data: Uint8Array) => unknown;
  /** Nesting limit for the tree walk (default 512). */
  maxDepth?: number;
}

/** Every ext type stays raw: the built-in timestamp (-1) would turn file data into Dates. */
const RAW_EXT = new ExtensionCodec();
RAW_EXT.register({ type: -1, encode: () => null, decode: (data, type) => new ExtData(type, data) });

function libraryError(e: unknown, length: number): Error {
  const msg = (e as Error).message ?? String(e);
  const extra = /^Extra (\d+) of/.exec(msg);
  if (extra) return formatError(`msgpack: ${extra[1]} trailing bytes after the value`);
  if (e instanceof RangeError) return formatError(`truncated msgpack: the data (${length} bytes) ends inside a value`);
  if (e instanceof DecodeError) return formatError(`msgpack: ${msg.replace(/^Unrecognized type byte/, 'invalid type byte')}`);
  return e as Error;
}

export function decodeMsgpack(bytes: Uint8Array, options: MsgpackDecodeOptions = {}): unknown {
  let raw: unknown;
  try { raw = decode(bytes, { extensionCodec: RAW_EXT, useBigInt64: true }); } catch (e) { throw libraryError(e, bytes.length); }
  const maxDepth = options.maxDepth ?? 512;
  const walk = (v: unknown, depth: number): unknown => {
    if (depth > maxDepth) throw formatError(`msgpack: nesting deeper than ${maxDepth} levels`);
    if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    if (v === null || typeof v !== 'object') return v;
    if (v instanceof Uint8Array) return v.slice(); // owned and aligned: typed-array views of it may follow
    if (v instanceof ExtData) {
      const data = v.data as Uint8Array;
      return options.ext ? options.ext(v.type, data) : new ExtData(v.type, data.slice());
    }
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    const out = new Map<string, unknown>();
    for (const [k, x] of Object.entries(v)) out.set(k, walk(x, depth + 1));
    return out;
  };
  return walk(raw, 0);
}

/** Encodes JS values (Maps with string or number keys); `ext` may turn special objects (HostTensors) into MsgpackExt. */
export function encodeMsgpack(v: unknown, ext?: (v: unknown) => ExtData | undefined): Uint8Array {
  const walk = (x: unknown): unknown => {
    const e = ext?.(x);
    if (e) return e;
    if (x === null || typeof x !== 'object' || x instanceof Uint8Array || x instanceof ExtData) return x;
    if (Array.isArray(x)) return x.map(walk);
    // The library writes own enumerable properties: a null-prototype object also keeps '__proto__' keys.
    const out = Object.create(null) as Record<string, unknown>;
    for (const [k, val] of x instanceof Map ? x : Object.entries(x)) {
      if (typeof k !== 'string' && typeof k !== 'number') throw formatError(`msgpack: map keys must be strings or numbers, received a key of type ${typeof k}`);
      out[String(k)] = walk(val);
    }
    return out;
  };
  try { return encode(walk(v), { extensionCodec: RAW_EXT, useBigInt64: true }); } catch (e) {
    if ((e as { code?: string }).code === 'ERR_FORMAT') throw e;
    throw formatError(`msgpack: cannot encode the value: ${(e as Error).message}`);
  }
}
