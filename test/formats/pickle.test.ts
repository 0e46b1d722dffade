import { describe, expect, it } from 'vitest';
import { loadPickle } from '../../src/formats/pickle.js';
import { dumpPickle } from '../../src/formats/pickle-writer.js';
import { OrderedDict, PyFloat, isTuple, tuple } from '../../src/formats/py-values.js';
import { torchGlobals } from '../../src/formats/torch-load.js';
import { expectFormatError } from './helpers.js';

const b = (...xs: (number | string)[]): Uint8Array =>
  Uint8Array.from(xs.flatMap((x) => (typeof x === 'string' ? [...x].map((c) => c.charCodeAt(0)) : [x])));

describe('pickle VM', () => {
  it('never executes code: os.system (protocol 0 and 2, GLOBAL and STACK_GLOBAL) is rejected', () => {
    // cos\nsystem\n(S'echo pwned'\ntR.  — the classic payload
    const p0 = b("cos\nsystem\n(S'echo pwned'\ntR.");
    expectFormatError(() => loadPickle(p0, { globals: torchGlobals() }), /unknown pickle global 'os\.system'/);
    // protocol 4 STACK_GLOBAL: \x8c\x02os \x8c\x06system \x93
    const p4 = b(0x80, 4, 0x8c, 2, 'os', 0x8c, 6, 'system', 0x93, 0x8c, 2, 'id', 0x85, 'R', '.');
    expectFormatError(() => loadPickle(p4, { globals: torchGlobals() }), /unknown pickle global 'os\.system'/);
    expectFormatError(() => loadPickle(b("cbuiltins\neval\n(S'1'\ntR.")), /unknown pickle global 'builtins\.eval'/);
    expectFormatError(() => loadPickle(b('c__builtin__\ngetattr\n.')), /unknown pickle global/);
  });

  it('reads protocol 0 text opcodes', () => {
    // (lp0\nI1\naF2.5\naS'a\\nb'\naI01\naL123456789012345678901L\na.
    const v = loadPickle(b("(lp0\nI1\naF2.5\naS'a\\nb'\naI01\naL123456789012345678901L\naVcaf\\u00e9\na(dp1\nS'k'\nNsa.")).value as unknown[];
    expect(v.slice(0, 5)).toEqual([1, 2.5, 'a\nb', true, 123456789012345678901n]);
    expect(v[5]).toBe('café');
    expect(v[6]).toEqual(new Map([['k', null]]));
  });

  it('round-trips values through the protocol-2 writer', () => {
    const od = new OrderedDict<string, unknown>([['z', 1], ['a', 2]]);
    od.attrs = new Map([['_metadata', new Map([['', new Map([['version', 1]])]])]]);
    const shared = [1, 2];
    const value = new Map<unknown, unknown>([
      ['ints', [0, 255, 256, 65535, 65536, -1, -2147483648, 2147483647, 2 ** 40, -(2 ** 40), 2n ** 100n, -(2n ** 100n)]],
      ['floats', [0.5, -1e-300, Infinity, new PyFloat(3)]],
      ['str', 'ünï ✓'], ['none', null], ['bools', [true, false]],
      ['tuples', tuple(tuple(), tuple(1), tuple(1, 2), tuple(1, 2, 3), tuple(1, 2, 3, 4))],
      ['od', od], [7, 'int key'], ['bytes', new Uint8Array([0, 1, 254, 255])], ['set', new Set([1, 2])],
      ['shared1', shared], ['shared2', shared],
      ['long', Array.from({ length: 2500 }, (_, i) => i)],
    ]);
    const back = loadPickle(dumpPickle(value), { globals: torchGlobals() }).value as Map<unknown, any>;
    expect(back.get('ints')).toEqual([0, 255, 256, 65535, 65536, -1, -2147483648, 2147483647, 2 ** 40, -(2 ** 40), 2n ** 100n, -(2n ** 100n)]);
    expect(back.get('floats')).toEqual([0.5, -1e-300, Infinity, 3]);
    expect(back.get('str')).toBe('ünï ✓');
    expect(back.get('none')).toBeNull();
    expect(back.get('bools')).toEqual([true, false]);
    const t = back.get('tuples');
    expect(isTuple(t) && t.every(isTuple)).toBe(true);
    expect(t.map((x: unknown[]) => x.length)).toEqual([0, 1, 2, 3, 4]);
    expect(back.get('od')).toBeInstanceOf(OrderedDict);
    expect([...back.get('od').keys()]).toEqual(['z', 'a']);
    expect(back.get('od').attrs.get('_metadata').get('').get('version')).toBe(1);
    expect(back.get(7)).toBe('int key');
    expect([...back.get('bytes')]).toEqual([0, 1, 254, 255]);
    expect(back.get('set')).toEqual(new Set([1, 2]));
    expect(back.get('shared1')).toBe(back.get('shared2'));
    expect(back.get('long')).toHaveLength(2500);
  });

  it('rejects malformed pickles with ERR_FORMAT', () => {
    expectFormatError(() => loadPickle(b(0x80, 2, 'K')), /truncated pickle/);
    expectFormatError(() => loadPickle(b(0x80, 2, 'K', 1)), /no STOP/);
    expectFormatError(() => loadPickle(b(0x80, 2, 0xff, '.')), /unknown pickle opcode 0xff/);
    expectFormatError(() => loadPickle(b(0x80, 2, 'a', '.')), /stack underflow/);
    expectFormatError(() => loadPickle(b(0x80, 2, 'h', 3, '.')), /memo key 3 missing/);
    expectFormatError(() => loadPickle(b(0x80, 2, 'K', 1, 'Q', '.')), /persistent/);
    expectFormatError(() => loadPickle(b(0x80, 9, '.')), /protocol 9/);
    expectFormatError(() => loadPickle(b('X', 0xff, 0xff, 0xff, 0x7f, 'abc')), /truncated pickle/);
    // BUILD may not set attributes on whitelisted marker objects (no '__proto__' games)
    expectFormatError(() => loadPickle(b("ctorch\nTensor\n}X", 9, 0, 0, 0, '__proto__', '}sb.'), { globals: torchGlobals() }), /does not accept state/);
    expectFormatError(() => loadPickle(b(0x80, 2, 0x8b, 0, 0, 1, 0, '.')), /too large|truncated/);
  });
});
