/**
 * Fashion-MNIST in the IDX format (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-*), gzipped or not.
 * Default location: /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist).
 * 60,000 train / 10,000 test images, 1×28×28, labels 0..9.
 */
import { existsSync } from 'node:fs';
import { DataError } from '../errors.js';
import { findMaybeGz, readMaybeGz } from '../io.js';
import { ChunkedImageDataset, type ImageDataset, type OpenOptions } from '../types.js';

export const FASHION_MNIST_DEFAULT_ROOT = '/usr/share/datasets/fashion-mnist';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;

/** Parses an IDX file of unsigned bytes; returns its dims and payload. */
export function parseIdx(bytes: Uint8Array, path: string, expectedDims: number): { dims: number[]; data: Uint8Array } {
  const what = `IDX file ${path}`;
  if (bytes.length < 4) throw new DataError(`${what} is truncated: ${bytes.length} bytes, expected a 4-byte magic number and a header`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new DataError(`${what}: bad magic number 0x${hex(bytes, 4)}, expected 0x0000080${expectedDims} (not an IDX file?)`);
  if (bytes[2] !== 0x08) throw new DataError(`${what}: element type 0x${bytes[2]!.toString(16).padStart(2, '0')}, expected 0x08 (unsigned byte)`);
  const nd = bytes[3]!;
  if (nd !== expectedDims) throw new DataError(`${what}: ${nd} dimensions, expected ${expectedDims}`);
  const headerLen = 4 + 4 * nd;
  if (bytes.length < headerLen) throw new DataError(`${what} is truncated: ${bytes.length} bytes, header needs ${headerLen}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < nd; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const n = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== headerLen + n) {
    throw new DataError(`${what}: header says [${dims.join(', ')}] = ${n} bytes of data, file has ${bytes.length - headerLen}${bytes.length < headerLen + n ? ' (truncated)' : ''}`);
  }
  return { dims, data: bytes.subarray(headerLen) };
}

function hex(b: Uint8Array, n: number): string {
  return Array.from(b.subarray(0, n), (x) => x.toString(16).padStart(2, '0')).join('');
}

export function openFashionMnist(opts: OpenOptions): ImageDataset {
  const root = opts.root ?? FASHION_MNIST_DEFAULT_ROOT;
  const prefix = opts.split === 'train' ? 'train' : 't10k';
  const imgName = `${prefix}-images-idx3-ubyte`;
  const lblName = `${prefix}-labels-idx1-ubyte`;
  const hint = opts.root ? 'check --config.data.root' : 'install Debian package dataset-fashion-mnist or pass --config.data.root=<folder>';
  if (!existsSync(root)) {
    throw new DataError(`Fashion-MNIST not found: folder ${root} does not exist; expected ${imgName}[.gz] and ${lblName}[.gz] there (${hint})`);
  }
  const imgPath = findMaybeGz(root, imgName);
  const lblPath = findMaybeGz(root, lblName);
  if (!imgPath || !lblPath) {
    const missing = [!imgPath ? `${imgName}[.gz]` : '', !lblPath ? `${lblName}[.gz]` : ''].filter(Boolean).join(' and ');
    throw new DataError(`Fashion-MNIST not found under ${root}: expected ${missing} (${hint})`);
  }
  const img = parseIdx(readMaybeGz(imgPath), imgPath, 3);
  const lbl = parseIdx(readMaybeGz(lblPath), lblPath, 1);
  const [n, h, w] = img.dims as [number, number, number];
  if (lbl.dims[0] !== n) throw new DataError(`Fashion-MNIST under ${root}: ${imgPath} has ${n} images but ${lblPath} has ${lbl.dims[0]} labels`);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = lbl.data[i]!;
    if (v > 9) throw new DataError(`Fashion-MNIST labels ${lblPath}: label ${v} at index ${i}, expected 0..9`);
    labels[i] = v;
  }
  return new ChunkedImageDataset('FashionMNIST', opts.split, 1, h, w, [{ images: img.data, labels }], `${imgPath}, ${lblPath}`);
}
