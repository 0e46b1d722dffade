/**
 * The torch objects that appear inside checkpoint pickles as plain globals: dtypes (`torch.float32`),
 * legacy typed storage classes (`torch.FloatStorage`, which name a storage's element type in persistent
 * ids) and devices. Shared by the reader (whitelist) and the writer (names to emit).
 */
import type { DType } from '../host-tensor.js';

/** `torch.<name>` dtype object, e.g. the value of `torch.float32` in a pickle. */
export class TorchDType {
  constructor(readonly name: DType) {}
}

/** A storage class such as `torch.FloatStorage`; `dtype` null for untyped (byte) storages. */
export class TorchStorageType {
  constructor(readonly className: string, readonly dtype: DType | null) {}
}

export const STORAGE_CLASS: Record<DType, string> = {
  float64: 'DoubleStorage', float32: 'FloatStorage', float16: 'HalfStorage', bfloat16: 'BFloat16Storage',
  int64: 'LongStorage', int32: 'IntStorage', int16: 'ShortStorage', int8: 'CharStorage', uint8: 'ByteStorage',
  bool: 'BoolStorage',
};

/** torch attribute names of each dtype (aliases included, as any of them may be pickled). */
export const DTYPE_NAMES: Record<string, DType> = {
  float32: 'float32', float: 'float32', float64: 'float64', double: 'float64', float16: 'float16', half: 'float16',
  bfloat16: 'bfloat16', int64: 'int64', long: 'int64', int32: 'int32', int: 'int32', int16: 'int16', short: 'int16',
  int8: 'int8', uint8: 'uint8', bool: 'bool',
};

/** Globals for dtypes and storage classes, keyed 'torch.X' (plus the 2.x `torch.storage.*` spellings). */
export function torchTypeGlobals(): Record<string, unknown> {
  const g: Record<string, unknown> = {};
  for (const [name, dtype] of Object.entries(DTYPE_NAMES)) g[`torch.${name}`] = new TorchDType(dtype);
  for (const [dtype, cls] of Object.entries(STORAGE_CLASS) as [DType, string][]) {
    const t = new TorchStorageType(cls, dtype);
    g[`torch.${cls}`] = t;
    g[`torch.cuda.${cls}`] = t; // CUDA checkpoints: the bytes are identical, location only changes the device
  }
  for (const name of ['UntypedStorage', 'storage.UntypedStorage', 'ByteStorage_untyped']) {
    g[`torch.${name}`] = new TorchStorageType('UntypedStorage', null);
  }
  for (const name of ['TypedStorage', 'storage.TypedStorage', 'storage._TypedStorage']) {
    g[`torch.${name}`] = new TorchStorageType('TypedStorage', null);
  }
  return g;
}
