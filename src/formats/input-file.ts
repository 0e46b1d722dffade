/**
 * Reading the files a command is given. Node's own messages ("ENOENT: no such file or directory, open …",
 * "EISDIR: illegal operation on a directory, read", which does not even name the path) become ERR_IO
 * errors (the code of the workdir's fs failures too) that name the path, say what was expected there and
 * how to fix it.
 */
import { accessSync, constants, readFileSync, readdirSync, statSync } from 'node:fs';
import { ScoreflowError } from '../errors.js';
import { inFile } from './errors.js';

export interface InputKind {
  /** What the file is, for messages: 'checkpoint'. */
  what: string;
  /** What a valid one is: 'a checkpoint file (…)'. */
  expected: string;
}

export const CHECKPOINT_INPUT: InputKind = {
  what: 'checkpoint',
  expected: 'a checkpoint file (torch .pth/.pt, .safetensors, .npz, or a flax checkpoint_<N> file)',
};

export const ARRAY_INPUT: InputKind = { what: 'array file', expected: 'a NumPy .npy or .npz file' };

export function readInputFile(path: string, kind: InputKind = CHECKPOINT_INPUT): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw inputFileError(path, e, kind);
  }
}

/** Checks that `path` is a readable file without reading it (for inputs used only later in a long run). */
export function checkInputFile(path: string, kind: InputKind = CHECKPOINT_INPUT): void {
  try {
    if (statSync(path).isDirectory()) throw Object.assign(new Error(`${path} is a directory`), { code: 'EISDIR' });
    accessSync(path, constants.R_OK);
  } catch (e) {
    throw inputFileError(path, e, kind);
  }
}

/** The error for a failed read of `path` (an fs error with an errno `code`); anything else is passed on. */
export function inputFileError(path: string, e: unknown, kind: InputKind): unknown {
  const code = (e as { code?: unknown } | null)?.code;
  const fail = (msg: string) => new ScoreflowError('ERR_IO', msg, { cause: e });
  switch (code) {
    case 'ENOENT': return fail(`${kind.what} not found: ${path} (no such file); expected ${kind.expected}: check the path`);
    case 'ENOTDIR': return fail(`${kind.what} not found: ${path} (a part of the path is a file, not a folder); expected ${kind.expected}`);
    case 'EISDIR': return fail(`${kind.what} ${path} is a folder; expected ${kind.expected}: name a file inside it${listing(path)}`);
    case 'EACCES': case 'EPERM':
      return fail(`${kind.what} ${path} cannot be read (permission denied); expected ${kind.expected} readable by this user: check its permissions (ls -l ${path})`);
    default:
      return typeof code === 'string' ? fail(`cannot read ${kind.what} ${path} (${code}): ${(e as Error).message}; expected ${kind.expected}`) : e;
  }
}

function listing(dir: string): string {
  let names: string[];
  try { names = readdirSync(dir).sort(); } catch { return ''; }
  if (!names.length) return ' (it is empty)';
  return ` (it holds ${names.slice(0, 6).join(', ')}${names.length > 6 ? ', …' : ''})`;
}

/** Reads `path` with `read`: fs errors as above, format errors prefixed with the path. */
export function readFileWith<T>(path: string, read: (bytes: Uint8Array) => T, kind: InputKind = CHECKPOINT_INPUT): T {
  const bytes = readInputFile(path, kind);
  return inFile(path, () => read(bytes));
}

/** A path is read with `readFileWith`; bytes are read as they are. */
export function readBytesOrPath<T>(bytesOrPath: Uint8Array | string, read: (bytes: Uint8Array) => T): T {
  return typeof bytesOrPath === 'string' ? readFileWith(bytesOrPath, read) : read(bytesOrPath);
}
