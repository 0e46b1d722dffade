/**
 * A protocol-2 pickle writer: enough of what CPython's Pickler emits for torch.save-style files (dicts,
 * OrderedDicts, lists, tuples, numbers, strings, bytes, globals, REDUCE/BUILD, persistent ids), so that a
 * stock `pickle.load`/`torch.load` reads the result. Protocol 2 because that is torch.save's default and the
 * oldest protocol with binary floats, NEWTRUE/NEWFALSE and TUPLE1-3.
 *
 * Value mapping is the reader's (py-values.ts). Anything else (a HostTensor) must be handled by the `custom`
 * hook, which emits opcodes through the writer's public methods.
 */
import { formatError } from './errors.js';
import { OrderedDict, PyFloat, PyReduce, isTuple } from './py-values.js';

/** Return true when `value` was written by the hook; false lets the writer handle it. */
export type PickleCustomHook = (value: unknown, w: PickleWriter) => boolean;

const BATCH = 1000; // CPython's batch size for APPENDS/SETITEMS

export class PickleWriter {
  private buf = new Uint8Array(1 << 12);
  private len = 0;
  private readonly memo = new Map<unknown, number>();
  private readonly globalMemo = new Map<string, number>();
  private readonly encoder = new TextEncoder();

  constructor(private readonly custom?: PickleCustomHook) {}

  /** A complete pickle (PROTO 2 … STOP) of `value`. */
  dump(value: unknown): Uint8Array {
    this.op(0x80, 2);
    this.save(value);
    this.op(0x2e);
    return this.buf.slice(0, this.len);
  }

  // ----- raw output
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  op(...bytes: number[]): void {
    this.ensure(bytes.length);
    for (const b of bytes) this.buf[this.len++] = b;
  }
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  private u32(v: number): void {
    this.op(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }

  // ----- memo
  /** Stores the object on top of the stack in the memo (BINPUT / LONG_BINPUT). */
  put(obj: unknown): void {
    const i = this.memo.size;
    this.memo.set(obj, i);
    this.putIndex(i);
  }
  private putIndex(i: number): void {
    if (i < 256) this.op(0x71, i);
    else { this.op(0x72); this.u32(i); }
  }
  private get(i: number): void {
    if (i < 256) this.op(0x68, i);
    else { this.op(0x6a); this.u32(i); }
  }
  /** Emits BINGET and returns true when `obj` was already written. */
  memoized(obj: unknown): boolean {
    const i = this.memo.get(obj);
    if (i === undefined) return false;
    this.get(i);
    return true;
  }

  // ----- building blocks for hooks
  global(module: string, name: string): void {
    const key = `${module}\n${name}`;
    const i = this.globalMemo.get(key);
    if (i !== undefined) return this.get(i);
    this.op(0x63);
    this.raw(this.encoder.encode(`${module}\n${name}\n`));
    const idx = this.memo.size;
    this.memo.set(Symbol(key), idx); // reserve the slot; globals are looked up through globalMemo
    this.globalMemo.set(key, idx);
    this.putIndex(idx);
  }
  /** `module.name(*args)` */
  reduce(module: string, name: string, args: readonly unknown[]): void {
    this.global(module, name);
    this.saveTuple(args);
    this.op(0x52);
  }
  /** BINPERSID with `pid` as the persistent id. */
  persid(pid: unknown): void {
    this.save(pid);
    this.op(0x51);
  }
  build(state: unknown): void {
    this.save(state);
    this.op(0x62);
  }

  // ----- values
  save(v: unknown): void {
    if (v === null || v === undefined) return this.op(0x4e);
    if (v === true) return this.op(0x88);
    if (v === false) return this.op(0x89);
    if (typeof v === 'number') return Number.isInteger(v) && Number.isSafeInteger(v) ? this.saveInt(BigInt(v)) : this.saveFloat(v);
    if (typeof v === 'bigint') return this.saveInt(v);
    if (typeof v === 'string') return this.saveString(v);
    if (v instanceof PyFloat) return this.saveFloat(v.value);
    if (typeof v !== 'object') throw formatError(`pickle writer: cannot pickle a ${typeof v}`);
    if (this.memoized(v)) return;
    if (this.custom?.(v, this)) return;
    if (v instanceof Uint8Array && !(v as { dtype?: unknown }).dtype) return this.saveBytes(v);
    if (isTuple(v)) { this.saveTuple(v); return this.put(v); }
    if (Array.isArray(v)) return this.saveList(v);
    if (v instanceof OrderedDict) return this.saveOrderedDict(v);
    if (v instanceof Map) return this.saveDict(v, [...v.entries()]);
    if (v instanceof Set) { this.reduce('__builtin__', 'set', [[...v]]); return this.put(v); }
    if (v instanceof PyReduce) {
      this.reduce(v.module, v.name, v.args);
      this.put(v);
      if (v.state !== undefined) this.build(v.state);
      return;
    }
    if (Object.getPrototypeOf(v) === Object.prototype) return this.saveDict(v, Object.entries(v));
    throw formatError(`pickle writer: cannot pickle ${(v as object).constructor?.name ?? 'object'}`);
  }

  private saveInt(v: bigint): void {
    if (v >= 0n && v < 256n) return this.op(0x4b, Number(v));
    if (v >= 0n && v < 65536n) return this.op(0x4d, Number(v) & 0xff, Number(v) >>> 8);
    if (v >= -(2n ** 31n) && v < 2n ** 31n) { this.op(0x4a); return this.u32(Number(BigInt.asUintN(32, v))); }
    // LONG1: minimal little-endian two's complement.
    const bytes: number[] = [];
    let x = v;
    for (;;) {
      bytes.push(Number(x & 0xffn));
      x >>= 8n;
      const signBit = (bytes[bytes.length - 1]! & 0x80) !== 0;
      if ((x === 0n && !signBit) || (x === -1n && signBit)) break;
    }
    if (bytes.length > 255) throw formatError('pickle writer: integer too large');
    this.op(0x8a, bytes.length, ...bytes);
  }
  private saveFloat(v: number): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, false);
    this.op(0x47);
    this.raw(b);
  }
  private saveString(s: string): void {
    const b = this.encoder.encode(s);
    this.op(0x58);
    this.u32(b.length);
    this.raw(b);
  }
  private saveBytes(b: Uint8Array): void {
    // Protocol 2 has no bytes opcode; CPython writes _codecs.encode(<latin-1 str>, 'latin1').
    let s = '';
    for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
    this.reduce('_codecs', 'encode', [s, 'latin1']);
    this.put(b);
  }
  saveTuple(items: readonly unknown[]): void {
    if (items.length === 0) return this.op(0x29);
    if (items.length <= 3) {
      for (const x of items) this.save(x);
      return this.op([0x85, 0x86, 0x87][items.length - 1]!);
    }
    this.op(0x28);
    for (const x of items) this.save(x);
    this.op(0x74);
  }
  private saveList(items: unknown[]): void {
    this.op(0x5d);
    this.put(items);
    for (let i = 0; i < items.length; i += BATCH) {
      const batch = items.slice(i, i + BATCH);
      if (batch.length === 1) { this.save(batch[0]); this.op(0x61); continue; }
      this.op(0x28);
      for (const x of batch) this.save(x);
      this.op(0x65);
    }
  }
  private saveItems(entries: [unknown, unknown][]): void {
    for (let i = 0; i < entries.length; i += BATCH) {
      const batch = entries.slice(i, i + BATCH);
      if (batch.length === 1) { this.save(batch[0]![0]); this.save(batch[0]![1]); this.op(0x73); continue; }
      this.op(0x28);
      for (const [k, x] of batch) { this.save(k); this.save(x); }
      this.op(0x75);
    }
  }
  private saveDict(obj: object, entries: [unknown, unknown][]): void {
    this.op(0x7d);
    this.put(obj);
    this.saveItems(entries);
  }
  private saveOrderedDict(d: OrderedDict): void {
    // What OrderedDict.__reduce__ gives CPython: OrderedDict(), items, then BUILD with the instance dict.
    this.reduce('collections', 'OrderedDict', []);
    this.put(d);
    this.saveItems([...d.entries()]);
    if (d.attrs && d.attrs.size) this.build(d.attrs);
  }
}

export function dumpPickle(value: unknown, custom?: PickleCustomHook): Uint8Array {
  return new PickleWriter(custom).dump(value);
}
