/**
 * Reads `torch.save` files without torch: the zip format (torch ≥ 1.6: `<root>/data.pkl` plus one
 * `<root>/data/<key>` entry per storage) and the legacy format (< 1.6, or `_use_new_zipfile_serialization=
 * False`: five pickles back to back, then raw storages). Tensors become contiguous HostTensors; dicts are
 * Maps (see py-values.ts). Only whitelisted globals are honoured (see `torchGlobals`), so a checkpoint can
 * never run code; anything else fails with `unknown pickle global '…'` (ERR_FORMAT).
 */
import { readFileSync } from 'node:fs';
import { DTYPE_BYTES, type DType, type HostTensor } from '../host-tensor.js';
import { formatError, guardFormat } from './errors.js';
import { byteSwap } from './numpy-dtype.js';
import { numpyGlobals } from './numpy-pickle.js';
import { loadPickle, type PickleGlobals } from './pickle.js';
import { OrderedDict, tuple } from './py-values.js';
import { tensorFromStorage } from './tensor-util.js';
import { TorchDType, TorchStorageType, torchTypeGlobals } from './torch-types.js';
import { looksLikeZip, readZip } from './zip.js';

export interface TorchLoadOptions {
  /** Extra whitelist entries ('module.name' → constructor), merged over the defaults. */
  globals?: PickleGlobals;
  /** Verify zip entry CRCs (default true). */
  verifyCrc?: boolean;
}

/** One storage of the file: element type, raw little-endian bytes (filled later in the legacy format). */
interface StorageRef {
  key: string;
  dtype: DType;
  numel: number;
  bytes?: Uint8Array;
}

/** A tensor whose storage bytes are not read yet (legacy format); filled in place afterwards. */
interface PendingTensor {
  target: HostTensor;
  storage: StorageRef;
  offset: number;
  size: number[];
  stride: number[];
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

function intList(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw formatError(`${what} is not a tuple of ints`);
  return v as number[];
}

/**
 * The globals torch.save files use. `pending` collects tensors whose storages are not yet loaded.
 */
export function torchGlobals(pending: PendingTensor[] = [], typedViews: { typed: StorageRef; of: StorageRef }[] = []): PickleGlobals {
  const rebuild = (storage: unknown, offset: unknown, size: unknown, stride: unknown): HostTensor => {
    if (!isStorageRef(storage)) throw formatError('_rebuild_tensor: first argument is not a storage');
    if (typeof offset !== 'number') throw formatError('_rebuild_tensor: storage offset is not an int');
    const sz = intList(size, '_rebuild_tensor size');
    const st = intList(stride, '_rebuild_tensor stride');
    if (storage.bytes) return tensorFromStorage(storage.dtype, storage.bytes, offset, sz, st, `tensor over storage '${storage.key}'`);
    const target: HostTensor = { dtype: storage.dtype, shape: [...sz], data: new Uint8Array(0) };
    pending.push({ target, storage, offset, size: sz, stride: st });
    return target;
  };
  // torch 2.x, for dtypes TypedStorage cannot name: the storage is untyped bytes and the dtype comes as
  // the 7th argument; offset/size/stride are in elements of that dtype.
  const rebuildV3 = (storage: unknown, offset: unknown, size: unknown, stride: unknown, _rg: unknown, _hooks: unknown, dtype: unknown): HostTensor => {
    if (!isStorageRef(storage)) throw formatError('_rebuild_tensor_v3: first argument is not a storage');
    if (!(dtype instanceof TorchDType)) throw formatError('_rebuild_tensor_v3: dtype argument is not a torch dtype');
    const es = DTYPE_BYTES[dtype.name];
    const typed: StorageRef = { key: storage.key, dtype: dtype.name, numel: Math.floor((storage.numel * DTYPE_BYTES[storage.dtype]) / es) };
    if (storage.bytes) typed.bytes = storage.bytes;
    else typedViews.push({ typed, of: storage });
    return rebuild(typed, offset, size, stride);
  };
  const passData = (data: unknown) => data;
  const g: PickleGlobals = {
    ...torchTypeGlobals(),
    ...numpyGlobals(),
    'torch._utils._rebuild_tensor_v2': rebuild,
    'torch._utils._rebuild_tensor': rebuild,
    'torch._utils._rebuild_tensor_v3': rebuildV3,
    'torch._utils._rebuild_parameter': passData,
    'torch._utils._rebuild_parameter_with_state': passData,
    // Tensor subclasses pickle as _rebuild_from_type_v2(func, type, args, state): rebuild the plain tensor.
    'torch._tensor._rebuild_from_type_v2': (func: unknown, _type: unknown, args: unknown) => {
      if (typeof func !== 'function') throw formatError('_rebuild_from_type_v2: func is not a whitelisted function');
      return (func as (...a: unknown[]) => unknown)(...intArgs(args));
    },
    'torch._tensor.Tensor': { torchClass: 'Tensor' },
    'torch.Tensor': { torchClass: 'Tensor' },
    'torch.nn.parameter.Parameter': { torchClass: 'Parameter' },
    'collections.OrderedDict': (items?: unknown) => {
      const d = new OrderedDict();
      if (Array.isArray(items)) for (const kv of items) if (Array.isArray(kv)) d.set(kv[0], kv[1]);
      return d;
    },
    'torch.device': (type: unknown, index?: unknown) => (index == null ? String(type) : `${String(type)}:${String(index)}`),
    'torch.Size': (dims?: unknown) => tuple(...intList(dims ?? [], 'torch.Size')),
    'torch.serialization._get_layout': (name: unknown) => String(name),
    'torch.strided': 'torch.strided',
    // Protocol-2 pickles spell bytes as _codecs.encode(latin-1 str, 'latin1').
    '_codecs.encode': (s: unknown, enc: unknown) => {
      if (typeof s !== 'string') throw formatError('_codecs.encode: expected a string');
      if (enc === 'latin1' || enc === 'latin-1') return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
      return new TextEncoder().encode(s);
    },
    'builtins.set': (items?: unknown) => new Set(Array.isArray(items) ? items : []),
    '__builtin__.set': (items?: unknown) => new Set(Array.isArray(items) ? items : []),
    'builtins.frozenset': (items?: unknown) => new Set(Array.isArray(items) ? items : []),
    'builtins.bytearray': (v?: unknown) => (v instanceof Uint8Array ? v : new Uint8Array(0)),
  };
  return g;
}

function intArgs(args: unknown): unknown[] {
  if (!Array.isArray(args)) throw formatError('_rebuild_from_type_v2: args is not a tuple');
  return [...args];
}

function isStorageRef(v: unknown): v is StorageRef {
  return v !== null && typeof v === 'object' && 'key' in v && 'numel' in v && 'dtype' in v;
}

/** Validates a ('storage', type, key, location, numel[, view]) persistent id. */
function parseStoragePid(pid: unknown): { type: TorchStorageType; key: string; numel: number; view: unknown } {
  if (!Array.isArray(pid) || pid.length < 5) throw formatError('torch: malformed persistent id');
  if (pid[0] === 'module') throw formatError('torch: pickled nn.Module objects (whole-model saves) are not supported; save a state_dict');
  if (pid[0] !== 'storage') throw formatError(`torch: unknown persistent id type '${String(pid[0])}'`);
  const [, type, key, , numel, view] = pid as unknown[];
  if (!(type instanceof TorchStorageType)) throw formatError('torch: persistent id does not name a storage type');
  if (typeof key !== 'string' && typeof key !== 'number') throw formatError('torch: bad storage key');
  if (typeof numel !== 'number' || numel < 0) throw formatError('torch: bad storage size');
  return { type, key: String(key), numel, view };
}

// ---------------------------------------------------------------------------------------------------------

export function isTorchZip(bytes: Uint8Array): boolean {
  return looksLikeZip(bytes);
}

/** The legacy format starts with the pickled magic number 0x1950a86a20f9469cfc6c (PROTO 2, LONG1 10). */
export function isTorchLegacy(bytes: Uint8Array): boolean {
  const head = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
  return bytes.length >= head.length && head.every((b, i) => bytes[i] === b);
}

/** Reads a torch.save file (zip or legacy) from bytes. */
export function loadTorch(bytes: Uint8Array, options: TorchLoadOptions = {}): unknown {
  if (isTorchZip(bytes)) return loadTorchZip(bytes, options);
  if (bytes.length > 2 && bytes[0] === 0x80) return loadTorchLegacy(bytes, options);
  throw formatError('not a torch.save file: wrong magic (neither a zip archive nor a legacy pickle)');
}

export function loadTorchFile(path: string, options?: TorchLoadOptions): unknown {
  return loadTorch(readFileSync(path), options);
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
  return guardFormat('torch zip', () => loadPickle(zip.read(pkl), { globals, persistentLoad }).value);
}

/**
 * Legacy layout: pickle(magic) pickle(1001) pickle(sys_info) pickle(obj) pickle(storage keys), then for each
 * key in that order: int64 element count + raw elements. Tensors are rebuilt after the storages are read.
 */
export function loadTorchLegacy(bytes: Uint8Array, options: TorchLoadOptions = {}): unknown {
  return guardFormat('torch legacy', () => {
    if (!isTorchLegacy(bytes)) {
      throw formatError('torch legacy: wrong magic number (not a torch.save file; very old tar-based files are not supported)');
    }
    let r = loadPickle(bytes, { globals: {} });
    if (r.value !== LEGACY_MAGIC) throw formatError('torch legacy: wrong magic number');
    r = loadPickle(bytes, { offset: r.end });
    if (r.value !== LEGACY_PROTOCOL) throw formatError(`torch legacy: unsupported protocol version ${String(r.value)}`);
    r = loadPickle(bytes, { offset: r.end });
    const sysInfo = r.value instanceof Map ? r.value : new Map();
    const little = sysInfo.get('little_endian') !== false;

    const pending: PendingTensor[] = [];
    const roots = new Map<string, StorageRef>();
    const views: { ref: StorageRef; root: string; offset: number }[] = [];
    const persistentLoad = (pid: unknown): StorageRef => {
      const { type, key, numel, view } = parseStoragePid(pid);
      const dtype = type.dtype ?? 'uint8';
      let root = roots.get(key);
      if (!root) {
        root = { key, dtype, numel };
        roots.set(key, root);
      }
      if (view == null) return root;
      // (view_key, offset, view_size): a slice of the root storage (pre-1.0 storage views).
      if (!Array.isArray(view) || view.length !== 3) throw formatError('torch legacy: bad storage view metadata');
      const [viewKey, offset, viewSize] = view as [unknown, number, number];
      const ref: StorageRef = { key: `${key}/${String(viewKey)}`, dtype, numel: viewSize };
      views.push({ ref, root: key, offset });
      return ref;
    };
    const typedViews: { typed: StorageRef; of: StorageRef }[] = [];
    const globals = { ...torchGlobals(pending, typedViews), ...options.globals };
    r = loadPickle(bytes, { offset: r.end, globals, persistentLoad });
    const result = r.value;
    r = loadPickle(bytes, { offset: r.end });
    const keys = r.value;
    if (!Array.isArray(keys)) throw formatError('torch legacy: storage key list missing');

    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let pos = r.end;
    for (const k of keys) {
      const ref = roots.get(String(k));
      if (!ref) throw formatError(`torch legacy: storage '${String(k)}' is listed but never used`);
      const es = DTYPE_BYTES[ref.dtype];
      if (pos + 8 > bytes.length) throw formatError(`torch legacy: truncated file (storage '${ref.key}' header missing)`);
      const count = Number(little ? view.getBigInt64(pos, true) : view.getBigInt64(pos, false));
      pos += 8;
      if (count < 0 || pos + count * es > bytes.length) throw formatError(`torch legacy: truncated file (storage '${ref.key}' data missing)`);
      let raw = bytes.subarray(pos, pos + count * es);
      if (!little && es > 1) raw = byteSwap(raw, es);
      ref.bytes = raw;
      ref.numel = count;
      pos += count * es;
    }
    for (const v of views) {
      const root = roots.get(v.root)!;
      if (!root.bytes) throw formatError(`missing storage record '${v.root}'`);
      const es = DTYPE_BYTES[root.dtype];
      v.ref.bytes = root.bytes.subarray(v.offset * es, (v.offset + v.ref.numel) * es);
    }
    for (const t of typedViews) t.typed.bytes = t.of.bytes;
    for (const p of pending) {
      if (!p.storage.bytes) throw formatError(`torch legacy: missing storage record '${p.storage.key}'`);
      Object.assign(p.target, tensorFromStorage(p.storage.dtype, p.storage.bytes, p.offset, p.size, p.stride, `tensor over storage '${p.storage.key}'`));
    }
    return result;
  });
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
