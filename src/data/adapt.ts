/**
 * Adapts a dataset's images to the configured `data.num_channels` and `data.image_size`:
 *  - channels: 1 → 3 replicates the gray plane; 3 → 1 uses ITU-R 601-2 luma (PIL's convert('L'):
 *    (299·R + 587·G + 114·B)/1000, truncated);
 *  - size: a larger target zero-pads symmetrically (e.g. Fashion-MNIST 28 → 32, two pixels each side);
 *    a smaller one that divides the native size box-averages (k×k mean, rounded); anything else is an error.
 */
import { DataError } from './errors.js';
import type { ImageDataset } from './types.js';

export function adaptDataset(ds: ImageDataset, numChannels: number, imageSize: number): ImageDataset {
  if (ds.channels === numChannels && ds.height === imageSize && ds.width === imageSize) return ds;
  if (ds.channels !== numChannels && !(ds.channels === 1 && numChannels === 3) && !(ds.channels === 3 && numChannels === 1)) {
    throw new DataError(`${ds.name}: images have ${ds.channels} channels; cannot convert to data.num_channels=${numChannels} (supported: 1↔3)`);
  }
  if (ds.height !== ds.width) {
    if (ds.height !== imageSize || ds.width !== imageSize) {
      throw new DataError(`${ds.name}: images are ${ds.height}×${ds.width} (not square); cannot bring them to data.image_size=${imageSize}`);
    }
  }
  const native = ds.height;
  let mode: 'same' | 'pad' | 'box';
  if (imageSize === native) mode = 'same';
  else if (imageSize > native) {
    if ((imageSize - native) % 2 !== 0) throw new DataError(`${ds.name}: cannot pad ${native}×${native} images symmetrically to data.image_size=${imageSize} (odd difference)`);
    mode = 'pad';
  } else {
    if (native % imageSize !== 0) throw new DataError(`${ds.name}: images are ${native}×${native}; data.image_size=${imageSize} must be larger (zero padding) or divide ${native} (box downsampling)`);
    mode = 'box';
  }
  const cIn = ds.channels, hIn = ds.height, wIn = ds.width;
  const cOut = numChannels, s = imageSize;
  const tmp = new Uint8Array(cIn * hIn * wIn);
  const sized = new Uint8Array(cIn * s * s);
  const readImage = (i: number, dst: Uint8Array, off: number): void => {
    ds.readImage(i, tmp, 0);
    let src = tmp;
    if (mode === 'pad') {
      sized.fill(0);
      const p = (s - native) / 2;
      for (let c = 0; c < cIn; c++)
        for (let y = 0; y < hIn; y++)
          sized.set(tmp.subarray((c * hIn + y) * wIn, (c * hIn + y + 1) * wIn), (c * s + y + p) * s + p);
      src = sized;
    } else if (mode === 'box') {
      const k = native / s;
      for (let c = 0; c < cIn; c++)
        for (let y = 0; y < s; y++)
          for (let x = 0; x < s; x++) {
            let acc = 0;
            for (let dy = 0; dy < k; dy++)
              for (let dx = 0; dx < k; dx++) acc += tmp[(c * hIn + y * k + dy) * wIn + x * k + dx]!;
            sized[(c * s + y) * s + x] = Math.round(acc / (k * k));
          }
      src = sized;
    }
    const plane = s * s;
    if (cIn === cOut) dst.set(src.subarray(0, cIn * plane), off);
    else if (cIn === 1) for (let c = 0; c < 3; c++) dst.set(src.subarray(0, plane), off + c * plane);
    else for (let j = 0; j < plane; j++) {
      dst[off + j] = Math.trunc((src[j]! * 299 + src[plane + j]! * 587 + src[2 * plane + j]! * 114) / 1000);
    }
  };
  return {
    name: ds.name, split: ds.split, length: ds.length, channels: cOut, height: s, width: s,
    source: `${ds.source} (adapted ${cIn}×${hIn}×${wIn} → ${cOut}×${s}×${s})`,
    readImage, label: (i) => ds.label(i),
  };
}

/**
 * The first `count` images of a dataset (or the given indices), e.g. a quick CPU evaluation on part of a
 * test set. The view reads through to the underlying dataset.
 */
export function subsetDataset(ds: ImageDataset, countOrIndices: number | ArrayLike<number>): ImageDataset {
  let map: Int32Array;
  if (typeof countOrIndices === 'number') {
    if (!Number.isInteger(countOrIndices) || countOrIndices < 0) throw new RangeError(`subsetDataset: count must be a non-negative integer, received ${countOrIndices}`);
    map = Int32Array.from({ length: Math.min(countOrIndices, ds.length) }, (_, i) => i);
  } else {
    map = Int32Array.from(countOrIndices);
    for (const i of map) if (i < 0 || i >= ds.length) throw new RangeError(`subsetDataset: index ${i} out of range [0, ${ds.length})`);
  }
  const at = (i: number): number => {
    if (!Number.isInteger(i) || i < 0 || i >= map.length) throw new RangeError(`${ds.name} subset: index ${i} out of range [0, ${map.length})`);
    return map[i]!;
  };
  return {
    name: ds.name, split: ds.split, length: map.length, channels: ds.channels, height: ds.height, width: ds.width,
    source: `${ds.source} (subset of ${map.length})`,
    readImage: (i, dst, off) => ds.readImage(at(i), dst, off),
    label: (i) => ds.label(at(i)),
  };
}
