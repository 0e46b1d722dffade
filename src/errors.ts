/** Errors with a machine-readable `code`, shared by every TS layer (native errors carry the same codes). */
export type ErrorCode =
  | 'ERR_ARG' | 'ERR_TORCH' | 'ERR_DISPOSED' | 'ERR_DEVICE' | 'ERR_FORMAT' | 'ERR_CONFIG' | 'ERR_DATA'
  | 'ERR_STATE_DICT' | 'ERR_NUMERIC' | 'ERR_ODE' | 'ERR_IO' | 'ERR_LOCKED' | 'ERR_DIST';

export class ScoreflowError extends Error {
  constructor(readonly code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ScoreflowError';
  }
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v)) return `[${v.map(describe).join(', ')}]`;
  if (v === null || typeof v !== 'object') return String(v);
  return v.constructor?.name ?? 'object';
}

/** Throws ERR_ARG naming the argument, what was expected and what was received. */
export function argError(name: string, expected: string, received: unknown): never {
  throw new ScoreflowError('ERR_ARG', `${name}: expected ${expected}, received ${describe(received)}`);
}

export function checkInt(name: string, v: unknown, min = -Infinity): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    argError(name, min === -Infinity ? 'an integer' : `an integer >= ${min}`, v);
  }
  return v;
}

export function checkShape(name: string, v: unknown): number[] {
  if (!Array.isArray(v) || !v.every((d) => Number.isInteger(d) && d >= 0)) {
    argError(name, 'an array of non-negative integers', v);
  }
  return v;
}
