/**
 * Minimal PNG codec (node:zlib only) and torchvision-style image grids for sample snapshots.
 *  - decodePng: non-interlaced, 8-bit gray / gray+alpha / RGB / RGBA, and palette (1/2/4/8-bit, with tRNS
 *    alpha) plus 1/2/4-bit gray; all five filter types; CRCs checked. 16-bit and interlaced images are
 *    rejected with a clear error.
 *  - encodePng: 8-bit gray / gray+alpha / RGB / RGBA from HWC uint8, per-row adaptive filter choice.
 *  - makeGrid: torchvision.utils.make_grid (padding 2, gray → 3 channels) + save_image's float → uint8
 *    conversion (x·255 + 0.5, clamped, truncated).
 */
import { writeFileSync } from 'node:fs';
import { crc32, deflateSync, inflateSync } from 'node:zlib';
import { DataError } from './errors.js';

export interface RawImage {
  width: number;
  height: number;
  /** 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. */
  channels: number;
  /** HWC uint8, length width·height·channels. */
  data: Uint8Array;
}

const SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const COLOR_TYPES: Record<number, { name: string; samples: number; depths: number[] }> = {
  0: { name: 'grayscale', samples: 1, depths: [1, 2, 4, 8, 16] },
  2: { name: 'RGB', samples: 3, depths: [8, 16] },
  3: { name: 'palette', samples: 1, depths: [1, 2, 4, 8] },
  4: { name: 'grayscale+alpha', samples: 2, depths: [8, 16] },
  6: { name: 'RGBA', samples: 4, depths: [8, 16] },
};

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

/** Decodes a PNG file's bytes. `what` names the file in error messages. */
export function decodePng(bytes: Uint8Array, what = 'PNG data'): RawImage {
  const fail = (msg: string): never => { throw new DataError(`${what}: ${msg}`); };
  if (bytes.length < 8 || !SIGNATURE.every((b, i) => bytes[i] === b)) fail('not a PNG file (bad signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let ihdr: { w: number; h: number; depth: number; color: number; interlace: number } | undefined;
  let palette: Uint8Array | undefined;
  let trns: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (pos < bytes.length) {
    if (pos + 12 > bytes.length) fail(`truncated chunk header at byte ${pos}`);
    const len = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    if (pos + 12 + len > bytes.length) fail(`chunk ${type} at byte ${pos} runs past the end of the file (truncated?)`);
    const data = bytes.subarray(pos + 8, pos + 8 + len);
    const crc = view.getUint32(pos + 8 + len);
    if ((crc32(bytes.subarray(pos + 4, pos + 8 + len)) >>> 0) !== crc) fail(`CRC mismatch in chunk ${type} at byte ${pos} (corrupted file)`);
    pos += 12 + len;
    if (type === 'IHDR') {
      if (len !== 13) fail('IHDR chunk has the wrong length');
      const dv = new DataView(data.buffer, data.byteOffset, 13);
      ihdr = { w: dv.getUint32(0), h: dv.getUint32(4), depth: data[8]!, color: data[9]!, interlace: data[12]! };
      if (data[10] !== 0 || data[11] !== 0) fail('unknown compression or filter method');
    } else if (type === 'PLTE') palette = data;
    else if (type === 'tRNS') trns = data;
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') { ended = true; break; }
    else if ((type.charCodeAt(0) & 0x20) === 0) fail(`unknown critical chunk ${type}`);
  }
  if (!ihdr) return fail('missing IHDR chunk');
  if (!ended) fail('missing IEND chunk (truncated file?)');
  const { w, h, depth, color, interlace } = ihdr;
  const ct = COLOR_TYPES[color];
  if (!ct) fail(`invalid colour type ${color}`);
  if (!ct!.depths.includes(depth)) fail(`invalid bit depth ${depth} for colour type ${color} (${ct!.name})`);
  if (depth === 16) fail(`unsupported: 16-bit ${ct!.name} images (supported: 8-bit gray, gray+alpha, RGB, RGBA; 1/2/4/8-bit palette and gray)`);
  if (interlace !== 0) fail('unsupported: interlaced (Adam7) PNG; re-save it without interlacing');
  if (w === 0 || h === 0) fail(`invalid size ${w}×${h}`);
  if (color === 3 && !palette) fail('palette image without a PLTE chunk');
  if (idat.length === 0) fail('no IDAT chunk');
  let raw: Buffer;
  try { raw = inflateSync(Buffer.concat(idat)); } catch (e) { return fail(`image data does not decompress: ${(e as Error).message}`); }
  const bitsPerPixel = ct!.samples * depth;
  const stride = Math.ceil((w * bitsPerPixel) / 8);
  const bpp = Math.max(1, bitsPerPixel >> 3);
  if (raw.length < h * (stride + 1)) fail(`image data too short: ${raw.length} bytes, expected ${h * (stride + 1)} for ${w}×${h}`);
  const un = new Uint8Array(h * stride);
  for (let y = 0; y < h; y++) {
    const ft = raw[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    const row = y * stride, prev = row - stride;
    for (let x = 0; x < stride; x++) {
      const v = raw[src + x]!;
      const a = x >= bpp ? un[row + x - bpp]! : 0;
      const b = y > 0 ? un[prev + x]! : 0;
      const c = x >= bpp && y > 0 ? un[prev + x - bpp]! : 0;
      let out: number;
      switch (ft) {
        case 0: out = v; break;
        case 1: out = v + a; break;
        case 2: out = v + b; break;
        case 3: out = v + ((a + b) >> 1); break;
        case 4: out = v + paeth(a, b, c); break;
        default: return fail(`invalid filter type ${ft} on row ${y}`);
      }
      un[row + x] = out & 0xff;
    }
  }
  // expand sub-byte samples to one byte per sample
  let samples: Uint8Array;
  if (depth < 8) {
    samples = new Uint8Array(w * h);
    const per = 8 / depth, mask = (1 << depth) - 1;
    const scale = color === 0 ? 255 / mask : 1;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const byte = un[y * stride + Math.floor(x / per)]!;
        const shift = 8 - depth * ((x % per) + 1);
        samples[y * w + x] = ((byte >> shift) & mask) * scale;
      }
  } else samples = un;
  if (color !== 3) return { width: w, height: h, channels: ct!.samples, data: samples.length === w * h * ct!.samples ? samples : samples.slice(0, w * h * ct!.samples) };
  const nColors = palette!.length / 3;
  if (!Number.isInteger(nColors) || nColors < 1 || nColors > 256) fail(`PLTE chunk length ${palette!.length} is not 3·n (n ≤ 256)`);
  const channels = trns ? 4 : 3;
  const out = new Uint8Array(w * h * channels);
  for (let i = 0; i < w * h; i++) {
    const idx = samples[i]!;
    if (idx >= nColors) fail(`palette index ${idx} out of range (${nColors} colours)`);
    out[i * channels] = palette![idx * 3]!;
    out[i * channels + 1] = palette![idx * 3 + 1]!;
    out[i * channels + 2] = palette![idx * 3 + 2]!;
    if (trns) out[i * channels + 3] = idx < trns.length ? trns[idx]! : 255;
  }
  return { width: w, height: h, channels, data: out };
}

function chunk(type: string, data: Uint8Array): Buffer {
  const b = Buffer.alloc(12 + data.length);
  b.writeUInt32BE(data.length, 0);
  b.write(type, 4, 'latin1');
  b.set(data, 8);
  b.writeUInt32BE(crc32(b.subarray(4, 8 + data.length)) >>> 0, 8 + data.length);
  return b;
}

/** Encodes an 8-bit HWC image (1, 2, 3 or 4 channels) as PNG. */
export function encodePng(img: RawImage, opts: { level?: number } = {}): Buffer {
  const { width: w, height: h, channels: c, data } = img;
  const colorType = ({ 1: 0, 2: 4, 3: 2, 4: 6 } as Record<number, number>)[c];
  if (colorType === undefined) throw new RangeError(`encodePng: channels must be 1, 2, 3 or 4, received ${c}`);
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1) throw new RangeError(`encodePng: invalid size ${w}×${h}`);
  if (data.length !== w * h * c) throw new RangeError(`encodePng: data has ${data.length} bytes, expected ${w}×${h}×${c} = ${w * h * c}`);
  const stride = w * c;
  const out = new Uint8Array(h * (stride + 1));
  const cand = new Uint8Array(stride);
  for (let y = 0; y < h; y++) {
    const row = y * stride, prev = row - stride;
    let bestType = 0, bestSum = Infinity;
    let best = new Uint8Array(0);
    for (let ft = 0; ft <= 4; ft++) {
      let sum = 0;
      for (let x = 0; x < stride; x++) {
        const v = data[row + x]!;
        const a = x >= c ? data[row + x - c]! : 0;
        const b = y > 0 ? data[prev + x]! : 0;
        const cc = x >= c && y > 0 ? data[prev + x - c]! : 0;
        const pred = ft === 0 ? 0 : ft === 1 ? a : ft === 2 ? b : ft === 3 ? (a + b) >> 1 : paeth(a, b, cc);
        const r = (v - pred) & 0xff;
        cand[x] = r;
        sum += r < 128 ? r : 256 - r;
      }
      if (sum < bestSum) { bestSum = sum; bestType = ft; best = cand.slice(); }
    }
    out[y * (stride + 1)] = bestType;
    out.set(best, y * (stride + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; ihdr[9] = colorType; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  return Buffer.concat([
    Buffer.from(SIGNATURE), chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(out, { level: opts.level ?? 6 })), chunk('IEND', new Uint8Array(0)),
  ]);
}

/** Float in [0,1] → uint8 as torchvision's save_image: trunc(clamp(x·255 + 0.5, 0, 255)). */
export function floatToUint8(v: number): number {
  const s = v * 255 + 0.5;
  return s <= 0 || Number.isNaN(s) ? 0 : s >= 255 ? 255 : Math.trunc(s);
}

export interface GridInput {
  /** [B, C, H, W] */
  shape: readonly number[];
  /** float values in [0,1] (converted like save_image) or uint8 values. */
  data: Float32Array | Float64Array | Uint8Array;
}

/**
 * torchvision.utils.make_grid + save_image's conversion: `nrow` images per row, `padding` pixels of
 * `padValue` (in [0,1]) around and between images; 1-channel images become 3-channel. Like torchvision,
 * a batch of one image is returned without padding. Returns an HWC uint8 image.
 */
export function makeGrid(images: GridInput, nrow = 8, padding = 2, padValue = 0): RawImage {
  if (images.shape.length !== 4) throw new RangeError(`makeGrid: expected a [B, C, H, W] batch, received shape [${images.shape.join(', ')}]`);
  const [B, C, H, W] = images.shape as [number, number, number, number];
  if (C !== 1 && C !== 3) throw new RangeError(`makeGrid: expected 1 or 3 channels, received ${C}`);
  if (images.data.length !== B * C * H * W) throw new RangeError(`makeGrid: data length ${images.data.length} does not match shape [${B}, ${C}, ${H}, ${W}]`);
  if (!Number.isInteger(nrow) || nrow < 1) throw new RangeError(`makeGrid: nrow must be a positive integer, received ${nrow}`);
  const isU8 = images.data instanceof Uint8Array;
  const px = (i: number): number => (isU8 ? images.data[i]! : floatToUint8(images.data[i]!));
  const pad = floatToUint8(padValue);
  const pad0 = B === 1 ? 0 : padding;
  const xmaps = Math.min(nrow, B);
  const ymaps = Math.ceil(B / xmaps);
  const cellH = H + pad0, cellW = W + pad0;
  const gh = B === 1 ? H : ymaps * cellH + pad0;
  const gw = B === 1 ? W : xmaps * cellW + pad0;
  const out = new Uint8Array(gh * gw * 3).fill(pad);
  for (let k = 0; k < B; k++) {
    const gy = Math.floor(k / xmaps), gx = k % xmaps;
    const oy = gy * cellH + pad0, ox = gx * cellW + pad0;
    for (let ch = 0; ch < 3; ch++) {
      const sc = C === 1 ? 0 : ch;
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) out[((oy + y) * gw + ox + x) * 3 + ch] = px(((k * C + sc) * H + y) * W + x);
    }
  }
  return { width: gw, height: gh, channels: 3, data: out };
}

/** Writes a [B, C, H, W] batch as a PNG grid (nrow defaults to ⌊√B⌋ as the references' snapshots). */
export function saveImageGrid(path: string, images: GridInput, nrow?: number, padding = 2): void {
  const B = images.shape[0]!;
  writeFileSync(path, encodePng(makeGrid(images, nrow ?? Math.max(1, Math.floor(Math.sqrt(B))), padding)));
}
