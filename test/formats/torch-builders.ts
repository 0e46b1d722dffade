/**
 * Hand-built torch pickles for tests that need what no fixture holds: tensors of dtypes scoreflow does not
 * read, the legacy torch.save of a bare storage, a plain `pickle.dump` of a state dict. They follow what
 * torch writes (torch/serialization.py, torch/_tensor.py `_reduce_ex_internal`, torch/storage.py `__reduce__`).
 */
import { dumpPickle, type PickleCustomHook } from '../../src/formats/pickle-writer.js';
import { OrderedDict, PyReduce, tuple } from '../../src/formats/py-values.js';
import { writeZip } from '../../src/formats/zip.js';

const enc = new TextEncoder();

/** A tensor over storage `key` of class `torch.<storageClass>` (e.g. 'ComplexFloatStorage'). */
export class StorageTensor {
  constructor(readonly storageClass: string, readonly key: string, readonly numel: number, readonly size: number[]) {}
}

/** The persistent-id storage of a StorageTensor, for hand-written rebuild calls (`_rebuild_qtensor`, v3). */
export class StorageRefMarker {
  constructor(readonly t: StorageTensor) {}
}

/** A bare GLOBAL (a storage class, a qscheme, a dtype such as torch.complex64). */
export class TorchGlobal {
  constructor(readonly module: string, readonly name: string) {}
}

/** StorageTensor → `_rebuild_tensor_v2(<persistent id>, 0, size, stride, False, OrderedDict())`. */
const hook: PickleCustomHook = (v, w) => {
  if (v instanceof StorageTensor) {
    const stride = v.size.map((_, i) => v.size.slice(i + 1).reduce((a, b) => a * b, 1));
    w.save(new PyReduce('torch._utils', '_rebuild_tensor_v2', [new StorageRefMarker(v), 0, tuple(...v.size), tuple(...stride), false, new OrderedDict()]));
  } else if (v instanceof StorageRefMarker) w.persid(tuple<unknown>('storage', new TorchGlobal('torch', v.t.storageClass), v.t.key, 'cpu', v.t.numel));
  else if (v instanceof TorchGlobal) w.global(v.module, v.name);
  else return false;
  return true;
};

/** A torch.save zip archive of `value` (StorageTensors inside) with `storages` as its data records. */
export function torchZip(value: unknown, storages: Record<string, Uint8Array> = {}): Uint8Array {
  return writeZip([
    { name: 'archive/data.pkl', data: dumpPickle(value, hook) },
    ...Object.entries(storages).map(([k, data]) => ({ name: `archive/data/${k}`, data })),
    { name: 'archive/version', data: enc.encode('3\n') },
  ], { align: 64 });
}

/** A legacy (non-zip) torch.save of `value`: magic, protocol, sys info, object, storage keys, storages. */
export function torchLegacy(value: unknown, storages: Record<string, Uint8Array> = {}, elementSize = 4): Uint8Array {
  const sysInfo = new Map<string, unknown>([['protocol_version', 1001], ['little_endian', true],
    ['type_sizes', new Map([['short', 2], ['int', 4], ['long', 4]])]]);
  const parts = [dumpPickle(0x1950a86a20f9469cfc6cn), dumpPickle(1001), dumpPickle(sysInfo), dumpPickle(value, hook), dumpPickle(Object.keys(storages))];
  for (const data of Object.values(storages)) {
    const count = new Uint8Array(8);
    new DataView(count.buffer).setBigInt64(0, BigInt(data.length / elementSize), true);
    parts.push(count, data);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** What `pickle.dump({name: float32 tensor})` writes: each storage is a nested legacy torch.save. */
export function plainPickleOfTensors(tensors: Record<string, Float32Array>): Uint8Array {
  const d = new OrderedDict<string, unknown>();
  for (const [name, values] of Object.entries(tensors)) {
    const storage = torchLegacy(new StorageRefMarker(new StorageTensor('FloatStorage', '0', values.length, [values.length])),
      { 0: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) });
    d.set(name, new PyReduce('torch._utils', '_rebuild_tensor_v2',
      [new PyReduce('torch.storage', '_load_from_bytes', [storage]), 0, tuple(values.length), tuple(1), false, new OrderedDict()]));
  }
  return dumpPickle(d, hook);
}
