/**
 * The torch objects that appear inside checkpoint pickles as plain globals: dtypes (`torch.float32`),
 * legacy typed storage classes (`torch.FloatStorage`, which name a storage's element type in persistent
 * ids) and devices. Shared by the reader (whitelist) and the writer (names to emit). The dtypes and storage
 * classes torch has but a HostTensor cannot hold are known too, so that they are reported as unsupported.
 */
import type { DType } from '../host-tensor.js';

/** `torch.<name>` dtype object, e.g. the value of `torch.float32` in a pickle. */
export class TorchDType {
  constructor(readonly name: DType) {}
}

/** A torch dtype that exists but that a HostTensor cannot hold (`torch.complex64`): reported as such, not as an unknown global. */
export class UnsupportedDType {
  constructor(readonly name: string) {}
}

/**
 * A storage class such as `torch.FloatStorage`; `dtype` null for untyped (byte) storages. `unsupported`
 * names the element type of storage classes we know but do not read (`torch.ComplexFloatStorage`).
 */
export class TorchStorageType {
  constructor(readonly className: string, readonly dtype: DType | null, readonly unsupported?: string) {}
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

/** torch attribute names of the dtypes a HostTensor cannot hold, aliases included. */
const UNSUPPORTED_DTYPE_NAMES: Record<string, string> = {
  complex32: 'complex32', chalf: 'complex32', complex64: 'complex64', cfloat: 'complex64', complex128: 'complex128', cdouble: 'complex128',
  uint16: 'uint16', uint32: 'uint32', uint64: 'uint64', float8_e4m3fn: 'float8_e4m3fn', float8_e5m2: 'float8_e5m2',
  float8_e4m3fnuz: 'float8_e4m3fnuz', float8_e5m2fnuz: 'float8_e5m2fnuz', qint8: 'qint8', quint8: 'quint8', qint32: 'qint32',
  quint4x2: 'quint4x2', quint2x4: 'quint2x4',
};

/** The legacy storage classes of those dtypes. */
const UNSUPPORTED_STORAGE_CLASS: Record<string, string> = {
  ComplexFloatStorage: 'complex64', ComplexDoubleStorage: 'complex128', QInt8Storage: 'qint8', QUInt8Storage: 'quint8',
  QInt32Storage: 'qint32', QUInt4x2Storage: 'quint4x2', QUInt2x4Storage: 'quint2x4',
};

/** Quantization schemes, the argument of quantized tensors' rebuild (which then reports the dtype). */
const QSCHEMES = ['per_tensor_affine', 'per_channel_affine', 'per_channel_affine_float_qparams', 'per_tensor_symmetric', 'per_channel_symmetric'];

/** Globals for dtypes and storage classes, keyed 'torch.X' (plus the 2.x `torch.storage.*` spellings). */
export function torchTypeGlobals(): Record<string, unknown> {
  const g: Record<string, unknown> = {};
  for (const [name, dtype] of Object.entries(DTYPE_NAMES)) g[`torch.${name}`] = new TorchDType(dtype);
  for (const [dtype, cls] of Object.entries(STORAGE_CLASS) as [DType, string][]) {
    const t = new TorchStorageType(cls, dtype);
    g[`torch.${cls}`] = t;
    g[`torch.cuda.${cls}`] = t; // CUDA checkpoints: the bytes are identical, location only changes the device
  }
  for (const [name, dtype] of Object.entries(UNSUPPORTED_DTYPE_NAMES)) g[`torch.${name}`] = new UnsupportedDType(dtype);
  for (const [cls, dtype] of Object.entries(UNSUPPORTED_STORAGE_CLASS)) {
    const t = new TorchStorageType(cls, null, dtype);
    g[`torch.${cls}`] = t;
    g[`torch.cuda.${cls}`] = t;
  }
  for (const q of QSCHEMES) g[`torch.${q}`] = `torch.${q}`;
  for (const name of ['UntypedStorage', 'storage.UntypedStorage', 'ByteStorage_untyped']) {
    g[`torch.${name}`] = new TorchStorageType('UntypedStorage', null);
  }
  for (const name of ['TypedStorage', 'storage.TypedStorage', 'storage._TypedStorage']) {
    g[`torch.${name}`] = new TorchStorageType('TypedStorage', null);
  }
  return g;
}
