/** Shared paths and small assertions for the format tests. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { HostTensor } from '../../src/host-tensor.js';
import { toNumbers } from '../../src/formats/tensor-util.js';
import { REFERENCE_FIXTURES } from '../reference-fixtures.js';

export const DATA = join(dirname(fileURLToPath(import.meta.url)), '..', 'data', 'formats');
/** The shared reference fixtures (not in the repo); tests that need them are skipped when absent. */
export const FIXTURES = REFERENCE_FIXTURES;

export function readJson<T = any>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export interface Summary { dtype: string; shape: number[]; first: number[]; sum: number; last: number | null }

/** Compares a tensor with a Python-produced summary (dtype, shape, first values, sum). */
export function expectSummary(t: HostTensor, s: Summary, rel = 1e-6): void {
  expect(t.dtype).toBe(s.dtype);
  expect(t.shape).toEqual(s.shape);
  const v = toNumbers(t);
  expect(v.length).toBe(s.shape.reduce((a, b) => a * b, 1));
  s.first.forEach((x, i) => expect(v[i]).toBe(x));
  const sum = v.reduce((a, b) => a + b, 0);
  expect(Math.abs(sum - s.sum)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(s.sum)));
  if (s.last !== null) expect(v[v.length - 1]).toBe(s.last);
}

/** Asserts that `fn` throws an ERR_FORMAT error whose message matches `re`. */
export function expectFormatError(fn: () => unknown, re: RegExp): void {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, 'expected an error').toBeInstanceOf(Error);
  expect((err as { code?: string }).code).toBe('ERR_FORMAT');
  expect((err as Error).message).toMatch(re);
}
