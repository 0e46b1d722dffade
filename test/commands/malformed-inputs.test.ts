// Every malformed input through `scoreflow inspect`: it must end in a ScoreflowError with a code and the
// file's path in the message, never a raw Node error (ENOENT …, RangeError, a stack overflow) or a crash.
// A hand-made corpus (each case with the message it must give) plus seeded corruptions of the fixtures.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as inspect } from '../../src/commands/inspect.js';
import { ScoreflowError } from '../../src/errors.js';
import { writeNpy } from '../../src/formats/npy.js';
import { writeNpz } from '../../src/formats/npz.js';
import { dumpPickle } from '../../src/formats/pickle-writer.js';
import { PyReduce, tuple } from '../../src/formats/py-values.js';
import { writeSafetensors } from '../../src/formats/safetensors.js';
import { saveTorch, stateDict } from '../../src/formats/torch-save.js';
import { writeZip } from '../../src/formats/zip.js';
import type { HostTensor } from '../../src/host-tensor.js';
import { DATA } from '../formats/helpers.js';
import { StorageTensor, plainPickleOfTensors, torchLegacy, torchZip } from '../formats/torch-builders.js';

const enc = new TextEncoder();
const MUTANTS_PER_SOURCE = 30;
const f32 = (...v: number[]): HostTensor => ({ dtype: 'float32', shape: [v.length], data: new Float32Array(v) });
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((o, p) => (out.set(p, o), o + p.length), 0);
  return out;
};
const cut = (b: Uint8Array, n: number) => b.subarray(0, n < 0 ? b.length + n : n);
const safetensorsWithHeader = (header: string) => {
  const h = enc.encode(header);
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(h.length), true);
  return cat(len, h, new Uint8Array(16));
};

const goodZip = saveTorch(stateDict([['w', f32(1, 2, 3, 4)], ['b', f32(0.5)]]));
const legacy = new Uint8Array(readFileSync(join(DATA, 'mixed_legacy.pt')));
const flax = new Uint8Array(readFileSync(join(DATA, 'tiny_flax_checkpoint')));
const complexT = new StorageTensor('ComplexFloatStorage', '0', 4, [2, 2]);
// 100 000 nested lists: PROTO 2, ']' × N, 'a' (APPEND) × (N - 1), STOP.
const N = 100_000;
const deep = cat(new Uint8Array([0x80, 2]), new Uint8Array(N).fill(0x5d), new Uint8Array(N - 1).fill(0x61), new Uint8Array([0x2e]));

/** [file name, bytes, the message it must give (besides naming the file)]. */
const CORPUS: [string, Uint8Array, RegExp][] = [
  ['empty.pth', new Uint8Array(0), /unrecognised file format.*first byte none \(empty file\)/],
  ['text.pth', enc.encode('just some text, not a checkpoint\n'), /unrecognised file format.*each rejects it/],
  ['picture.gif', enc.encode('GIF89a\x01\x00\x01\x00'), /unrecognised file format/],
  ['protocol0.pkl', enc.encode("cos\nsystem\n(S'ls'\ntR."), /unrecognised file format.*pickle: no pickle header/],
  ['not_state_dict.pkl', dumpPickle(new Map([['a', 1]])), /entry 'a' is a number \(1\), not a tensor/],
  ['evil.pkl', dumpPickle(new Map([['x', new PyReduce('os', 'system', ['touch /tmp/pwned'])]])), /unknown pickle global 'os\.system'.*refused/],
  ['trailing.pkl', cat(dumpPickle(new Map([['a', 1]])), enc.encode('xyz')), /3 bytes after the STOP opcode/],
  ['truncated.pkl', cut(plainPickleOfTensors({ w: new Float32Array(8) }), -20), /read as pickle .*truncated pickle|read as pickle .*no STOP/],
  ['nested_junk.pkl', dumpPickle(new Map([['w', new PyReduce('torch._utils', '_rebuild_tensor_v2',
    [new PyReduce('torch.storage', '_load_from_bytes', [enc.encode('junk')]), 0, tuple(1), tuple(1), false, new Map()])]])), /not a torch\.save file/],
  ['deep.pkl', deep, /expected a dict of tensors .*found a list of 1/],
  ['long4.pkl', new Uint8Array([0x80, 2, 0x8b, 0xff, 0xff, 0xff, 0x7f, 0x2e]), /LONG4 integer of \d+ bytes is too large/],
  ['bigstring.pkl', new Uint8Array([0x80, 2, 0x58, 0xff, 0xff, 0xff, 0x7f, 0x41, 0x2e]), /truncated pickle/],
  ['cut_zip.pth', cut(goodZip, -30), /read as torch-zip .*truncated zip/],
  ['cut_zip_head.pth', cut(goodZip, 200), /truncated zip/],
  ['no_data_pkl.pth', writeZip([{ name: 'readme.txt', data: enc.encode('hi') }]), /read as torch-zip \(a zip archive without data\.pkl\).*no data\.pkl record/],
  ['zip_evil.pth', torchZip(new PyReduce('subprocess', 'check_output', [['id']])), /unknown pickle global 'subprocess\.check_output'/],
  ['whole_module.pth', torchZip(new PyReduce('torch.nn.modules.linear', 'Linear', [])), /whole nn\.Module .*state_dict\(\)/],
  ['complex64.pth', torchZip(new Map([['w', complexT]]), { 0: new Uint8Array(32) }), /tensor 'w' \[2, 2\] has unsupported dtype complex64/],
  ['complex128_legacy.pth', torchLegacy(new Map([['w', new StorageTensor('ComplexDoubleStorage', '0', 1, [1])]]), { 0: new Uint8Array(16) }, 16),
    /tensor 'w' \[1\] has unsupported dtype complex128/],
  ['qint8.pth', torchZip(new Map([['w', new StorageTensor('QInt8Storage', '0', 4, [4])]]), { 0: new Uint8Array(4) }), /unsupported dtype qint8/],
  ['missing_storage.pth', torchZip(new Map([['w', new StorageTensor('FloatStorage', '0', 4, [4])]])), /missing storage record 'data\/0'/],
  ['short_storage.pth', torchZip(new Map([['w', new StorageTensor('FloatStorage', '0', 4, [4])]]), { 0: new Uint8Array(8) }), /has 8 bytes, needs 16/],
  ['too_big_view.pth', torchZip(new Map([['w', new StorageTensor('FloatStorage', '0', 2, [3, 3])]]), { 0: new Uint8Array(8) }), /exceeds its storage/],
  ['cut_legacy.pt', cut(legacy, -3), /read as torch-legacy .*truncated file/],
  ['cut_legacy_head.pt', cut(legacy, 400), /truncated pickle|no STOP/],
  ['legacy_magic_only.pt', cut(legacy, 16), /read as torch-legacy/],
  ['legacy_storage_not_loaded.pt', torchLegacy(new Map([['w', new StorageTensor('FloatStorage', '0', 2, [2])]])), /truncated file|missing storage/],
  ['cut_flax', cut(flax, 5000), /read as flax-msgpack .*truncated msgpack/],
  ['trailing_flax', cat(flax, new Uint8Array([1, 2, 3])), /msgpack: 3 trailing bytes/],
  ['flax_complex', new Uint8Array([0x81, 0xa1, 0x78, 0xd5, 0x02, 0, 0]), /complex numbers are not supported/], // {'x': ext 2 (complex)}
  ['bad_len.safetensors', cat(new Uint8Array([0xff, 0xff, 0, 0, 0, 0, 0, 0]), enc.encode('{}')), /read as safetensors \(named \.safetensors, although .*header length exceeds the file/],
  ['bad_json.safetensors', safetensorsWithHeader('{"a": [1, 2'), /header is not valid JSON/],
  ['complex.safetensors', safetensorsWithHeader('{"a":{"dtype":"C64","shape":[2],"data_offsets":[0,16]}}'), /tensor 'a' has unsupported dtype 'C64' \(scoreflow reads/],
  ['outside.safetensors', safetensorsWithHeader('{"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}}'), /lies outside the file/],
  ['huge_shape.safetensors', safetensorsWithHeader('{"a":{"dtype":"F32","shape":[1000000000,1000000000],"data_offsets":[0,16]}}'), /does not match its 16 bytes/],
  ['bad_entry.npz', writeZip([{ name: 'w.npy', data: enc.encode('\x93NUMPY\x01\x00garbage') }]), /npz entry 'w\.npy'|npy:/],
  ['cut.npz', cut(writeNpz({ w: f32(1, 2) }), -10), /read as npz .*truncated zip/],
  ['single.npy', writeNpy(f32(1, 2, 3)), /a single \.npy array is not a state dict/],
  ['cut.npy', cut(writeNpy(f32(...new Array(64).fill(1))), 140), /npy: truncated data/],
];

let dir: string;
const saved = { log: console.log, error: console.error };

async function inspectError(path: string): Promise<ScoreflowError | undefined> {
  try {
    await inspect({ file: path });
    return undefined;
  } catch (e) {
    expect(e, `${path}: ${String(e)}`).toBeInstanceOf(ScoreflowError);
    const err = e as ScoreflowError;
    expect(err.code, path).toMatch(/^ERR_[A-Z_]+$/);
    expect(err.message, path).toContain(path);
    return err;
  }
}

describe('inspect on malformed input', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sf-malformed-'));
    console.log = () => {};
  });
  afterAll(() => { console.log = saved.log; });

  for (const [name, bytes, message] of CORPUS) {
    it(name, async () => {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      const err = await inspectError(path);
      expect(err, `${name} was accepted`).toBeDefined();
      expect(err!.code).toBe('ERR_FORMAT');
      expect(err!.message).toMatch(message);
    });
  }

  it('paths that are not readable files', async () => {
    mkdirSync(join(dir, 'a_folder'), { recursive: true });
    writeFileSync(join(dir, 'a_file'), 'x');
    for (const [path, message] of [[join(dir, 'a_folder'), /is a folder/], [join(dir, 'missing.pth'), /not found: .*\(no such file\)/],
      [join(dir, 'a_file', 'x.pth'), /not found: .*a part of the path is a file/]] as const) {
      const err = await inspectError(path);
      expect(err!.code).toBe('ERR_IO');
      expect(err!.message).toMatch(message);
    }
  });

  it('seeded corruptions of every fixture', async () => {
    const sources: [string, Uint8Array][] = [
      ...['mixed_zip.pt', 'mixed_legacy.pt', 'proto5.pt', 'plain.npz', 'compressed.npz', 'fortran.npy', 'zip64.zip', 'plain_state_dict.pkl']
        .map((f) => [f, new Uint8Array(readFileSync(join(DATA, f)))] as [string, Uint8Array]),
      ['tiny_flax_checkpoint', flax.subarray(0, 4000)],
      ['sd.safetensors', writeSafetensors({ w: f32(1, 2, 3) })],
      ['tensors.pkl', plainPickleOfTensors({ w: new Float32Array([1, 2]), b: new Float32Array([3]) })],
    ];
    let seed = 11;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    let tried = 0;
    let rejected = 0;
    for (const [name, src] of sources) {
      for (let trial = 0; trial < MUTANTS_PER_SOURCE; trial++) {
        let b = Uint8Array.from(src);
        if (trial % 3 === 0) b = b.subarray(0, Math.floor(rnd() * b.length));
        else for (let k = 0; k < 1 + (trial % 4); k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
        const path = join(dir, `${trial}_${name}`);
        writeFileSync(path, b);
        tried++;
        if (await inspectError(path)) rejected++;
      }
    }
    expect(tried).toBe(sources.length * MUTANTS_PER_SOURCE);
    expect(rejected).toBeGreaterThan(tried / 3);
  });
});
