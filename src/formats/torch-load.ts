/**
 * Reads `torch.save` files without torch: the zip format (torch ≥ 1.6: `<root>/data.pkl` plus one
 * `<root>/data/<key>` entry per storage) and the legacy format (< 1.6, or `_use_new_zipfile_serialization=
 * False`: five pickles back to back, then raw storages). Tensors become contiguous HostTensors; dicts are
 * Maps (see py-values.ts). Only whitelisted globals are honoured (see `torchGlobals`), so a checkpoint can
 * never run code; anything else fails with `unknown pickle global '…'` (ERR_FORMAT). Tensors of torch dtypes
 * a HostTensor cannot hold (complex, quantized, uint16, float8, …) fail as such, naming their key. Plain
 * pickles of state dicts (`pickle.dump`, not torch.save) are read by `loadPlainPickle`.
 */
import { DTYPE_BYTES, type HostTensor } from '../host-tensor.js';
import { formatError, guardFormat } from './errors.js';
import { readFileWith } from './input-file.js';
import { byteSwap } from './numpy-dtype.js';
import { loadPickle, type PickleGlobals } from './pickle.js';
import { loadTorchLegacy } from './torch-legacy.js';
import { isStorageRef, parseStoragePid, rejectUnsupported, torchGlobals, type StorageRef } from './torch-pickle.js';
import { looksLikeZip, readZip } from './zip.js';

export { isTorchLegacy, loadTorchLegacy } from './torch-legacy.js';
export { torchGlobals } from './torch-pickle.js';

export interface TorchLoadOptions {
  /** Extra whitelist entries ('module.name' → constructor), merged over the defaults. */
  globals?: PickleGlobals;
  /** Verify zip entry CRCs (default true). */
  verifyCrc?: boolean;
}

export function isTorchZip(bytes: Uint8Array): boolean {
  return looksLikeZip(bytes);
}

/** Reads a torch.save file (zip or legacy) from bytes. */
export function loadTorch(bytes: Uint8Array, options: TorchLoadOptions = {}): unknown {
  if (isTorchZip(bytes)) return loadTorchZip(bytes, options);
  if (bytes.length > 2 && bytes[0] === 0x80) return loadTorchLegacy(bytes, options);
  throw formatError('not a torch.save file: wrong magic (neither a zip archive nor a legacy pickle)');
}

export function loadTorchFile(path: string, options?: TorchLoadOptions): unknown {
  return readFileWith(path, (bytes) => loadTorch(bytes, options));
}

export function loadTorchZip(bytes: Uint8Array, options: TorchLoadOptions = {}): unknown {
  const zip = readZip(bytes, { verifyCrc: options.verifyCrc });
  const pkl = zip.entries.find((e) => /^[^/]*\/?data\.pkl$/.test(e.name) && !e.name.includes('/.'));
  if (!pkl) throw formatError('torch zip: no data.pkl record (not a torch.save archive?)');
  const prefix = pkl.name.slice(0, pkl.name.length - 'data.pkl'.length);
  const order = zip.has(`${prefix}byteorder`) ? new TextDecoder().decode(zip.read(`${prefix}byteorder`)).trim() : 'little';
  if (order !== 'little' && order !== 'big') throw formatError(`torch zip: unknown byteorder '${order}'`);
  const storages = new Map<string, StorageRef>();
  const persistentLoad = (pid: unknown): StorageRef => {
    const { type, key, numel } = parseStoragePid(pid);
    if (type.unsupported) return { key, dtype: 'uint8', numel, unsupported: type.unsupported };
    const cached = storages.get(key);
    if (cached) return cached;
    const name = `${prefix}data/${key}`;
    if (!zip.has(name)) throw formatError(`torch zip: missing storage record 'data/${key}'`);
    const dtype = type.dtype ?? 'uint8';
    const es = DTYPE_BYTES[dtype];
    let raw = zip.read(name);
    if (raw.length < numel * es) throw formatError(`torch zip: storage 'data/${key}' has ${raw.length} bytes, needs ${numel * es}`);
    if (order === 'big' && es > 1) raw = byteSwap(raw, es);
    const ref: StorageRef = { key, dtype, numel, bytes: raw };
    storages.set(key, ref);
    return ref;
  };
  const globals = { ...torchGlobals(), ...options.globals };
  return guardFormat('torch zip', () => rejectUnsupported(loadPickle(zip.read(pkl), { globals, persistentLoad }).value));
}

/**
 * A plain pickle (`pickle.dump(state_dict)` rather than torch.save): numpy arrays, and torch tensors,
 * whose storages pickle as `torch.storage._load_from_bytes(<torch.save of the storage>)`.
 */
export function loadPlainPickle(bytes: Uint8Array, options: TorchLoadOptions = {}): unknown {
  const globals = { ...torchGlobals(), 'torch.storage._load_from_bytes': storageFromBytes, ...options.globals };
  return guardFormat('pickle', () => {
    const r = loadPickle(bytes, { globals });
    if (r.end !== bytes.length) throw formatError(`pickle: ${bytes.length - r.end} bytes after the STOP opcode at offset ${r.end - 1}`);
    return rejectUnsupported(r.value);
  });
}

function storageFromBytes(b: unknown): StorageRef {
  if (!(b instanceof Uint8Array)) throw formatError('torch.storage._load_from_bytes: the argument is not bytes');
  const s = loadTorch(b);
  if (!isStorageRef(s) || !(s.bytes || s.unsupported)) throw formatError('torch.storage._load_from_bytes: the bytes do not hold a torch storage');
  return s;
}

/** Convenience: a state dict (any dict of tensors) as an ordered Map name → HostTensor. */
export function asStateDict(value: unknown): Map<string, HostTensor> {
  if (!(value instanceof Map)) throw formatError('expected a dict (state_dict) at the top level');
  const out = new Map<string, HostTensor>();
  for (const [k, v] of value) {
    if (typeof k !== 'string') throw formatError('state_dict key is not a string');
    if (v === null || typeof v !== 'object' || !('data' in v)) throw formatError(`state_dict entry '${k}' is not a tensor`);
    out.set(k, v as HostTensor);
  }
  return out;
}
