/**
 * NumPy .npz archives: a zip of `<name>.npy` entries, stored (np.savez) or deflated
 * (np.savez_compressed). Arrays passed positionally get numpy's names `arr_0`, `arr_1`, …
 */
import { writeFileSync } from 'node:fs';
import type { HostTensor } from '../host-tensor.js';
import { formatError, guardFormat } from './errors.js';
import { ARRAY_INPUT, readFileWith } from './input-file.js';
import { readNpy, writeNpy } from './npy.js';
import { readZip, writeZip } from './zip.js';

/** Reads every array; keys drop the `.npy` suffix, in archive order. */
export function readNpz(bytes: Uint8Array): Map<string, HostTensor> {
  const zip = readZip(bytes);
  const out = new Map<string, HostTensor>();
  for (const e of zip.entries) {
    if (!e.name.endsWith('.npy')) continue;
    const name = e.name.slice(0, -4);
    out.set(name, guardFormat(`npz entry '${e.name}'`, () => readNpy(zip.read(e))));
  }
  return out;
}

export interface NpzWriteOptions {
  /** Deflate entries like np.savez_compressed (default: stored, like np.savez). */
  compress?: boolean;
}

/** Named arrays (Map or object), or a list of arrays that become arr_0, arr_1, … */
export type NpzArrays = Map<string, HostTensor> | Record<string, HostTensor> | HostTensor[];

export function writeNpz(arrays: NpzArrays, options: NpzWriteOptions = {}): Uint8Array {
  const entries = Array.isArray(arrays)
    ? arrays.map((t, i) => [`arr_${i}`, t] as const)
    : arrays instanceof Map ? [...arrays.entries()] : Object.entries(arrays);
  const seen = new Set<string>();
  const files = entries.map(([name, t]) => {
    if (seen.has(name)) throw formatError(`npz: duplicate array name '${name}'`);
    seen.add(name);
    return { name: `${name}.npy`, data: writeNpy(t) };
  });
  return writeZip(files, { method: options.compress ? 'deflate' : 'store' });
}

export function readNpzFile(path: string): Map<string, HostTensor> {
  return readFileWith(path, readNpz, ARRAY_INPUT);
}

export function writeNpzFile(path: string, arrays: NpzArrays, options?: NpzWriteOptions): void {
  writeFileSync(path, writeNpz(arrays, options));
}
