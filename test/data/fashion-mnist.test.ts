import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FASHION_MNIST_DEFAULT_ROOT, openFashionMnist, datasetFromConfig, openDataset } from '../../src/data/index.js';
import { loadConfig } from '../../src/config/index.js';

function dataErr(fn: () => unknown): Error {
  try { fn(); } catch (e) { expect((e as { code?: string }).code).toBe('ERR_DATA'); return e as Error; }
  throw new Error('expected ERR_DATA');
}

function idx(magicDims: number, dims: number[], payload: Uint8Array): Buffer {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h[2] = 0x08; h[3] = magicDims;
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([h, payload]);
}

// The real-data tests need Debian's dataset-fashion-mnist (installed on the development machine).
const HAVE_FMNIST = existsSync(join(FASHION_MNIST_DEFAULT_ROOT, 'train-images-idx3-ubyte.gz')) || existsSync(join(FASHION_MNIST_DEFAULT_ROOT, 'train-images-idx3-ubyte'));

describe.skipIf(!HAVE_FMNIST)('Fashion-MNIST from the system files', () => {
  const train = HAVE_FMNIST ? openFashionMnist({ split: 'train' }) : undefined!;
  const test = HAVE_FMNIST ? openFashionMnist({ split: 'test' }) : undefined!;

  it('sizes and first labels', () => {
    expect([train.length, train.channels, train.height, train.width]).toEqual([60000, 1, 28, 28]);
    expect(test.length).toBe(10000);
    expect(Array.from({ length: 10 }, (_, i) => train.label(i))).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    expect(Array.from({ length: 10 }, (_, i) => test.label(i))).toEqual([9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
  });

  it('first image pixels (values checked with numpy)', () => {
    const img = new Uint8Array(784);
    train.readImage(0, img, 0);
    expect(img.reduce((a, b) => a + b, 0)).toBe(76247);
    const rows = [5, 6, 7].map((y) => Array.from(img.subarray(y * 28 + 10, y * 28 + 16)));
    expect(rows).toEqual([[0, 0, 6, 0, 102, 204], [0, 0, 0, 0, 155, 236], [0, 1, 0, 69, 207, 223]]);
    test.readImage(0, img, 0);
    expect(img.reduce((a, b) => a + b, 0)).toBe(33456);
  });

  it('pixel statistics of the training set (mean 0.2860, std 0.3530)', () => {
    const img = new Uint8Array(784);
    let s = 0, s2 = 0;
    for (let i = 0; i < train.length; i++) {
      train.readImage(i, img, 0);
      for (let j = 0; j < 784; j++) { const v = img[j]!; s += v; s2 += v * v; }
    }
    const n = train.length * 784;
    const mean = s / n / 255;
    const std = Math.sqrt(s2 / n / (255 * 255) - mean * mean);
    expect(mean).toBeCloseTo(0.2860405969887955, 10);
    expect(std).toBeCloseTo(0.35302424451492237, 8);
  });

  it('via the registry and the fmnist_small config (1×28×28, padded to 32 on request)', () => {
    const c = loadConfig('fmnist_small');
    const ds = datasetFromConfig(c.data, 'test');
    expect([ds.channels, ds.height, ds.width, ds.length]).toEqual([1, 28, 28, 10000]);
    const padded = datasetFromConfig({ ...c.data, image_size: 32, num_channels: 3 }, 'test');
    expect([padded.channels, padded.height, padded.width]).toEqual([3, 32, 32]);
    const a = new Uint8Array(784), b = new Uint8Array(3 * 1024);
    ds.readImage(0, a, 0); padded.readImage(0, b, 0);
    expect(b[0]).toBe(0);
    expect(b[(2 + 5) * 32 + 2 + 14]).toBe(a[5 * 28 + 14]);
    expect(b[2 * 1024 + (2 + 5) * 32 + 2 + 14]).toBe(a[5 * 28 + 14]);
    const small = datasetFromConfig({ ...c.data, image_size: 14 }, 'test');
    small.readImage(0, b, 0);
    const box = (a[10 * 28 + 12]! + a[10 * 28 + 13]! + a[11 * 28 + 12]! + a[11 * 28 + 13]!) / 4;
    expect(b[5 * 14 + 6]).toBe(Math.round(box));
    expect(openDataset('FashionMNIST', { split: 'test' }).length).toBe(10000);
  });
});

describe('Fashion-MNIST files: plain and gzipped, and errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scoreflow-fmnist-'));
  const imgs = new Uint8Array(3 * 28 * 28).map((_, i) => (i * 13) & 0xff);
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), idx(3, [3, 28, 28], imgs));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idx(1, [3], Uint8Array.from([4, 0, 9]))));

  it('reads uncompressed and gzipped files side by side', () => {
    const ds = openFashionMnist({ root: dir, split: 'train' });
    expect(ds.length).toBe(3);
    expect([ds.label(0), ds.label(1), ds.label(2)]).toEqual([4, 0, 9]);
    const out = new Uint8Array(784);
    ds.readImage(2, out, 0);
    expect(Array.from(out)).toEqual(Array.from(imgs.subarray(2 * 784)));
  });

  it.skipIf(!HAVE_FMNIST)('matches the real gzipped file when it is decompressed', () => {
    const raw = gunzipSync(readFileSync(join(FASHION_MNIST_DEFAULT_ROOT, 't10k-labels-idx1-ubyte.gz')));
    const d2 = mkdtempSync(join(tmpdir(), 'scoreflow-fmnist-'));
    writeFileSync(join(d2, 't10k-labels-idx1-ubyte'), raw);
    writeFileSync(join(d2, 't10k-images-idx3-ubyte.gz'), readFileSync(join(FASHION_MNIST_DEFAULT_ROOT, 't10k-images-idx3-ubyte.gz')));
    const ds = openFashionMnist({ root: d2, split: 'test' });
    expect(ds.label(0)).toBe(9);
    expect(ds.length).toBe(10000);
  });

  it('missing folder / files say what was expected and where', () => {
    let e = dataErr(() => openFashionMnist({ root: '/nonexistent/fm', split: 'train' }));
    expect(e.message).toContain('/nonexistent/fm');
    expect(e.message).toContain('train-images-idx3-ubyte[.gz]');
    e = dataErr(() => openFashionMnist({ root: dir, split: 'test' }));
    expect(e.message).toContain(`Fashion-MNIST not found under ${dir}`);
    expect(e.message).toContain('t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]');
  });

  it('malformed files: truncated, bad magic, label mismatch, corrupt gzip', () => {
    const bad = mkdtempSync(join(tmpdir(), 'scoreflow-fmnist-bad-'));
    writeFileSync(join(bad, 'train-images-idx3-ubyte'), idx(3, [3, 28, 28], imgs.subarray(0, 1000)));
    writeFileSync(join(bad, 'train-labels-idx1-ubyte'), idx(1, [3], Uint8Array.from([1, 2, 3])));
    expect(dataErr(() => openFashionMnist({ root: bad, split: 'train' })).message).toMatch(/truncated/);
    writeFileSync(join(bad, 'train-images-idx3-ubyte'), Buffer.from('GIF89a...........'));
    expect(dataErr(() => openFashionMnist({ root: bad, split: 'train' })).message).toContain('bad magic number');
    writeFileSync(join(bad, 'train-images-idx3-ubyte'), idx(3, [3, 28, 28], imgs));
    writeFileSync(join(bad, 'train-labels-idx1-ubyte'), idx(1, [2], Uint8Array.from([1, 2])));
    expect(dataErr(() => openFashionMnist({ root: bad, split: 'train' })).message).toContain('3 images but');
    writeFileSync(join(bad, 'train-labels-idx1-ubyte'), gzipSync(idx(1, [3], Uint8Array.from([1, 2, 3]))).subarray(0, 20));
    expect(dataErr(() => openFashionMnist({ root: bad, split: 'train' })).message).toContain('does not decompress');
  });
});
