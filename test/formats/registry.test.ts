import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectFormat, readCheckpoint, readCheckpointFile } from '../../src/formats/registry.js';
import { writeNpy } from '../../src/formats/npy.js';
import { writeSafetensors } from '../../src/formats/safetensors.js';
import { DATA, FIXTURES, expectFormatError } from './helpers.js';

describe('format registry', () => {
  const t = { dtype: 'float32' as const, shape: [1], data: new Float32Array([1]) };

  it('detects formats from magic bytes', () => {
    expect(detectFormat(readFileSync(join(DATA, 'mixed_zip.pt')))).toBe('torch-zip');
    expect(detectFormat(readFileSync(join(DATA, 'mixed_legacy.pt')))).toBe('torch-legacy');
    expect(detectFormat(readFileSync(join(DATA, 'tiny_flax_checkpoint')))).toBe('flax-msgpack');
    expect(detectFormat(readFileSync(join(DATA, 'plain.npz')))).toBe('npz');
    expect(detectFormat(readFileSync(join(DATA, 'compressed.npz')), 'x.bin')).toBe('npz');
    expect(detectFormat(writeSafetensors({ t }))).toBe('safetensors');
    expect(detectFormat(writeNpy(t))).toBe('npy');
  });

  it('reads through the detected reader', () => {
    const r = readCheckpointFile(join(DATA, 'mixed_legacy.pt'));
    expect(r.format).toBe('torch-legacy');
    expect((r.value as Map<string, unknown>).get('step')).toBe(7);
    const s = readCheckpoint(writeSafetensors({ t }, { a: 'b' }));
    expect(s.metadata).toEqual({ a: 'b' });
    expect((s.value as Map<string, unknown>).get('t')).toEqual(t);
    expect(readCheckpointFile(join(DATA, 'tiny_flax_checkpoint')).format).toBe('flax-msgpack');
  });

  it('lists the supported formats for unknown files', () => {
    expectFormatError(() => readCheckpoint(new TextEncoder().encode('hello'), 'x.txt'),
      /unrecognised file format for 'x\.txt'; supported: torch-zip, torch-legacy, flax-msgpack, safetensors, npz, npy/);
  });

  it('reads the reference fixtures', () => {
    expect(readCheckpointFile(join(FIXTURES, 'a_ddpmpp.pth')).format).toBe('torch-zip');
    expect(readCheckpointFile(join(FIXTURES, 'a_ddpmpp.npz')).format).toBe('npz');
  });
});
