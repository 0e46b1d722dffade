/**
 * NumPy .npy files (format versions 1.0, 2.0, 3.0): magic '\x93NUMPY', version, little-endian header
 * length (u16 for v1, u32 for v2/3), then a Python dict literal {'descr', 'fortran_order', 'shape'} padded
 * so the data starts on a 64-byte boundary, then the raw array. Only bool/int/float arrays are supported.
 */
import { writeFileSync } from 'node:fs';
import { type HostTensor, hostBytes } from '../host-tensor.js';
import { formatError } from './errors.js';
import { ARRAY_INPUT, readFileWith } from './input-file.js';
import { hostTensorFromNumpy, numpyDescrOf, parseNumpyType } from './numpy-dtype.js';
import { checkTensor } from './tensor-util.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function isNpy(bytes: Uint8Array): boolean {
  return bytes.length >= 6 && MAGIC.every((b, i) => bytes[i] === b);
}

interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
}

/** Parses the header dict literal without eval: three known keys with simple values. */
function parseHeader(text: string): NpyHeader {
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]+)['"]/.exec(text);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) {
    if (/['"]descr['"]\s*:\s*\[/.test(text)) throw formatError('npy: structured (record) dtypes are not supported');
    throw formatError(`npy: malformed header ${JSON.stringify(text.slice(0, 120))}`);
  }
  const dims = shape[1]!.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (!dims.every((d) => /^\d+L?$/.test(d))) throw formatError(`npy: bad shape (${shape[1]})`);
  return { descr: descr[1]!, fortranOrder: fortran[1] === 'True', shape: dims.map((d) => parseInt(d, 10)) };
}

export function readNpy(bytes: Uint8Array): HostTensor {
  if (!isNpy(bytes)) throw formatError('npy: wrong magic (not a .npy file)');
  if (bytes.length < 10) throw formatError('npy: truncated header');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) { headerLen = view.getUint16(8, true); start = 10; }
  else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw formatError('npy: truncated header');
    headerLen = view.getUint32(8, true);
    start = 12;
  } else throw formatError(`npy: unsupported format version ${major}.${bytes[7]}`);
  if (start + headerLen > bytes.length) throw formatError('npy: truncated header');
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const h = parseHeader(text);
  const t = parseNumpyType(h.descr);
  const data = bytes.subarray(start + headerLen);
  const n = h.shape.reduce((a, b) => a * b, 1);
  if (data.length < n * t.itemsize) throw formatError(`npy: truncated data (shape [${h.shape.join(', ')}] needs ${n * t.itemsize} bytes, have ${data.length})`);
  return hostTensorFromNumpy(t, h.shape, data, h.fortranOrder);
}

export function writeNpy(t: HostTensor): Uint8Array {
  checkTensor(t, 'npy');
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '${numpyDescrOf(t.dtype)}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad with spaces + '\n' so magic(6) + version(2) + length(2) + header is a multiple of 64.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header + ' '.repeat(total - 10 - header.length - 1) + '\n';
  if (header.length > 0xffff) throw formatError('npy: header too long');
  const body = hostBytes(t);
  const out = new Uint8Array(10 + header.length + body.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(body, 10 + header.length);
  return out;
}

export function readNpyFile(path: string): HostTensor {
  return readFileWith(path, readNpy, ARRAY_INPUT);
}

export function writeNpyFile(path: string, t: HostTensor): void {
  writeFileSync(path, writeNpy(t));
}
