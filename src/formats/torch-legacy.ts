/**
 * The legacy torch.save format (torch < 1.6, or `_use_new_zipfile_serialization=False`): five pickles back
 * to back (magic number, protocol version 1001, sys info, the object, the sorted storage keys), then each
 * storage as an int64 element count followed by its raw elements. Storage bytes come after the object, so
 * tensors are rebuilt as placeholders and filled in once the storages have been read.
 */
import { DTYPE_BYTES } from '../host-tensor.js';
import { formatError, guardFormat } from './errors.js';
import { byteSwap } from './numpy-dtype.js';
import { loadPickle } from './pickle.js';
import { tensorFromStorage } from './tensor-util.js';
import { parseStoragePid, rejectUnsupported, torchGlobals, type PendingTensor, type StorageRef } from './torch-pickle.js';
import type { TorchLoadOptions } from './torch-load.js';

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

/** The legacy format starts with the pickled magic number 0x1950a86a20f9469cfc6c (PROTO 2, LONG1 10). */
export function isTorchLegacy(bytes: Uint8Array): boolean {
  const head = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
  return bytes.length >= head.length && head.every((b, i) => bytes[i] === b);
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
        root = { key, dtype, numel, unsupported: type.unsupported };
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
    // Before the storages: the element size of an unsupported dtype is unknown, its bytes cannot be skipped.
    const result = rejectUnsupported(r.value);
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
