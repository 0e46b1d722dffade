/**
 * Tensor lifetimes. Node defers N-API finalizers to later event-loop turns, so a synchronous loop that
 * relies on GC grows without bound; tidy() frees what a block created, deterministically.
 */
import { addon, type MemoryStats } from './native.js';
import { Tensor } from './tensor.js';

const native = addon();

function collect(v: unknown, out: Tensor[], seen: Set<unknown>): void {
  if (v instanceof Tensor) {
    out.push(v);
  } else if (v && typeof v === 'object' && !seen.has(v) && !ArrayBuffer.isView(v)) {
    seen.add(v);
    const values = v instanceof Map ? v.values() : Array.isArray(v) ? v : Object.values(v);
    for (const e of values) collect(e, out, seen);
  }
}

/** Tensors reachable from `v` (arrays, maps and plain objects are searched). */
export function tensorsIn(v: unknown): Tensor[] {
  const out: Tensor[] = [];
  collect(v, out, new Set());
  return out;
}

/**
 * Runs `fn` and disposes every tensor created inside it, except the tensors reachable from its result
 * (which move to the enclosing scope) and those marked with `keep()`. For synchronous code: a Promise
 * result is rejected because its tensors would be created after the scope closed.
 */
export function tidy<T>(fn: () => T): T {
  native.scopeEnter();
  let result: T;
  try {
    result = fn();
  } catch (e) {
    native.scopeExit([]);
    throw e;
  }
  if (result instanceof Promise) {
    native.scopeExit([]);
    throw new TypeError('tidy(fn): fn returned a Promise; use tidy only around synchronous code');
  }
  native.scopeExit(tensorsIn(result));
  return result;
}

/** Disposes every tensor reachable from `v`. */
export function dispose(v: unknown): void {
  for (const t of tensorsIn(v)) t.dispose();
}

/** Live tensor handles and the bytes they reference (views counted per handle). */
export function memoryStats(): MemoryStats { return native.memoryStats(); }
