import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DataError } from './errors.js';

/** Returns the first of `<dir>/<name>` or `<dir>/<name>.gz` that exists, or undefined. */
export function findMaybeGz(dir: string, name: string): string | undefined {
  for (const p of [`${dir}/${name}`, `${dir}/${name}.gz`]) if (existsSync(p)) return p;
  return undefined;
}

/** Reads a file, gunzipping it when it is gzip-compressed (by magic bytes, not by name). */
export function readMaybeGz(path: string): Uint8Array {
  let buf: Buffer;
  try { buf = readFileSync(path); } catch (e) {
    throw new DataError(`cannot read ${path}: ${(e as Error).message}`);
  }
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try { buf = gunzipSync(buf); } catch (e) {
      throw new DataError(`${path} looks gzip-compressed but does not decompress: ${(e as Error).message} (truncated download?)`);
    }
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
