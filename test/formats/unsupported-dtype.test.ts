// Tensors of torch dtypes scoreflow does not read (complex, quantized, unsigned > 8 bit, float8) are
// reported as such, with their key and the dtypes that are supported — not as an "unknown pickle global".
import { describe, expect, it } from 'vitest';
import { OrderedDict, PyReduce, tuple } from '../../src/formats/py-values.js';
import { readCheckpoint } from '../../src/formats/registry.js';
import { loadTorch } from '../../src/formats/torch-load.js';
import { expectFormatError } from './helpers.js';
import { StorageRefMarker, StorageTensor, TorchGlobal, torchLegacy, torchZip } from './torch-builders.js';

const SUPPORTED = /scoreflow reads float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool/;
const checkpoint = (t: unknown) => new Map<string, unknown>([['model', new OrderedDict([['conv.weight', t]])], ['step', 3]]);

describe('tensors of unsupported torch dtypes', () => {
  for (const [cls, dtype] of [['ComplexFloatStorage', 'complex64'], ['ComplexDoubleStorage', 'complex128'], ['QInt8Storage', 'qint8'],
    ['QUInt8Storage', 'quint8'], ['QInt32Storage', 'qint32']] as const) {
    it(`torch.${cls} → ${dtype}, zip and legacy files`, () => {
      const t = new StorageTensor(cls, '0', 4, [2, 2]);
      for (const [name, bytes] of [['c.pth', torchZip(checkpoint(t), { 0: new Uint8Array(64) })], ['c_legacy.pth', torchLegacy(checkpoint(t), { 0: new Uint8Array(64) }, 16)]] as const) {
        let err: Error | undefined;
        try { readCheckpoint(bytes, name); } catch (e) { err = e as Error; }
        expect(err).toMatchObject({ code: 'ERR_FORMAT', unsupported: true });
        expect(err!.message).toMatch(new RegExp(`^${name.replace('.', '\\.')}: tensor 'model\\.conv\\.weight' \\[2, 2\\] has unsupported dtype ${dtype} `));
        expect(err!.message).toMatch(SUPPORTED);
        expect(err!.message).not.toMatch(/unknown pickle global|No other format/);
      }
    });
  }

  it('torch 2.x _rebuild_tensor_v3 with torch.complex64 / torch.uint16', () => {
    for (const dtype of ['complex64', 'uint16', 'float8_e4m3fn']) {
      const storage = new StorageRefMarker(new StorageTensor('UntypedStorage', '0', 16, [16]));
      const t = new PyReduce('torch._utils', '_rebuild_tensor_v3', [storage, 0, tuple(2), tuple(1), false, new OrderedDict(), new TorchGlobal('torch', dtype)]);
      expectFormatError(() => loadTorch(torchZip(new Map([['ema', [t]]]), { 0: new Uint8Array(16) })), new RegExp(`tensor 'ema\\[0\\]' \\[2\\] has unsupported dtype ${dtype}`));
    }
  });

  it('quantized tensors (_rebuild_qtensor with a qscheme)', () => {
    const storage = new StorageRefMarker(new StorageTensor('QInt8Storage', '0', 4, [4]));
    const q = new PyReduce('torch._utils', '_rebuild_qtensor',
      [storage, 0, tuple(4), tuple(1), tuple<unknown>(new TorchGlobal('torch', 'per_tensor_affine'), 0.1, 0), false, new OrderedDict()]);
    expectFormatError(() => loadTorch(torchZip(new Map([['fc.weight', q]]), { 0: new Uint8Array(4) })), /tensor 'fc\.weight' \[4\] has unsupported dtype qint8.*\.dequantize\(\)/);
  });

  it('are told apart from globals that are not on the whitelist', () => {
    const evil = new PyReduce('os', 'system', ['true']);
    expectFormatError(() => readCheckpoint(torchZip(new Map([['x', evil]])), 'evil.pth'),
      /^evil\.pth: read as torch-zip .*unknown pickle global 'os\.system': .* refused/);
    const module = new PyReduce('torch.nn.modules.conv', 'Conv2d', []);
    expectFormatError(() => readCheckpoint(torchZip(module), 'model.pth'), /unknown pickle global 'torch\.nn\.modules\.conv\.Conv2d': the file pickles a whole nn\.Module .*state_dict\(\)/);
  });
});
