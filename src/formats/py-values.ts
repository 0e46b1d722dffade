/**
 * How Python values look on the JS side of the pickle reader/writer.
 *
 *   None → null, bool → boolean, int → number (bigint beyond 2^53), float → number, str → string,
 *   bytes/bytearray → Uint8Array, list → array, tuple → frozen array (see `tuple`), dict → Map (keeps
 *   insertion order and non-string keys such as the optimizer's integer param ids), OrderedDict →
 *   `OrderedDict` (a Map subclass, so writers can emit the same type back), set/frozenset → Set.
 *
 * Tuples are frozen arrays rather than a wrapper class so that ordinary array code keeps working; a tuple
 * is immutable in Python anyway, and freezing is what lets the writer tell a tuple from a list.
 */

/** collections.OrderedDict; `attrs` holds instance attributes restored by BUILD (torch's `_metadata`). */
export class OrderedDict<K = unknown, V = unknown> extends Map<K, V> {
  attrs?: Map<unknown, unknown>;
}

/** Makes a Python tuple (a frozen array). */
export function tuple<T>(...items: T[]): readonly T[] {
  return Object.freeze(items);
}

export function isTuple(v: unknown): v is readonly unknown[] {
  return Array.isArray(v) && Object.isFrozen(v);
}

/** Forces the writer to emit a Python float even when the number is integral (0.0 vs 0). */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** A Python object the writer should emit as `module.name(*args)` (GLOBAL + REDUCE). */
export class PyReduce {
  constructor(readonly module: string, readonly name: string, readonly args: readonly unknown[], readonly state?: unknown) {}
}

/** Reads a value from a dict-like (Map or plain object) by string key. */
export function dictGet(d: unknown, key: string | number): unknown {
  if (d instanceof Map) return d.get(key);
  if (d !== null && typeof d === 'object') return (d as Record<string, unknown>)[String(key)];
  return undefined;
}

/** Entries of a dict-like (Map or plain object). */
export function dictEntries(d: unknown): [unknown, unknown][] {
  if (d instanceof Map) return [...d.entries()];
  if (d !== null && typeof d === 'object') return Object.entries(d as Record<string, unknown>);
  return [];
}

export function isDictLike(d: unknown): d is Map<unknown, unknown> | Record<string, unknown> {
  return d instanceof Map || (d !== null && typeof d === 'object' && Object.getPrototypeOf(d) === Object.prototype);
}
