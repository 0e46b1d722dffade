/**
 * CIFAR-10, either distribution:
 *  - binary: cifar-10-batches-bin/data_batch_1.bin .. data_batch_5.bin, test_batch.bin; records of
 *    1 label byte + 3072 pixel bytes (1024 R, 1024 G, 1024 B, each row-major 32×32);
 *  - python: cifar-10-batches-py/data_batch_1 .. 5, test_batch; pickled dicts (protocol 2, as written by
 *    Python 2's cPickle) with b'data' a uint8 numpy array [10000, 3072] (same CHW layout) and b'labels' a list.
 * `root` may be either batches folder itself or a folder containing it. Default root: ./data/cifar10.
 * 50,000 train / 10,000 test, 3×32×32, labels 0..9.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { ChunkedImageDataset, type ImageDataset, type OpenOptions } from '../types.js';
import { readCifarPythonBatch } from './cifar10-python.js';

export const CIFAR10_DEFAULT_ROOT = 'data/cifar10';
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;

const RECORD = 1 + 3072;

function batchNames(split: 'train' | 'test'): string[] {
  return split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}`) : ['test_batch'];
}

/** Parses one binary batch file. */
export function parseCifarBinaryBatch(bytes: Uint8Array, path: string): { images: Uint8Array; labels: Int32Array } {
  if (bytes.length === 0 || bytes.length % RECORD !== 0) {
    throw new DataError(`CIFAR-10 binary batch ${path}: ${bytes.length} bytes is not a whole number of ${RECORD}-byte records (1 label byte + 3072 pixels); expected 30730000 bytes for 10000 images (truncated or not a CIFAR-10 .bin file?)`);
  }
  const n = bytes.length / RECORD;
  const images = new Uint8Array(n * 3072);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const l = bytes[i * RECORD]!;
    if (l > 9) throw new DataError(`CIFAR-10 binary batch ${path}: label ${l} in record ${i}, expected 0..9 (is this the CIFAR-100 binary format?)`);
    labels[i] = l;
    images.set(bytes.subarray(i * RECORD + 1, (i + 1) * RECORD), i * 3072);
  }
  return { images, labels };
}

type Layout = { kind: 'binary' | 'python'; dir: string };

function detect(root: string, split: 'train' | 'test'): Layout | undefined {
  const first = batchNames(split)[0]!;
  for (const dir of [root, join(root, 'cifar-10-batches-bin'), join(root, 'cifar-10-batches-py')]) {
    if (existsSync(join(dir, `${first}.bin`))) return { kind: 'binary', dir };
    const p = join(dir, first);
    if (existsSync(p) && statSync(p).isFile()) return { kind: 'python', dir };
  }
  return undefined;
}

export function openCifar10(opts: OpenOptions): ImageDataset {
  const root = opts.root ?? CIFAR10_DEFAULT_ROOT;
  const names = batchNames(opts.split);
  const hint = opts.root ? 'check --config.data.root' : 'download it from https://www.cs.toronto.edu/~kriz/cifar.html and pass --config.data.root=<folder>';
  const layout = detect(root, opts.split);
  if (!layout) {
    throw new DataError(`CIFAR-10 not found under ${root}: expected ${names.map((n) => `${n}.bin`).join(', ')} (binary version, possibly in cifar-10-batches-bin/) or ${names.join(', ')} (python version, possibly in cifar-10-batches-py/) (${hint})`);
  }
  const chunks: { images: Uint8Array; labels: Int32Array }[] = [];
  const files: string[] = [];
  for (const n of names) {
    const p = join(layout.dir, layout.kind === 'binary' ? `${n}.bin` : n);
    if (!existsSync(p)) throw new DataError(`CIFAR-10 (${layout.kind} version) under ${layout.dir}: missing ${layout.kind === 'binary' ? `${n}.bin` : n}; expected ${names.map((x) => (layout.kind === 'binary' ? `${x}.bin` : x)).join(', ')}`);
    const bytes = new Uint8Array(readFileSync(p));
    chunks.push(layout.kind === 'binary' ? parseCifarBinaryBatch(bytes, p) : readCifarPythonBatch(bytes, p));
    files.push(p);
  }
  return new ChunkedImageDataset('CIFAR10', opts.split, 3, 32, 32, chunks, files.join(', '));
}
