/**
 * PNG files over pngjs, and torchvision-style image grids for sample snapshots.
 *  - decodePng: non-interlaced, 8-bit gray / gray+alpha / RGB / RGBA, palette (1/2/4/8-bit, with tRNS
 *    alpha) and 1/2/4-bit gray, as HWC uint8. 16-bit and interlaced images are rejected with a clear
 *    error (RawImage is 8-bit; pngjs would scale 16-bit down silently). Errors name the file and are DataErrors.
 *  - encodePng: 8-bit gray / gray+alpha / RGB / RGBA from HWC uint8.
 *  - makeGrid: torchvision.utils.make_grid (padding 2, gray → 3 channels) + save_image's float → uint8
 *    conversion (x·255 + 0.5, clamped, truncated).
 */
import { writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { PNG, type PNGWithMetadata } from 'pngjs';
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

const COLOR_TYPES: Record<number, { name: string; samples: number }> = {
  0: { name: 'grayscale', samples: 1 },
  2: { name: 'RGB', samples: 3 },
  3: { name: 'palette', samples: 1 },
  4: { name: 'grayscale+alpha', samples: 2 },
  6: { name: 'RGBA', samples: 4 },
};

const COLOR_TYPE_OF_CHANNELS: Record<number, 0 | 2 | 4 | 6> = { 1: 0, 2: 4, 3: 2, 4: 6 };
/** Which of pngjs's RGBA bytes hold the file's channels, per colour type (palette: see `fromRgba`). */
const CHANNELS_OF_RGBA: Record<number, number[]> = { 0: [0], 4: [0, 3], 2: [0, 1, 2], 6: [0, 1, 2, 3] };

/** deflate expands at most ~1032:1: a header declaring more pixels than that is corrupt. */
const MAX_INFLATE_RATIO = 1032;

interface Header { width: number; height: number; depth: number; color: number; interlace: number; idatBytes: number }

/**
 * What pngjs does not check before it allocates the image: the IHDR (CRC included, so a corrupt header
 * is reported as such), the chunk layout up to IEND, and a declared size the image data can hold.
 */
function readHeader(bytes: Uint8Array, fail: (msg: string) => never): Header {
  if (bytes.length < 8 || !SIGNATURE.every((b, i) => bytes[i] === b)) fail('not a PNG file (bad signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = (pos: number): string => String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
  if (bytes.length < 33 || type(8) !== 'IHDR' || view.getUint32(8) !== 13) fail('the first chunk is not a 13-byte IHDR');
  if ((crc32(bytes.subarray(12, 29)) >>> 0) !== view.getUint32(29)) fail('CRC mismatch in chunk IHDR (corrupted file)');
  let idatBytes = 0;
  for (let pos = 8; ; ) {
    if (pos + 12 > bytes.length) fail(`missing IEND chunk at byte ${pos} (truncated file?)`);
    const len = view.getUint32(pos);
    if (pos + 12 + len > bytes.length) fail(`chunk ${type(pos)} at byte ${pos} runs past the end of the file (truncated?)`);
    if (type(pos) === 'IDAT') idatBytes += len;
    if (type(pos) === 'IEND') break;
    pos += 12 + len;
  }
  return { width: view.getUint32(16), height: view.getUint32(20), depth: bytes[24]!, color: bytes[25]!, interlace: bytes[28]!, idatBytes };
}

function checkSupported(h: Header, fail: (msg: string) => never): void {
  const ct = COLOR_TYPES[h.color];
  if (!ct) fail(`invalid colour type ${h.color}`);
  if (h.depth === 16) fail(`unsupported: 16-bit ${ct!.name} images (supported: 8-bit gray, gray+alpha, RGB, RGBA; 1/2/4/8-bit palette and gray)`);
  if (h.interlace !== 0) fail('unsupported: interlaced (Adam7) PNG; re-save it without interlacing');
  if (h.width === 0 || h.height === 0) fail(`invalid size ${h.width}×${h.height}`);
  const rowBytes = Math.ceil((h.width * ct!.samples * h.depth) / 8) + 1;
  if (h.height * rowBytes > MAX_INFLATE_RATIO * h.idatBytes + 1024) {
    fail(`declares ${h.width}×${h.height} pixels but holds only ${h.idatBytes} bytes of image data (corrupted header?)`);
  }
}

/** pngjs always yields RGBA; keep the file's own channels (palette: RGB, or RGBA with tRNS). */
function fromRgba(png: PNGWithMetadata, color: number): RawImage {
  const { width, height, data } = png;
  const picks = color === 3 ? (png.alpha ? [0, 1, 2, 3] : [0, 1, 2]) : CHANNELS_OF_RGBA[color]!;
  const out = new Uint8Array(width * height * picks.length);
  for (let i = 0, o = 0; i < width * height; i++) for (const c of picks) out[o++] = data[i * 4 + c]!;
  return { width, height, channels: picks.length, data: out };
}

/** Decodes a PNG file's bytes. `what` names the file in error messages. */
export function decodePng(bytes: Uint8Array, what = 'PNG data'): RawImage {
  const fail = (msg: string): never => { throw new DataError(`${what}: ${msg}`); };
  const header = readHeader(bytes, fail);
  checkSupported(header, fail);
  let png: PNGWithMetadata;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { checkCRC: true });
  } catch (e) {
    return fail(`corrupted PNG: ${(e as Error).message}`);
  }
  return fromRgba(png, header.color);
}

/** Encodes an 8-bit HWC image (1, 2, 3 or 4 channels) as PNG (adaptive row filters, deflate level 6 unless `level` says). */
export function encodePng(img: RawImage, opts: { level?: number } = {}): Buffer {
  const { width: w, height: h, channels: c, data } = img;
  const colorType = COLOR_TYPE_OF_CHANNELS[c];
  if (colorType === undefined) throw new RangeError(`encodePng: channels must be 1, 2, 3 or 4, received ${c}`);
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1) throw new RangeError(`encodePng: invalid size ${w}×${h}`);
  if (data.length !== w * h * c) throw new RangeError(`encodePng: data has ${data.length} bytes, expected ${w}×${h}×${c} = ${w * h * c}`);
  // A PNG made without a size allocates no RGBA buffer of its own; pngjs packs from `data` in `inputColorType`.
  const png = Object.assign(new PNG(), { width: w, height: h, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) });
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: c === 2 || c === 4, bitDepth: 8, deflateLevel: opts.level ?? 6 });
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
