/**
 * A folder of PNG images (config.data.dataset = 'ImageFolder', config.data.root = the folder).
 *  - If the folder has `train/` and `test/` subfolders they are the splits; otherwise every PNG under it is
 *    used and split deterministically: in sorted path order, every 10th image (index % 10 == 9) is test.
 *  - Labels: like torchvision's ImageFolder, the first-level subfolders of a split are the classes (sorted
 *    names → 0, 1, ...); images directly in the split folder get label -1.
 *  - All images must have the same size. Alpha is dropped; the dataset is RGB if any image has colour,
 *    otherwise gray. Decoded once, kept in memory.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DataError } from '../errors.js';
import { decodePng } from '../png.js';
import { ChunkedImageDataset, type ImageDataset, type OpenOptions } from '../types.js';

function listPngs(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (/\.png$/i.test(e)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

export function openImageFolder(opts: OpenOptions): ImageDataset {
  const root = opts.root;
  if (!root) throw new DataError('ImageFolder needs a folder: pass --config.data.root=<folder of .png images>');
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new DataError(`ImageFolder: ${root} is not a folder; expected a folder of .png images (optionally with train/ and test/ subfolders)`);
  let base = root;
  let files: string[];
  const splitDir = join(root, opts.split);
  if (existsSync(join(root, 'train')) && existsSync(join(root, 'test'))) {
    base = splitDir;
    files = listPngs(splitDir);
  } else {
    files = listPngs(root).filter((_, i) => (i % 10 === 9) === (opts.split === 'test'));
  }
  if (files.length === 0) throw new DataError(`ImageFolder: no .png images for split '${opts.split}' under ${base} (expected *.png files${base === root ? '; with fewer than 10 images the test split is empty' : ''})`);
  const classNames = [...new Set(files.map((f) => relative(base, f).split(/[\\/]/)).filter((p) => p.length > 1).map((p) => p[0]!))].sort();
  const decoded = files.map((f) => decodePng(new Uint8Array(readFileSync(f)), f));
  const { width: w, height: h } = decoded[0]!;
  decoded.forEach((d, i) => {
    if (d.width !== w || d.height !== h) throw new DataError(`ImageFolder: all images must have the same size; ${files[0]} is ${w}×${h} but ${files[i]} is ${d.width}×${d.height}`);
  });
  const isColor = (d: { channels: number }): boolean => d.channels >= 3;
  const C = decoded.some(isColor) ? 3 : 1;
  const plane = w * h;
  const images = new Uint8Array(files.length * C * plane);
  const labels = new Int32Array(files.length);
  decoded.forEach((d, i) => {
    const off = i * C * plane;
    for (let c = 0; c < C; c++) {
      const sc = isColor(d) ? c : 0; // gray replicated into RGB
      for (let p = 0; p < plane; p++) images[off + c * plane + p] = d.data[p * d.channels + sc]!;
    }
    const parts = relative(base, files[i]!).split(/[\\/]/);
    labels[i] = parts.length > 1 ? classNames.indexOf(parts[0]!) : -1;
  });
  return new ChunkedImageDataset('ImageFolder', opts.split, C, h, w, [{ images, labels }], `${base} (${files.length} PNG files)`);
}
