/**
 * What torch.save pickles contain, for the code-free pickle VM: the whitelist of globals (tensor rebuild
 * functions, OrderedDict, dtypes, storage classes, devices, numpy objects) and the storage references that
 * persistent ids resolve to. Shared by the zip and legacy readers.
 */
import { DTYPE_BYTES, type DType, type HostTensor } from '../host-tensor.js';
import { formatError, unsupportedError } from './errors.js';
import { numpyGlobals } from './numpy-pickle.js';
import type { PickleGlobals } from './pickle.js';
import { OrderedDict, tuple } from './py-values.js';
import { tensorFromStorage } from './tensor-util.js';
import { TorchDType, TorchStorageType, UnsupportedDType, torchTypeGlobals } from './torch-types.js';

/** One storage of the file: element type, raw little-endian bytes (filled later in the legacy format). */
export interface StorageRef {
  key: string;
  dtype: DType;
  numel: number;
  bytes?: Uint8Array;
  /** The torch dtype of a storage class we know but do not read (its bytes are never loaded). */
  unsupported?: string;
}

/** Stands in for a tensor of an unsupported dtype until `rejectUnsupported` finds where it sits. */
export class UnsupportedTensor {
  constructor(readonly dtype: string, readonly shape: readonly number[]) {}
}

/** A tensor whose storage bytes are not read yet (legacy format); filled in place afterwards. */
export interface PendingTensor {
  target: HostTensor;
  storage: StorageRef;
  offset: number;
  size: number[];
  stride: number[];
}

function intList(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw formatError(`${what} is not a tuple of ints`);
  return v as number[];
}

/**
 * The globals torch.save files use. `pending` collects tensors whose storages are not yet loaded.
 */
export function torchGlobals(pending: PendingTensor[] = [], typedViews: { typed: StorageRef; of: StorageRef }[] = []): PickleGlobals {
  const rebuild = (storage: unknown, offset: unknown, size: unknown, stride: unknown): HostTensor | UnsupportedTensor => {
    if (!isStorageRef(storage)) throw formatError('_rebuild_tensor: first argument is not a storage');
    if (typeof offset !== 'number') throw formatError('_rebuild_tensor: storage offset is not an int');
    const sz = intList(size, '_rebuild_tensor size');
    const st = intList(stride, '_rebuild_tensor stride');
    if (storage.unsupported) return new UnsupportedTensor(storage.unsupported, sz);
    if (storage.bytes) return tensorFromStorage(storage.dtype, storage.bytes, offset, sz, st, `tensor over storage '${storage.key}'`);
    const target: HostTensor = { dtype: storage.dtype, shape: [...sz], data: new Uint8Array(0) };
    pending.push({ target, storage, offset, size: sz, stride: st });
    return target;
  };
  // torch 2.x, for dtypes TypedStorage cannot name: the storage is untyped bytes and the dtype comes as
  // the 7th argument; offset/size/stride are in elements of that dtype.
  const rebuildV3 = (storage: unknown, offset: unknown, size: unknown, stride: unknown, _rg: unknown, _hooks: unknown, dtype: unknown): HostTensor | UnsupportedTensor => {
    if (!isStorageRef(storage)) throw formatError('_rebuild_tensor_v3: first argument is not a storage');
    if (dtype instanceof UnsupportedDType) return new UnsupportedTensor(dtype.name, intList(size, '_rebuild_tensor_v3 size'));
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
    // Quantized tensors: a known torch format we do not read; report their dtype (qint8, …).
    'torch._utils._rebuild_qtensor': (storage: unknown, _offset: unknown, size: unknown) => {
      if (!isStorageRef(storage)) throw formatError('_rebuild_qtensor: first argument is not a storage');
      return new UnsupportedTensor(storage.unsupported ?? `quantized ${storage.dtype}`, intList(size, '_rebuild_qtensor size'));
    },
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

export function isStorageRef(v: unknown): v is StorageRef {
  return v !== null && typeof v === 'object' && 'key' in v && 'numel' in v && 'dtype' in v;
}

/** Validates a ('storage', type, key, location, numel[, view]) persistent id. */
/**
 * Throws naming the first tensor of an unsupported dtype in a loaded checkpoint (its key path, e.g.
 * 'model.module.conv.weight'), or returns the value unchanged. Iterative: pickles can nest deeply.
 */
export function rejectUnsupported<T>(value: T): T {
  const seen = new Set<unknown>();
  const todo: [unknown, string][] = [[value, '']];
  while (todo.length) {
    const [v, path] = todo.pop()!;
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    const bad = v instanceof UnsupportedTensor ? v : isStorageRef(v) && v.unsupported ? new UnsupportedTensor(v.unsupported, [v.numel]) : undefined;
    if (bad) {
      throw unsupportedError(`${path ? `tensor '${path}'` : 'a tensor'} [${bad.shape.join(', ')}] has unsupported dtype ${bad.dtype} ` +
        `(scoreflow reads ${Object.keys(DTYPE_BYTES).join(', ')}); convert it in PyTorch before saving ` +
        '(torch.view_as_real for complex, .dequantize() for quantized, .float() or .long() otherwise)');
    }
    const at = (k: unknown) => (path ? `${path}.${String(k)}` : String(k));
    if (v instanceof Map) for (const [k, x] of [...v].reverse()) todo.push([x, at(k)]);
    else if (Array.isArray(v)) for (let i = v.length - 1; i >= 0; i--) todo.push([v[i], `${path}[${i}]`]);
  }
  return value;
}

export function parseStoragePid(pid: unknown): { type: TorchStorageType; key: string; numel: number; view: unknown } {
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
