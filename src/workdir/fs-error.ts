/**
 * File-system failures as ScoreflowError('ERR_IO') naming the path and the errno: Node's own messages
 * omit the path for write/fsync failures ("ENOSPC: no space left on device, write").
 */
import { ScoreflowError } from '../errors.js';

const REASONS: Record<string, string> = {
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder',
  ENOENT: 'no such file or folder',
  EIO: 'input/output error',
};

export function errnoOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('E') && !code.startsWith('ERR_') ? code : undefined;
}

/** `cannot <action> <path>: <reason> (<ERRNO>)[; <note>]`; a ScoreflowError passes through unchanged. */
export function fsError(action: string, path: string, e: unknown, note?: string): Error {
  if (e instanceof ScoreflowError) return e;
  const errno = errnoOf(e);
  const reason = errno ? `${REASONS[errno] ?? (e as Error).message} (${errno})` : String((e as Error)?.message ?? e);
  return new ScoreflowError('ERR_IO', `cannot ${action} ${path}: ${reason}${note ? `; ${note}` : ''}`, { cause: e });
}
