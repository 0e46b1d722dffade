import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodePng, encodePng, makeGrid, saveImageGrid, floatToUint8, Prng } from '../../src/data/index.js';

const FIX = join(import.meta.dirname, 'fixtures', 'png');
const expected = JSON.parse(readFileSync(join(FIX, 'expected.json'), 'utf8')) as Record<string, { width: number; height: number; pixels: number[][][] }>;

function dataErr(fn: () => unknown): Error & { code?: string } {
  try { fn(); } catch (e) { expect((e as { code?: string }).code).toBe('ERR_DATA'); return e as Error; }
  throw new Error('expected ERR_DATA');
}

describe('PNG decoder on hand-made files (every colour type, all five filter types)', () => {
  for (const [name, exp] of Object.entries(expected)) {
    it(name, () => {
      const img = decodePng(new Uint8Array(readFileSync(join(FIX, `${name}.png`))), name);
      expect(img.width).toBe(exp.width);
      expect(img.height).toBe(exp.height);
      const c = exp.pixels[0]![0]!.length;
      expect(img.channels).toBe(c);
      expect(Array.from(img.data)).toEqual(exp.pixels.flat(2));
    });
  }

  it('rejects 16-bit and interlaced images with a clear message', () => {
    expect(dataErr(() => decodePng(new Uint8Array(readFileSync(join(FIX, 'rgb16.png'))), 'rgb16.png')).message).toMatch(/rgb16\.png: unsupported: 16-bit RGB/);
    expect(dataErr(() => decodePng(new Uint8Array(readFileSync(join(FIX, 'interlaced.png'))))).message).toContain('interlaced');
  });

  it('rejects malformed files', () => {
    const good = new Uint8Array(readFileSync(join(FIX, 'rgb8.png')));
    expect(dataErr(() => decodePng(new Uint8Array([1, 2, 3]))).message).toContain('not a PNG');
    expect(dataErr(() => decodePng(good.subarray(0, good.length - 20))).message).toMatch(/truncated|past the end/);
    const bad = good.slice(); bad[20] ^= 0xff; // inside IHDR data
    expect(dataErr(() => decodePng(bad)).message).toContain('CRC mismatch');
    // a header declaring more pixels than its data could inflate to is refused before anything is allocated
    const huge = good.slice();
    const v = new DataView(huge.buffer);
    v.setUint32(20, 0x7fffffff);
    v.setUint32(29, crc32(huge.subarray(12, 29)) >>> 0);
    expect(dataErr(() => decodePng(huge, 'huge.png')).message).toMatch(/^huge\.png: declares 7×2147483647 pixels but holds only \d+ bytes of image data/);
    const noEnd = good.subarray(0, good.length - 12); // the IEND chunk cut off at a chunk boundary
    expect(dataErr(() => decodePng(noEnd, 'cut.png')).message).toMatch(/^cut\.png: missing IEND chunk at byte \d+ \(truncated file\?\)/);
  });
});

describe('PNG decoder robustness', () => {
  it('randomly corrupted files (CRCs made valid again) only ever raise ERR_DATA', () => {
    const fixCrcs = (b: Uint8Array): void => {
      const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
      for (let pos = 8; pos + 12 <= b.length;) {
        const len = v.getUint32(pos);
        if (pos + 12 + len > b.length) break;
        v.setUint32(pos + 8 + len, crc32(b.subarray(pos + 4, pos + 8 + len)) >>> 0);
        pos += 12 + len;
      }
    };
    const r = new Prng(2);
    const bad: string[] = [];
    for (const name of Object.keys(expected)) {
      const orig = new Uint8Array(readFileSync(join(FIX, `${name}.png`)));
      for (let t = 0; t < 100; t++) {
        const b = orig.slice();
        const i = t % 2 ? 16 + r.nextInt(13) : 8 + r.nextInt(b.length - 8); // IHDR fields, or anywhere
        b[i] = r.nextInt(256);
        fixCrcs(b);
        try { decodePng(b); } catch (e) { if ((e as { code?: string }).code !== 'ERR_DATA') bad.push(`${name}: ${(e as Error).message}`); }
      }
    }
    expect(bad).toEqual([]);
  });
});

describe('PNG encoder', () => {
  it('round-trips every channel count, including noise and flat images', () => {
    const rng = new Prng(3);
    for (const c of [1, 2, 3, 4]) {
      for (const [w, h] of [[1, 1], [13, 7], [32, 32]] as const) {
        const data = new Uint8Array(w * h * c);
        for (let i = 0; i < data.length; i++) data[i] = i % 3 === 0 ? rng.nextInt(256) : (i * 7) & 0xff;
        const png = encodePng({ width: w, height: h, channels: c, data });
        const back = decodePng(png);
        expect(back).toEqual({ width: w, height: h, channels: c, data });
      }
    }
  });

  it('writes a file the decoder of a third party would read: standard IHDR', () => {
    const png = encodePng({ width: 3, height: 2, channels: 3, data: new Uint8Array(18).fill(9) });
    expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.readUInt32BE(8)).toBe(13);
    expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
    expect([png.readUInt32BE(16), png.readUInt32BE(20), png[24], png[25], png[28]]).toEqual([3, 2, 8, 2, 0]);
  });

  it('rejects wrong sizes', () => {
    expect(() => encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(5) })).toThrow(/expected 2×2×3/);
    expect(() => encodePng({ width: 2, height: 2, channels: 5, data: new Uint8Array(20) })).toThrow(/channels/);
  });

  it('decodes a minimal hand-assembled stream with the zlib default', () => {
    // 2×1 gray, filter 1 (Sub): raw bytes [1, 10, 5] => pixels 10, 15
    const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
    const chunk = (t: string, d: Uint8Array): Buffer => {
      const b = Buffer.alloc(12 + d.length); b.writeUInt32BE(d.length, 0); b.write(t, 4, 'latin1'); b.set(d, 8);
      b.writeUInt32BE(requireCrc(b.subarray(4, 8 + d.length)), 8 + d.length); return b;
    };
    const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(2, 0); ihdr.writeUInt32BE(1, 4); ihdr[8] = 8; ihdr[9] = 0;
    const png = Buffer.concat([Buffer.from(sig), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.from([1, 10, 5]))), chunk('IEND', new Uint8Array(0))]);
    expect(Array.from(decodePng(png).data)).toEqual([10, 15]);
  });
});

function requireCrc(b: Uint8Array): number { return crc32(b) >>> 0; }

describe('makeGrid (torchvision make_grid + save_image)', () => {
  it('lays out images with padding 2 and converts gray to RGB', () => {
    const B = 5, C = 1, H = 3, W = 4;
    const data = new Float32Array(B * C * H * W);
    for (let k = 0; k < B; k++) data.fill((k + 1) / 10, k * H * W, (k + 1) * H * W);
    const g = makeGrid({ shape: [B, C, H, W], data }, 2, 2);
    // xmaps = 2, ymaps = 3: width = 2·(4+2)+2 = 14, height = 3·(3+2)+2 = 17
    expect([g.width, g.height, g.channels]).toEqual([14, 17, 3]);
    const at = (y: number, x: number, c = 0): number => g.data[(y * g.width + x) * 3 + c]!;
    expect(at(0, 0)).toBe(0);
    expect(at(2, 2)).toBe(floatToUint8(0.1));
    expect(at(2, 2, 2)).toBe(floatToUint8(0.1));
    expect(at(2, 8)).toBe(floatToUint8(0.2)); // image 1 at x = 6+2
    expect(at(7, 2)).toBe(floatToUint8(0.3)); // image 2 at y = 5+2
    expect(at(12, 2)).toBe(floatToUint8(0.5));
    expect(at(12, 8)).toBe(0); // empty cell stays padding
    expect(at(2, 6)).toBe(0); // padding column
    expect(floatToUint8(0.5)).toBe(128); // 127.5 + 0.5 truncated
    expect(floatToUint8(-1)).toBe(0);
    expect(floatToUint8(2)).toBe(255);
  });

  it('a single image is returned without padding; uint8 input is taken as is', () => {
    const g = makeGrid({ shape: [1, 3, 2, 2], data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) });
    expect([g.width, g.height]).toEqual([2, 2]);
    expect(Array.from(g.data.subarray(0, 3))).toEqual([1, 5, 9]);
  });

  it('saveImageGrid writes a decodable PNG with nrow = floor(sqrt(B))', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scoreflow-png-'));
    const p = join(dir, 'sample.png');
    saveImageGrid(p, { shape: [9, 3, 4, 4], data: new Float32Array(9 * 48).fill(1) });
    const img = decodePng(new Uint8Array(readFileSync(p)));
    expect([img.width, img.height]).toEqual([3 * 6 + 2, 3 * 6 + 2]);
    expect(img.data[(2 * img.width + 2) * 3]).toBe(255);
  });
});
