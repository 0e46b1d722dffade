/**
 * One error type for every malformed or unsupported checkpoint/array file. Callers (CLI, loaders) test
 * `err.code === 'ERR_FORMAT'` to tell "bad file" apart from I/O or programming errors, so every reader in
 * this folder throws through `formatError` and never lets a RangeError/TypeError from a bad offset escape.
 */
export class FormatError extends Error {
  readonly code = 'ERR_FORMAT' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FormatError';
  }
}

export function formatError(message: string, cause?: unknown): FormatError {
  return new FormatError(message, cause === undefined ? undefined : { cause });
}

/** Runs `fn`, turning low-level exceptions (out-of-range reads on truncated data) into FormatErrors. */
export function guardFormat<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof FormatError) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    throw formatError(`${what}: ${msg}`, e);
  }
}
