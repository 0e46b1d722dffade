/**
 * Downsampled ImageNet 32×32 (Chrabaszcz et al. 2017, image-net.org "Imagenet32_train_npz" / "Imagenet32_val_npz"):
 * train_data_batch_1.npz .. train_data_batch_10.npz and val_data.npz, each with 'data' uint8 [N, 3072]
 * (1024 R, 1024 G, 1024 B per row, i.e. CHW) and 'labels' (1..1000; returned 0-based). The references train
 * on tfds downsampled_imagenet/32x32 (train / validation, no labels); 'test' here is the validation set.
 * `root` may be the folder holding the files or one with Imagenet32_train_npz/ and Imagenet32_val_npz/.
 * Default root: ./data/imagenet32.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { ChunkedImageDataset, type ImageDataset, type OpenOptions } from '../types.js';
import { readNpzArrays } from './npz-source.js';

export const IMAGENET32_DEFAULT_ROOT = 'data/imagenet32';

function fileNames(split: 'train' | 'test'): string[] {
  return split === 'train' ? Array.from({ length: 10 }, (_, i) => `train_data_batch_${i + 1}.npz`) : ['val_data.npz'];
}

function findDir(root: string, split: 'train' | 'test'): string | undefined {
  const first = fileNames(split)[0]!;
  for (const d of [root, join(root, split === 'train' ? 'Imagenet32_train_npz' : 'Imagenet32_val_npz'), join(root, 'Imagenet32_train_npz'), join(root, 'Imagenet32_val_npz')]) {
    if (existsSync(join(d, first))) return d;
  }
  return undefined;
}

export function openImageNet32(opts: OpenOptions): ImageDataset {
  const root = opts.root ?? IMAGENET32_DEFAULT_ROOT;
  const names = fileNames(opts.split);
  const hint = opts.root ? 'check --config.data.root' : 'download Imagenet32_train_npz / Imagenet32_val_npz from https://image-net.org/download-images and pass --config.data.root=<folder>';
  const dir = findDir(root, opts.split);
  if (!dir) throw new DataError(`ImageNet 32×32 not found under ${root}: expected ${opts.split === 'train' ? 'train_data_batch_1.npz .. train_data_batch_10.npz' : 'val_data.npz'} (possibly in ${opts.split === 'train' ? 'Imagenet32_train_npz' : 'Imagenet32_val_npz'}/) (${hint})`);
  const chunks: { images: Uint8Array; labels: Int32Array }[] = [];
  const files: string[] = [];
  for (const n of names) {
    const p = join(dir, n);
    if (!existsSync(p)) {
      // a partial download of the training batches is allowed only if the run asks for it explicitly
      throw new DataError(`ImageNet 32×32 under ${dir}: missing ${n}; expected ${names.join(', ')}`);
    }
    const arrays = readNpzArrays(p, ['data', 'labels']);
    const data = arrays.data!;
    const lbl = arrays.labels!;
    if (data.dtype !== 'uint8' || data.shape.length !== 2 || data.shape[1] !== 3072) {
      throw new DataError(`ImageNet 32×32 file ${p}: 'data' is ${data.dtype} [${data.shape.join(', ')}], expected uint8 [N, 3072]`);
    }
    const N = data.shape[0]!;
    const labels = new Int32Array(N);
    if (lbl.shape.reduce((a, b) => a * b, 1) !== N) throw new DataError(`ImageNet 32×32 file ${p}: ${N} images but ${lbl.shape.reduce((a, b) => a * b, 1)} labels`);
    for (let i = 0; i < N; i++) {
      const v = Number(lbl.data[i]!);
      if (!Number.isInteger(v) || v < 1 || v > 1000) throw new DataError(`ImageNet 32×32 file ${p}: label ${v} at index ${i}, expected 1..1000`);
      labels[i] = v - 1;
    }
    chunks.push({ images: data.data as Uint8Array, labels });
    files.push(p);
  }
  return new ChunkedImageDataset('ImageNet', opts.split, 3, 32, 32, chunks, files.join(', '));
}
