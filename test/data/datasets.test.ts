import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  encodePng, openCifar10, openDataset, openImageFolder, openImageNet32, parseCifarBinaryBatch, datasetNames, adaptDataset,
  ChunkedImageDataset, subsetDataset,
} from '../../src/data/index.js';

const FIX = join(import.meta.dirname, 'fixtures');

function dataErr(fn: () => unknown): Error {
  try { fn(); } catch (e) { expect((e as { code?: string }).code).toBe('ERR_DATA'); return e as Error; }
  throw new Error('expected ERR_DATA');
}

function image(ds: { channels: number; height: number; width: number; readImage(i: number, d: Uint8Array, o: number): void }, i: number): Uint8Array {
  const b = new Uint8Array(ds.channels * ds.height * ds.width);
  ds.readImage(i, b, 0);
  return b;
}

function fakeBinaryCifar(dir: string, perBatch: number): void {
  const names = ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch'];
  names.forEach((n, b) => {
    const buf = new Uint8Array(perBatch * 3073);
    for (let r = 0; r < perBatch; r++) {
      buf[r * 3073] = (b + r) % 10;
      for (let j = 0; j < 3072; j++) buf[r * 3073 + 1 + j] = (j + 7 * r + 50 * b) & 0xff;
    }
    writeFileSync(join(dir, `${n}.bin`), buf);
  });
}

describe('CIFAR-10', () => {
  it('binary version: records, CHW layout, labels, folder detection', () => {
    const root = mkdtempSync(join(tmpdir(), 'scoreflow-cifar-'));
    const dir = join(root, 'cifar-10-batches-bin');
    mkdirSync(dir);
    fakeBinaryCifar(dir, 3);
    const train = openCifar10({ root, split: 'train' });
    expect([train.length, train.channels, train.height, train.width]).toEqual([15, 3, 32, 32]);
    expect(train.label(4)).toBe((1 + 1) % 10); // batch 2, record 1
    const img = image(train, 4);
    expect(img[0]).toBe((0 + 7 + 50) & 0xff);
    expect(img[1024]).toBe((1024 + 7 + 50) & 0xff); // G plane
    const test = openDataset('CIFAR10', { root: dir, split: 'test' });
    expect(test.length).toBe(3);
    expect(test.label(2)).toBe((5 + 2) % 10);
  });

  it('binary version errors: wrong size, bad label, missing batch, missing folder', () => {
    const path = 'x.bin';
    expect(dataErr(() => parseCifarBinaryBatch(new Uint8Array(3073 * 2 - 1), path)).message).toContain('not a whole number of 3073-byte records');
    const bad = new Uint8Array(3073); bad[0] = 42;
    expect(dataErr(() => parseCifarBinaryBatch(bad, path)).message).toContain('label 42');
    const root = mkdtempSync(join(tmpdir(), 'scoreflow-cifar-'));
    fakeBinaryCifar(root, 1);
    writeFileSync(join(root, 'data_batch_3.bin'), new Uint8Array(0));
    expect(dataErr(() => openCifar10({ root, split: 'train' })).message).toContain('data_batch_3.bin');
    const e = dataErr(() => openCifar10({ root: '/nonexistent/cifar', split: 'train' }));
    expect(e.message).toContain('CIFAR-10 not found under /nonexistent/cifar');
    expect(e.message).toContain('data_batch_1.bin');
    expect(e.message).toContain('cifar-10-batches-py');
  });

  it('python version (cPickle protocol 2 batches) matches the numpy-side values', () => {
    const exp = JSON.parse(readFileSync(join(FIX, 'cifar-10-batches-py', 'expected.json'), 'utf8')) as Record<string, { labels: number[]; sum: number; first: number[] }>;
    const train = openCifar10({ root: FIX, split: 'train' });
    const test = openCifar10({ root: join(FIX, 'cifar-10-batches-py'), split: 'test' });
    expect(train.length).toBe(10);
    expect(test.length).toBe(3);
    const names = ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5'];
    names.forEach((n, b) => {
      expect([train.label(2 * b), train.label(2 * b + 1)]).toEqual(exp[n]!.labels);
      const a = image(train, 2 * b), c = image(train, 2 * b + 1);
      expect(Array.from(a.subarray(0, 8))).toEqual(exp[n]!.first);
      expect(a.reduce((s, v) => s + v, 0) + c.reduce((s, v) => s + v, 0)).toBe(exp[n]!.sum);
    });
    expect([0, 1, 2].map((i) => test.label(i))).toEqual(exp.test_batch!.labels);
  });

  it('python version re-pickled by Python 3 (protocol 4, bytes keys)', () => {
    const exp = JSON.parse(readFileSync(join(FIX, 'cifar-10-batches-py', 'expected.json'), 'utf8')) as Record<string, { labels: number[]; first: number[] }>;
    const dir = mkdtempSync(join(tmpdir(), 'scoreflow-cifarpy3-'));
    copyFileSync(join(FIX, 'cifar-py3', 'test_batch'), join(dir, 'test_batch'));
    const test = openCifar10({ root: dir, split: 'test' });
    expect([0, 1, 2].map((i) => test.label(i))).toEqual(exp.test_batch!.labels);
    expect(Array.from(image(test, 0).subarray(0, 8))).toEqual(exp.test_batch!.first);
  });

  it('python version errors: not a pickle, wrong content', () => {
    const root = mkdtempSync(join(tmpdir(), 'scoreflow-cifarpy-'));
    for (const f of readdirSync(join(FIX, 'cifar-10-batches-py'))) copyFileSync(join(FIX, 'cifar-10-batches-py', f), join(root, f));
    writeFileSync(join(root, 'test_batch'), 'hello');
    expect(dataErr(() => openCifar10({ root, split: 'test' })).message).toMatch(/test_batch: not a readable pickle/);
    copyFileSync(join(root, 'batches.meta'), join(root, 'test_batch'));
    expect(dataErr(() => openCifar10({ root, split: 'test' })).message).toContain("missing 'data'");
  });
});

describe('ImageNet 32×32 (npz batches)', () => {
  const exp = JSON.parse(readFileSync(join(FIX, 'imagenet32', 'expected.json'), 'utf8')) as Record<string, { labels: number[]; first: number[] }>;

  it('reads train (10 files, stored and deflated) and val, labels 0-based', () => {
    const train = openImageNet32({ root: join(FIX, 'imagenet32'), split: 'train' });
    expect(train.length).toBe(11);
    expect([train.label(0), train.label(1)]).toEqual(exp.train_data_batch_1!.labels.map((l) => l - 1));
    expect(train.label(2)).toBe(exp.train_data_batch_2!.labels[0]! - 1);
    expect(Array.from(image(train, 2).subarray(0, 4))).toEqual(exp.train_data_batch_2!.first);
    expect(Array.from(image(train, 10).subarray(0, 4))).toEqual(exp.train_data_batch_10!.first);
    const val = openDataset('ImageNet', { root: join(FIX, 'imagenet32'), split: 'test' });
    expect([val.label(0), val.label(1), val.label(2)]).toEqual([0, 999, 499]);
    expect(Array.from(image(val, 0).subarray(0, 4))).toEqual(exp.val_data!.first);
  });

  it('errors: missing folder / file, wrong arrays', () => {
    let e = dataErr(() => openImageNet32({ root: '/nonexistent/in32', split: 'train' }));
    expect(e.message).toContain('train_data_batch_1.npz');
    const root = mkdtempSync(join(tmpdir(), 'scoreflow-in32-'));
    copyFileSync(join(FIX, 'imagenet32', 'train_data_batch_1.npz'), join(root, 'train_data_batch_1.npz'));
    e = dataErr(() => openImageNet32({ root, split: 'train' }));
    expect(e.message).toContain('missing train_data_batch_2.npz');
    writeFileSync(join(root, 'val_data.npz'), 'not a zip');
    expect(dataErr(() => openImageNet32({ root, split: 'test' })).message).toContain('not a readable .npz');
  });
});

describe('ImageFolder of PNGs', () => {
  it('train/test subfolders, class subfolders as labels, gray replicated into RGB', () => {
    const root = mkdtempSync(join(tmpdir(), 'scoreflow-folder-'));
    for (const split of ['train', 'test']) for (const cls of ['cat', 'dog']) mkdirSync(join(root, split, cls), { recursive: true });
    const rgb = (v: number): Buffer => encodePng({ width: 4, height: 4, channels: 3, data: new Uint8Array(48).map((_, i) => (v + i) & 0xff) });
    const gray = (v: number): Buffer => encodePng({ width: 4, height: 4, channels: 1, data: new Uint8Array(16).fill(v) });
    writeFileSync(join(root, 'train', 'cat', 'a.png'), rgb(10));
    writeFileSync(join(root, 'train', 'dog', 'b.png'), gray(200));
    writeFileSync(join(root, 'train', 'dog', 'notes.txt'), 'ignored');
    writeFileSync(join(root, 'test', 'dog', 'c.png'), rgb(0));
    const ds = openImageFolder({ root, split: 'train' });
    expect([ds.length, ds.channels, ds.height, ds.width]).toEqual([2, 3, 4, 4]);
    expect([ds.label(0), ds.label(1)]).toEqual([0, 1]);
    const a = image(ds, 0);
    expect([a[0], a[16], a[32], a[1]]).toEqual([10, 11, 12, 13]); // HWC → CHW
    const b = image(ds, 1);
    expect([b[0], b[16], b[32]]).toEqual([200, 200, 200]);
    expect(openDataset('ImageFolder', { root, split: 'test' }).length).toBe(1);
  });

  it('flat folder: deterministic 1-in-10 test split; errors', () => {
    const root = mkdtempSync(join(tmpdir(), 'scoreflow-flat-'));
    for (let i = 0; i < 12; i++) writeFileSync(join(root, `im${String(i).padStart(2, '0')}.png`), encodePng({ width: 2, height: 2, channels: 1, data: new Uint8Array(4).fill(i) }));
    const train = openImageFolder({ root, split: 'train' });
    const test = openImageFolder({ root, split: 'test' });
    expect([train.length, test.length]).toEqual([11, 1]);
    expect(image(test, 0)[0]).toBe(9);
    expect(test.label(0)).toBe(-1);
    writeFileSync(join(root, 'im99.png'), encodePng({ width: 3, height: 2, channels: 1, data: new Uint8Array(6) }));
    expect(dataErr(() => openImageFolder({ root, split: 'train' })).message).toContain('same size');
    expect(dataErr(() => openImageFolder({ root: null, split: 'train' })).message).toContain('--config.data.root');
    expect(dataErr(() => openImageFolder({ root: '/nonexistent/x', split: 'train' })).message).toContain('not a folder');
    const empty = mkdtempSync(join(tmpdir(), 'scoreflow-empty-'));
    expect(dataErr(() => openImageFolder({ root: empty, split: 'train' })).message).toContain('no .png images');
  });
});

describe('registry and adaptation', () => {
  it('lists datasets and rejects unknown names', () => {
    expect(datasetNames()).toEqual(expect.arrayContaining(['FashionMNIST', 'CIFAR10', 'ImageNet', 'ImageFolder']));
    expect(dataErr(() => openDataset('MNIST', { split: 'train' })).message).toContain('registered datasets: FashionMNIST');
  });

  it('subsetDataset: first n, or chosen indices', () => {
    const ds = new ChunkedImageDataset('t', 'test', 1, 1, 2, [{ images: Uint8Array.from([0, 1, 10, 11, 20, 21]), labels: Int32Array.from([5, 6, 7]) }], 'mem');
    const first = subsetDataset(ds, 2);
    expect([first.length, first.label(1)]).toEqual([2, 6]);
    const pick = subsetDataset(ds, [2, 0]);
    expect(Array.from(image(pick, 0))).toEqual([20, 21]);
    expect(pick.label(1)).toBe(5);
    expect(subsetDataset(ds, 99).length).toBe(3);
    expect(() => subsetDataset(ds, [3])).toThrow(RangeError);
    expect(() => first.label(2)).toThrow(RangeError);
  });

  it('RGB → gray uses ITU-R 601-2 luma; bad sizes are errors', () => {
    const rgb = new ChunkedImageDataset('t', 'train', 3, 2, 2, [{ images: Uint8Array.from([255, 0, 10, 20, 0, 255, 30, 40, 0, 0, 50, 60]), labels: null }], 'mem');
    const g = adaptDataset(rgb, 1, 2);
    expect(Array.from(image(g, 0))).toEqual([76, 149, Math.trunc((10 * 299 + 30 * 587 + 50 * 114) / 1000), Math.trunc((20 * 299 + 40 * 587 + 60 * 114) / 1000)]);
    expect(g.label(0)).toBe(-1);
    expect(dataErr(() => adaptDataset(rgb, 3, 3)).message).toContain('odd difference');
    const six = new ChunkedImageDataset('t', 'train', 1, 6, 6, [{ images: new Uint8Array(36), labels: null }], 'mem');
    expect(dataErr(() => adaptDataset(six, 1, 4)).message).toContain('must be larger');
  });
});
