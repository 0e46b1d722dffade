/** Reads named arrays from a .npz file through the project's npz reader (src/formats/npz.ts). */
import type { HostTensor } from '../../host-tensor.js';
import { readNpzFile } from '../../formats/npz.js';
import { DataError } from '../errors.js';

export function readNpzArrays(path: string, names: string[]): Record<string, HostTensor> {
  let arrays: Map<string, HostTensor>;
  try { arrays = readNpzFile(path); } catch (e) {
    throw new DataError(`${path}: not a readable .npz file: ${(e as Error).message}`);
  }
  const out: Record<string, HostTensor> = {};
  for (const n of names) {
    const t = arrays.get(n);
    if (!t) throw new DataError(`${path}: missing array '${n}'; expected ${names.map((x) => `'${x}'`).join(' and ')}, found ${[...arrays.keys()].map((x) => `'${x}'`).join(', ') || 'none'}`);
    out[n] = t;
  }
  return out;
}
