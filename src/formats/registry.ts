/**
 * Format detection and dispatch: identify a checkpoint/array file by its magic bytes (the extension only
 * breaks ties, e.g. a zip that is an .npz rather than a torch archive) and read it with the right reader.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { formatError } from './errors.js';
import { readFlaxCheckpoint } from './flax.js';
import { isNpy, readNpy } from './npy.js';
import { readNpz } from './npz.js';
import { isSafetensors, readSafetensors } from './safetensors.js';
import { isTorchLegacy, loadTorchLegacy, loadTorchZip } from './torch-load.js';
import { looksLikeZip, readZip } from './zip.js';

export type FileFormat = 'torch-zip' | 'torch-legacy' | 'flax-msgpack' | 'safetensors' | 'npz' | 'npy';

export const SUPPORTED_FORMATS: readonly FileFormat[] = ['torch-zip', 'torch-legacy', 'flax-msgpack', 'safetensors', 'npz', 'npy'];

/** Returns the format, or null when nothing matches. `name` (a path or file name) only breaks ties. */
export function detectFormat(bytes: Uint8Array, name = ''): FileFormat | null {
  const ext = extname(name).toLowerCase();
  if (isNpy(bytes)) return 'npy';
  if (looksLikeZip(bytes)) {
    if (ext === '.npz') return 'npz';
    try {
      const zip = readZip(bytes, { verifyCrc: false });
      if (zip.entries.some((e) => /(^|\/)data\.pkl$/.test(e.name))) return 'torch-zip';
      if (zip.entries.length > 0 && zip.entries.every((e) => e.name.endsWith('.npy'))) return 'npz';
    } catch {
      // A damaged zip: let the torch reader report what exactly is wrong.
    }
    return 'torch-zip';
  }
  if (isTorchLegacy(bytes)) return 'torch-legacy';
  if (isSafetensors(bytes)) return 'safetensors';
  // flax checkpoints are one msgpack map: fixmap (0x80-0x8f) or map16/map32.
  const b = bytes[0];
  if (b !== undefined && ((b & 0xf0) === 0x80 || b === 0xde || b === 0xdf)) return 'flax-msgpack';
  if (ext === '.safetensors') return 'safetensors';
  return null;
}

export interface ReadResult {
  format: FileFormat;
  /** torch: the unpickled value; flax: the nested tree; safetensors/npz: Map name → tensor; npy: tensor. */
  value: unknown;
  /** safetensors `__metadata__`. */
  metadata?: Record<string, string>;
}

export function readCheckpoint(bytes: Uint8Array, name = ''): ReadResult {
  const format = detectFormat(bytes, name);
  switch (format) {
    case 'torch-zip': return { format, value: loadTorchZip(bytes) };
    case 'torch-legacy': return { format, value: loadTorchLegacy(bytes) };
    case 'flax-msgpack': return { format, value: readFlaxCheckpoint(bytes) };
    case 'npz': return { format, value: readNpz(bytes) };
    case 'npy': return { format, value: readNpy(bytes) };
    case 'safetensors': {
      const st = readSafetensors(bytes);
      return { format, value: st.tensors, metadata: st.metadata };
    }
    case null:
      throw formatError(`unrecognised file format${name ? ` for '${name}'` : ''}; supported: ${SUPPORTED_FORMATS.join(', ')}`);
  }
}

export function readCheckpointFile(path: string): ReadResult {
  return readCheckpoint(readFileSync(path), path);
}
