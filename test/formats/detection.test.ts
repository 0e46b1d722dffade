// Format detection by magic bytes, plain pickles, and what the registry says when no format matches or
// the one that matches cannot read the file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dumpPickle } from '../../src/formats/pickle-writer.js';
import { detectFormat, readCheckpoint } from '../../src/formats/registry.js';
import { readStateDict } from '../../src/formats/state-dict.js';
import { toNumbers } from '../../src/formats/tensor-util.js';
import type { HostTensor } from '../../src/host-tensor.js';
import { DATA, expectFormatError } from './helpers.js';
import { plainPickleOfTensors } from './torch-builders.js';

// CPython 3 `pickle.dump(d, f, protocol=2)` of
// OrderedDict([('conv.weight', np.arange(6, dtype=np.float32).reshape(2, 3)), ('conv.bias', np.array([0.5, -1.0]))]).
const PLAIN = join(DATA, 'plain_state_dict.pkl');

describe('plain pickles (pickle.dump of a state dict, not torch.save)', () => {
  it('are detected as pickles, not as msgpack maps (both start with 0x80)', () => {
    expect(detectFormat(readFileSync(PLAIN), PLAIN)).toBe('pickle');
    expect(detectFormat(dumpPickle(new Map([['a', 1]])))).toBe('pickle');
    expect(detectFormat(readFileSync(join(DATA, 'mixed_legacy.pt')))).toBe('torch-legacy'); // also a pickle: the magic decides
    expect(detectFormat(readFileSync(join(DATA, 'tiny_flax_checkpoint')))).toBe('flax-msgpack');
  });

  it('of numpy arrays (written by CPython) are read', () => {
    const sd = readStateDict(readFileSync(PLAIN), PLAIN);
    expect([...sd.keys()]).toEqual(['conv.weight', 'conv.bias']);
    expect(sd.get('conv.weight')).toMatchObject({ dtype: 'float32', shape: [2, 3] });
    expect(toNumbers(sd.get('conv.weight')!)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(toNumbers(sd.get('conv.bias')!)).toEqual([0.5, -1]);
  });

  it('of torch tensors (storages as nested torch.save bytes) are read', () => {
    const r = readCheckpoint(plainPickleOfTensors({ w: new Float32Array([1, 2, 3]), b: new Float32Array([-4]) }), 'sd.pkl');
    expect(r.format).toBe('pickle');
    const sd = r.value as Map<string, HostTensor>;
    expect(toNumbers(sd.get('w')!)).toEqual([1, 2, 3]);
    expect(toNumbers(sd.get('b')!)).toEqual([-4]);
  });

  it('that are not state dicts say what they hold, naming the file', () => {
    expectFormatError(() => readStateDict(dumpPickle(new Map([['a', 1]])), 'small.pkl'),
      /^small\.pkl: pickle: entry 'a' is a number \(1\), not a tensor; expected a dict of tensors/);
    expectFormatError(() => readStateDict(dumpPickle([1, 2]), 'list.pkl'), /^list\.pkl: pickle: expected a dict of tensors .*found a list of 2/);
  });

  it('with data after the STOP opcode are rejected', () => {
    const p = dumpPickle(new Map([['a', 1]]));
    const b = new Uint8Array(p.length + 3);
    b.set(p);
    expectFormatError(() => readCheckpoint(b, 'x.pkl'), /^x\.pkl: read as pickle .*3 bytes after the STOP opcode/);
  });
});

describe('when no format matches, or the matching one fails', () => {
  it('an unknown file: every format says why it rejects it', () => {
    expectFormatError(() => readCheckpoint(new TextEncoder().encode('GIF89a, a picture'), '/data/cat.gif'), new RegExp(
      "unrecognised file format for '/data/cat\\.gif'; supported: torch-zip, torch-legacy, flax-msgpack, safetensors, npz, npy, pickle, " +
      'and each rejects it \\(torch-zip: no zip signature .*; torch-legacy: no legacy torch\\.save magic number.*; ' +
      'flax-msgpack: first byte 0x47 does not open a msgpack map; safetensors: .*; npz: .*; npy: no \\\\x93NUMPY magic.*; ' +
      'pickle: no pickle header'));
    expectFormatError(() => readCheckpoint(new Uint8Array(0), 'empty.pth'), /'empty\.pth'.*first byte none \(empty file\).*0 bytes are too few/);
  });

  it('a damaged file of a known format: the file, the format, the evidence, the reader error and the others', () => {
    const legacy = readFileSync(join(DATA, 'mixed_legacy.pt'));
    expectFormatError(() => readCheckpoint(legacy.subarray(0, legacy.length - 3), 'old.pt'), new RegExp(
      '^old\\.pt: read as torch-legacy \\(starts with the legacy torch\\.save magic number\\), which failed: torch legacy: truncated file.*' +
      '\\. No other format matches \\(torch-zip: no zip signature.*pickle: starts with a protocol-2 pickle header\\)$'));
    const flax = readFileSync(join(DATA, 'tiny_flax_checkpoint'));
    expectFormatError(() => readCheckpoint(flax.subarray(0, 1000), 'checkpoint_3'), /^checkpoint_3: read as flax-msgpack \(starts with the msgpack map byte 0x8\w\), which failed: truncated msgpack/);
  });

  it('the extension breaks ties: a damaged .safetensors stays safetensors, a zip named .npz is an npz', () => {
    expect(detectFormat(new Uint8Array([0x85, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 'w.safetensors')).toBe('safetensors');
    expect(detectFormat(new Uint8Array([0x85, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 'checkpoint_1')).toBe('flax-msgpack');
    const npz = readFileSync(join(DATA, 'plain.npz'));
    expect(detectFormat(npz, 'a.npz')).toBe('npz');
    expect(detectFormat(readFileSync(join(DATA, 'mixed_zip.pt')), 'a.pt')).toBe('torch-zip');
  });
});
