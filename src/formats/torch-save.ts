/**
 * Writes torch.save-compatible zip files from JS values, so Python `torch.load` returns an ordinary state
 * dict / checkpoint. Layout as torch ≥ 1.6 writes it: `<root>/data.pkl` (protocol-2 pickle whose tensors
 * are `_rebuild_tensor_v2(persistent storage id, offset, size, stride, requires_grad, hooks)`), one
 * `<root>/data/<key>` entry per tensor (64-byte aligned), `<root>/byteorder`, `<root>/version` = 3.
 *
 * Values: see py-values.ts (Map → dict, OrderedDict → collections.OrderedDict, frozen array → tuple,
 * PyFloat to force a float). HostTensors become torch tensors of the same dtype; TorchDType → torch dtype.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { type HostTensor, hostBytes, numel } from '../host-tensor.js';
import { formatError } from './errors.js';
import { PickleWriter } from './pickle-writer.js';
import { OrderedDict, tuple } from './py-values.js';
import { checkTensor, isHostTensor } from './tensor-util.js';
import { STORAGE_CLASS, TorchDType } from './torch-types.js';
import { writeZip, writeZipTo, type ZipWriteEntry } from './zip.js';

export interface TorchSaveOptions {
  /** Folder name inside the archive; torch 2.x always uses 'archive' (1.13 uses the file's stem). */
  rootName?: string;
}

function contiguousStrides(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  let s = 1;
  for (let k = shape.length - 1; k >= 0; k--) { stride[k] = s; s *= shape[k]!; }
  return stride;
}

/** Serialises `value` into the bytes of a torch.save zip file. */
export function saveTorch(value: unknown, options: TorchSaveOptions = {}): Uint8Array {
  return writeZip(torchZipEntries(value, options), { method: 'store', align: 64 });
}

/** Streams the file to disk (no second in-memory copy of the tensors). */
export function saveTorchFile(path: string, value: unknown, options?: TorchSaveOptions): void {
  const entries = torchZipEntries(value, options);
  const fd = openSync(path, 'w');
  try {
    writeZipTo((chunk) => {
      for (let off = 0; off < chunk.length;) off += writeSync(fd, chunk, off, chunk.length - off);
    }, entries, { method: 'store', align: 64 });
  } finally {
    closeSync(fd);
  }
}

/** The archive's entries: data.pkl, byteorder, one storage per tensor, version. */
function torchZipEntries(value: unknown, options: TorchSaveOptions = {}): ZipWriteEntry[] {
  const root = options.rootName ?? 'archive';
  if (!/^[A-Za-z0-9_.-]+$/.test(root)) throw formatError(`torch.save: bad archive root name '${root}'`);
  const storages: ZipWriteEntry[] = [];
  const hook = (v: unknown, w: PickleWriter): boolean => {
    if (v instanceof TorchDType) {
      w.global('torch', v.name);
      return true;
    }
    if (!isHostTensor(v)) return false;
    const t = v as HostTensor;
    checkTensor(t, 'torch.save');
    const key = String(storages.length);
    storages.push({ name: `${root}/data/${key}`, data: hostBytes(t) });
    w.global('torch._utils', '_rebuild_tensor_v2');
    w.op(0x28); // MARK: the argument tuple
    w.persid(tuple<unknown>('storage', new StorageClass(STORAGE_CLASS[t.dtype]), key, 'cpu', numel(t.shape)));
    w.save(0);
    w.saveTuple(t.shape);
    w.saveTuple(contiguousStrides(t.shape));
    w.save(false);
    w.save(new OrderedDict()); // backward hooks
    w.op(0x74, 0x52); // TUPLE, REDUCE
    w.put(t);
    return true;
  };
  const writer = new PickleWriter((v, w) => {
    if (v instanceof StorageClass) {
      w.global('torch', v.name);
      return true;
    }
    return hook(v, w);
  });
  const pkl = writer.dump(value);
  const enc = new TextEncoder();
  return [
    { name: `${root}/data.pkl`, data: pkl },
    { name: `${root}/byteorder`, data: enc.encode('little') },
    ...storages,
    { name: `${root}/version`, data: enc.encode('3\n') },
  ];
}

/** The `torch.FloatStorage`-style class global inside a persistent id. */
class StorageClass {
  constructor(readonly name: string) {}
}

/** Builds a state-dict OrderedDict from name → tensor pairs (what `model.state_dict()` returns). */
export function stateDict(entries: Iterable<[string, HostTensor]>): OrderedDict<string, HostTensor> {
  return new OrderedDict(entries);
}
