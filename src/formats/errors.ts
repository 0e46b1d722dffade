/**
 * One error type for every malformed or unsupported checkpoint/array file. Callers (CLI, loaders) test
 * `err.code === 'ERR_FORMAT'` to tell "bad file" apart from I/O or programming errors, so every reader in
 * this folder throws through `formatError` and never lets a RangeError/TypeError from a bad offset escape.
 * `unsupported` marks a well-formed file that holds something scoreflow does not read (a complex64
 * tensor): the registry reports those as they are instead of wondering whether the file is another format.
 */
import { ScoreflowError } from '../errors.js';

export class FormatError extends ScoreflowError {
  declare readonly code: 'ERR_FORMAT';
  readonly unsupported: boolean;
  constructor(message: string, options?: { cause?: unknown; unsupported?: boolean }) {
    super('ERR_FORMAT', message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FormatError';
    this.unsupported = options?.unsupported ?? false;
  }
}

export function formatError(message: string, cause?: unknown): FormatError {
  return new FormatError(message, cause === undefined ? undefined : { cause });
}

/** A file that is valid but holds something outside what scoreflow reads. */
export function unsupportedError(message: string): FormatError {
  return new FormatError(message, { unsupported: true });
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

/** Runs `fn`, prefixing the FormatErrors it raises with the file they are about. */
export function inFile<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof FormatError) || !file || e.message.startsWith(`${file}: `)) throw e;
    throw new FormatError(`${file}: ${e.message}`, { cause: e, unsupported: e.unsupported });
  }
}
