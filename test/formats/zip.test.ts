import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readZip, writeZip } from '../../src/formats/zip.js';
import { DATA, expectFormatError } from './helpers.js';

const enc = new TextEncoder();

describe('zip', () => {
  it('round-trips stored entries with torch-style 64-byte alignment', () => {
    const entries = [
      { name: 'archive/data.pkl', data: enc.encode('pickle bytes') },
      { name: 'archive/data/0', data: new Uint8Array([1, 2, 3, 4, 5]) },
      { name: 'archive/version', data: enc.encode('3\n') },
    ];
    const bytes = writeZip(entries, { align: 64 });
    const zip = readZip(bytes);
    expect(zip.entries.map((e) => e.name)).toEqual(entries.map((e) => e.name));
    for (const e of zip.entries) {
      expect(e.method).toBe(0);
      // data offset = header + 30 + name + extra: must be 64-aligned, padding field id 'FB' full of 'Z'
      const view = new DataView(bytes.buffer);
      const nameLen = view.getUint16(e.localHeaderOffset + 26, true);
      const extraLen = view.getUint16(e.localHeaderOffset + 28, true);
      expect((e.localHeaderOffset + 30 + nameLen + extraLen) % 64).toBe(0);
      expect(String.fromCharCode(bytes[e.localHeaderOffset + 30 + nameLen]!, bytes[e.localHeaderOffset + 31 + nameLen]!)).toBe('FB');
    }
    expect([...zip.read('archive/data/0')]).toEqual([1, 2, 3, 4, 5]);
  });

  it('round-trips deflated entries', () => {
    const big = new Uint8Array(10000).map((_, i) => i % 7);
    const bytes = writeZip([{ name: 'a.npy', data: big }], { method: 'deflate' });
    expect(bytes.length).toBeLessThan(2000);
    const zip = readZip(bytes);
    expect(zip.entries[0]!.method).toBe(8);
    expect(zip.read('a.npy')).toEqual(big);
  });

  it('reads numpy-written stored and deflated archives', () => {
    expect(readZip(readFileSync(join(DATA, 'plain.npz'))).entries.map((e) => e.name)).toEqual(['named.npy', 'arr_0.npy', 'arr_1.npy']);
    const z = readZip(readFileSync(join(DATA, 'compressed.npz')));
    expect(z.entries.every((e) => e.method === 8)).toBe(true);
    expect(z.read('a.npy').length).toBeGreaterThan(48);
  });

  it('reads zip64 records (Python zipfile with lowered limits)', () => {
    const z = readZip(readFileSync(join(DATA, 'zip64.zip')));
    expect(z.entries.map((e) => [e.name, e.size])).toEqual([['entry0.bin', 256], ['entry1.bin', 512], ['entry2.bin', 768]]);
    expect(z.read('entry2.bin')[257]).toBe(1);
  });

  it('writes zip64 records when sizes/offsets pass the limit', () => {
    const entries = [0, 1, 2].map((i) => ({ name: `e${i}`, data: new Uint8Array(150 * (i + 1)).fill(i + 1) }));
    const bytes = writeZip(entries, { zip64Limit: 100, align: 64 });
    const view = new DataView(bytes.buffer);
    const eocd = bytes.length - 22;
    expect(view.getUint32(eocd + 16, true)).toBe(0xffffffff); // central directory offset deferred to zip64
    expect(view.getUint32(eocd - 20, true)).toBe(0x07064b50); // zip64 locator
    const z = readZip(bytes);
    for (const e of entries) expect(z.read(e.name)).toEqual(e.data);
  });

  it('reports truncated, corrupted and non-zip input as ERR_FORMAT', () => {
    const bytes = writeZip([{ name: 'x', data: enc.encode('hello world') }]);
    expectFormatError(() => readZip(bytes.subarray(0, bytes.length - 10)), /truncated zip/);
    expectFormatError(() => readZip(bytes.subarray(0, 10)), /truncated zip/);
    expectFormatError(() => readZip(enc.encode('definitely not a zip archive, just text')), /wrong magic/);
    const bad = bytes.slice();
    bad[30 + 1 + 2] ^= 0xff; // flip a data byte
    expectFormatError(() => readZip(bad).read('x'), /CRC mismatch/);
    expectFormatError(() => readZip(bytes).read('missing'), /no entry named/);
  });
});
