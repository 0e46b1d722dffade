/**
 * A pickle virtual machine (protocols 0–5) that never executes code.
 *
 * Python's unpickler imports whatever `module.name` a GLOBAL names and calls it on REDUCE, which is how a
 * checkpoint can run `os.system`. Here GLOBAL/STACK_GLOBAL/INST only look the name up in a table that the
 * caller passes in (`globals`); anything else is rejected before a single call happens. Calls (REDUCE,
 * NEWOBJ, OBJ, INST) invoke the TS function the table maps that name to; BUILD (`__setstate__`) goes to a
 * hook registered with `onBuild` for objects a table function created, or updates a dict's attributes.
 * Persistent ids (torch storages) go to the caller's `persistentLoad`.
 *
 * Value mapping: see py-values.ts.
 */
import { formatError } from './errors.js';
import { OrderedDict, tuple } from './py-values.js';

// The protocol-2 writer lives in its own file; re-exported so `pickle.js` is the one place to look.
export { dumpPickle, PickleWriter, type PickleCustomHook } from './pickle-writer.js';

export type PickleCallable = (...args: unknown[]) => unknown;

/**
 * Whitelist of globals, keyed 'module.name'. A function value is what REDUCE/NEWOBJ call; any other value
 * (a dtype marker, a storage-type marker) is simply pushed, for use as an argument.
 */
export type PickleGlobals = Record<string, unknown>;

export interface PickleLoadOptions {
  globals?: PickleGlobals;
  /** Resolves BINPERSID/PERSID ids; without it a persistent id is an error. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Byte offset of the pickle inside `bytes` (for files that hold several pickles back to back). */
  offset?: number;
}

export interface PickleLoadResult {
  value: unknown;
  /** Offset just past the STOP opcode. */
  end: number;
}

const buildHooks = new WeakMap<object, (state: unknown) => void>();

/** Lets a whitelisted constructor receive BUILD (`__setstate__`) for the object it returned. */
export function onBuild(obj: object, hook: (state: unknown) => void): void {
  buildHooks.set(obj, hook);
}

/** The `unknown pickle global` error every reader raises for names outside its whitelist. */
export function unknownGlobal(module: string, name: string) {
  const why = module.startsWith('torch.nn.modules')
    ? 'the file pickles a whole nn.Module (torch.save(model)); save model.state_dict() instead'
    : 'it is none of the tensor, storage, dtype and container types that checkpoints hold, so it is refused (a checkpoint never runs code here)';
  return formatError(`unknown pickle global '${module}.${name}': ${why}`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeLatin1(b: Uint8Array): string {
  // Not TextDecoder('latin1'): that is really windows-1252. Map bytes 1:1 to code points instead.
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

/** Little-endian two's complement integer of any width (LONG1/LONG4/BININT). */
export function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return normalizeInt(v);
}

function normalizeInt(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Python 2 `repr(str)` body → string (protocol 0 STRING opcode). */
function unescapePyString(s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_m, e: string) => {
    if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    const map: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v' };
    return map[e] ?? '\\' + e;
  });
}

/** raw-unicode-escape (protocol 0 UNICODE opcode). */
function rawUnicodeEscape(b: Uint8Array): string {
  return decodeLatin1(b).replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, a?: string, c?: string) =>
    String.fromCodePoint(parseInt((a ?? c)!, 16)));
}

class Reader {
  pos: number;
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array, offset: number) {
    this.pos = offset;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number): void {
    if (this.pos + n > this.bytes.length) throw formatError(`truncated pickle: needed ${n} bytes at offset ${this.pos}`);
  }
  u8(): number { this.need(1); return this.bytes[this.pos++]!; }
  u16(): number { this.need(2); const v = this.view.getUint16(this.pos, true); this.pos += 2; return v; }
  u32(): number { this.need(4); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  i32(): number { this.need(4); const v = this.view.getInt32(this.pos, true); this.pos += 4; return v; }
  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(this.bytes.length)) throw formatError(`truncated pickle: length ${v} exceeds the data`);
    return Number(v);
  }
  f64be(): number { this.need(8); const v = this.view.getFloat64(this.pos, false); this.pos += 8; return v; }
  take(n: number): Uint8Array { this.need(n); const b = this.bytes.subarray(this.pos, this.pos + n); this.pos += n; return b; }
  line(): string {
    const nl = this.bytes.indexOf(0x0a, this.pos);
    if (nl < 0) throw formatError(`truncated pickle: unterminated line at offset ${this.pos}`);
    const s = decodeLatin1(this.bytes.subarray(this.pos, nl));
    this.pos = nl + 1;
    return s;
  }
}

export function loadPickle(bytes: Uint8Array, options: PickleLoadOptions = {}): PickleLoadResult {
  const globals = options.globals ?? {};
  const r = new Reader(bytes, options.offset ?? 0);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();

  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1]!)) throw formatError('pickle stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) throw formatError('pickle stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) throw formatError('pickle: MARK expected');
    return stack.splice(m);
  };
  const resolveGlobal = (module: string, name: string): unknown => {
    const key = `${module}.${name}`;
    if (!Object.prototype.hasOwnProperty.call(globals, key)) throw unknownGlobal(module, name);
    return globals[key];
  };
  const call = (fn: unknown, args: unknown[], what: string): unknown => {
    if (typeof fn !== 'function') throw formatError(`pickle: ${what} of a value that is not callable`);
    return (fn as PickleCallable)(...args);
  };
  const asArgs = (v: unknown): unknown[] => {
    if (!Array.isArray(v)) throw formatError('pickle: call arguments are not a tuple');
    return [...v];
  };
  const setItems = (d: unknown, items: unknown[]): void => {
    if (!(d instanceof Map)) throw formatError('pickle: SETITEM(S) on a value that is not a dict');
    if (items.length % 2) throw formatError('pickle: odd number of items for SETITEMS');
    for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
  };
  const appendItems = (l: unknown, items: unknown[]): void => {
    if (!Array.isArray(l) || Object.isFrozen(l)) throw formatError('pickle: APPEND(S) on a value that is not a list');
    l.push(...items);
  };
  const memoGet = (i: number): unknown => {
    if (!memo.has(i)) throw formatError(`pickle: memo key ${i} missing`);
    return memo.get(i);
  };
  // BUILD (`__setstate__`): only objects whose constructor registered a hook, and dict subclasses (state
  // = instance attributes). Never assigns arbitrary attributes onto JS objects ('__proto__' & co.).
  const build = (obj: unknown, state: unknown): void => {
    if (obj !== null && typeof obj === 'object') {
      const hook = buildHooks.get(obj);
      if (hook) return hook(state);
      if (obj instanceof Map) {
        const dictState = Array.isArray(state) ? state[0] : state;
        if (dictState instanceof Map) {
          const od = obj as OrderedDict;
          od.attrs = new Map([...(od.attrs ?? []), ...dictState]);
          return;
        }
        if (dictState == null) return;
      }
    }
    throw formatError('pickle: BUILD on an object that does not accept state');
  };

  for (;;) {
    const at = r.pos;
    if (at >= bytes.length) throw formatError('truncated pickle: no STOP opcode');
    const op = r.u8();
    switch (op) {
      case 0x80: { // PROTO
        const proto = r.u8();
        if (proto > 5) throw formatError(`unsupported pickle protocol ${proto}`);
        break;
      }
      case 0x95: r.u64(); break; // FRAME: frames are just a hint for buffered readers
      case 0x2e: // STOP '.'
        if (stack.length !== 1 || marks.length) throw formatError('pickle: malformed stack at STOP');
        return { value: stack[0], end: r.pos };
      case 0x28: marks.push(stack.length); break; // MARK '('
      case 0x30: pop(); break; // POP '0'
      case 0x31: popMark(); break; // POP_MARK '1'
      case 0x32: stack.push(top()); break; // DUP '2'

      // --- numbers
      case 0x4e: stack.push(null); break; // NONE 'N'
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(r.u8()); break; // BININT1 'K'
      case 0x4d: stack.push(r.u16()); break; // BININT2 'M'
      case 0x4a: stack.push(r.i32()); break; // BININT 'J'
      case 0x8a: stack.push(decodeLong(r.take(r.u8()))); break; // LONG1
      case 0x8b: { // LONG4
        const n = r.i32();
        if (n < 0) throw formatError('pickle: negative LONG4 length');
        // Checkpoints never hold integers this wide; decoding one would be quadratic (a DoS vector).
        if (n > 4096) throw formatError(`pickle: LONG4 integer of ${n} bytes is too large`);
        stack.push(decodeLong(r.take(n)));
        break;
      }
      case 0x49: { // INT 'I' (protocol 0; I00/I01 are False/True)
        const s = r.line();
        if (s === '00') stack.push(false);
        else if (s === '01') stack.push(true);
        else if (!/^[+-]?\d+$/.test(s)) throw formatError(`pickle: bad INT '${s}'`);
        else stack.push(normalizeInt(BigInt(s)));
        break;
      }
      case 0x4c: { // LONG 'L'
        const s = r.line().replace(/L$/, '');
        if (!/^[+-]?\d+$/.test(s)) throw formatError(`pickle: bad LONG '${s}'`);
        stack.push(normalizeInt(BigInt(s)));
        break;
      }
      case 0x47: stack.push(r.f64be()); break; // BINFLOAT 'G'
      case 0x46: { // FLOAT 'F'
        const s = r.line().trim();
        const v = s === 'nan' ? NaN : s === 'inf' ? Infinity : s === '-inf' ? -Infinity : Number(s);
        if (Number.isNaN(v) && s !== 'nan') throw formatError(`pickle: bad FLOAT '${s}'`);
        stack.push(v);
        break;
      }

      // --- strings and bytes
      case 0x58: stack.push(decodeUtf8(r.take(r.u32()))); break; // BINUNICODE 'X'
      case 0x8c: stack.push(decodeUtf8(r.take(r.u8()))); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(decodeUtf8(r.take(r.u64()))); break; // BINUNICODE8
      case 0x56: stack.push(rawUnicodeEscape(textLine(r))); break; // UNICODE 'V'
      // Python-2 str: decoded as latin-1 (what numpy/torch ask for with encoding='latin1'), so raw array
      // data written by Python 2 survives and can be turned back into bytes 1:1.
      case 0x54: { // BINSTRING 'T'
        const n = r.i32();
        if (n < 0) throw formatError('pickle: negative BINSTRING length');
        stack.push(decodeLatin1(r.take(n)));
        break;
      }
      case 0x55: stack.push(decodeLatin1(r.take(r.u8()))); break; // SHORT_BINSTRING 'U'
      case 0x53: { // STRING 'S'
        const s = r.line();
        const q = s[0];
        if (s.length < 2 || (q !== "'" && q !== '"') || s[s.length - 1] !== q) throw formatError('pickle: bad STRING quoting');
        stack.push(unescapePyString(s.slice(1, -1)));
        break;
      }
      case 0x42: stack.push(r.take(r.u32()).slice()); break; // BINBYTES 'B'
      case 0x43: stack.push(r.take(r.u8()).slice()); break; // SHORT_BINBYTES 'C'
      case 0x8e: stack.push(r.take(r.u64()).slice()); break; // BINBYTES8
      case 0x96: stack.push(r.take(r.u64()).slice()); break; // BYTEARRAY8
      case 0x97: throw formatError('pickle: out-of-band buffers (NEXT_BUFFER) are not supported');
      case 0x98: break; // READONLY_BUFFER: no-op for us

      // --- containers
      case 0x29: stack.push(tuple()); break; // EMPTY_TUPLE ')'
      case 0x74: stack.push(Object.freeze(popMark())); break; // TUPLE 't'
      case 0x85: stack.push(tuple(pop())); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push(tuple(a, b)); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push(tuple(a, b, c)); break; } // TUPLE3
      case 0x5d: stack.push([]); break; // EMPTY_LIST ']'
      case 0x6c: stack.push(popMark()); break; // LIST 'l'
      case 0x61: { const v = pop(); appendItems(top(), [v]); break; } // APPEND 'a'
      case 0x65: { const items = popMark(); appendItems(top(), items); break; } // APPENDS 'e'
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT '}'
      case 0x64: { const d = new Map(); setItems(d, popMark()); stack.push(d); break; } // DICT 'd'
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM 's'
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS 'u'
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x90: { // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) throw formatError('pickle: ADDITEMS on a value that is not a set');
        for (const i of items) s.add(i);
        break;
      }
      case 0x91: stack.push(new Set(popMark())); break; // FROZENSET

      // --- memo
      case 0x70: memo.set(parseMemoIndex(r.line()), top()); break; // PUT 'p'
      case 0x71: memo.set(r.u8(), top()); break; // BINPUT 'q'
      case 0x72: memo.set(r.u32(), top()); break; // LONG_BINPUT 'r'
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x67: stack.push(memoGet(parseMemoIndex(r.line()))); break; // GET 'g'
      case 0x68: stack.push(memoGet(r.u8())); break; // BINGET 'h'
      case 0x6a: stack.push(memoGet(r.u32())); break; // LONG_BINGET 'j'

      // --- globals and object construction (whitelist only)
      case 0x63: { const module = r.line(); const name = r.line(); stack.push(resolveGlobal(module, name)); break; } // GLOBAL 'c'
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw formatError('pickle: STACK_GLOBAL needs two strings');
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x69: { // INST 'i'
        const module = r.line();
        const name = r.line();
        const cls = resolveGlobal(module, name);
        stack.push(call(cls, popMark(), 'INST'));
        break;
      }
      case 0x6f: { const args = popMark(); const cls = args.shift(); stack.push(call(cls, args, 'OBJ')); break; } // OBJ 'o'
      case 0x52: { const args = pop(); const fn = pop(); stack.push(call(fn, asArgs(args), 'REDUCE')); break; } // REDUCE 'R'
      case 0x81: { const args = pop(); const cls = pop(); stack.push(call(cls, asArgs(args), 'NEWOBJ')); break; } // NEWOBJ
      case 0x92: { // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (kwargs instanceof Map && kwargs.size) throw formatError('pickle: NEWOBJ_EX keyword arguments are not supported');
        stack.push(call(cls, asArgs(args), 'NEWOBJ_EX'));
        break;
      }
      case 0x62: { const state = pop(); build(top(), state); break; } // BUILD 'b'
      case 0x82: case 0x83: case 0x84: throw formatError('pickle: extension registry codes (EXT1/2/4) are not supported');

      // --- persistent ids
      case 0x51: stack.push(persistent(options, pop())); break; // BINPERSID 'Q'
      case 0x50: stack.push(persistent(options, r.line())); break; // PERSID 'P'

      default:
        throw formatError(`unknown pickle opcode 0x${op.toString(16).padStart(2, '0')} at offset ${at}`);
    }
  }
}

function decodeUtf8(b: Uint8Array): string {
  try {
    return utf8.decode(b);
  } catch {
    throw formatError('pickle: invalid UTF-8 in a string');
  }
}

function textLine(r: Reader): Uint8Array {
  const nl = r.bytes.indexOf(0x0a, r.pos);
  if (nl < 0) throw formatError('truncated pickle: unterminated UNICODE');
  const b = r.bytes.subarray(r.pos, nl);
  r.pos = nl + 1;
  return b;
}

function parseMemoIndex(s: string): number {
  if (!/^\d+$/.test(s)) throw formatError(`pickle: bad memo index '${s}'`);
  return Number(s);
}

function persistent(options: PickleLoadOptions, pid: unknown): unknown {
  if (!options.persistentLoad) throw formatError('pickle: persistent id found but no persistent_load was given');
  return options.persistentLoad(pid);
}
