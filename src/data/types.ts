/**
 * A dataset of 8-bit images held in memory, channel-first (C, H, W per image), with integer labels.
 * Loaders in ./datasets produce these; the pipeline (./pipeline.ts) turns them into float batches.
 */
export type Split = 'train' | 'test';

export interface ImageDataset {
  /** Registry name, e.g. 'FashionMNIST'. */
  readonly name: string;
  readonly split: Split;
  readonly length: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  /** Where the data came from (files / folder), for messages and logs. */
  readonly source: string;
  /** Copies image i (uint8, C×H×W, row-major) into dst starting at dstOffset. */
  readImage(i: number, dst: Uint8Array, dstOffset: number): void;
  /** Label of image i (class index, 0-based), or -1 when the dataset has no labels. */
  label(i: number): number;
}

export interface OpenOptions {
  /** Folder holding the files; null/undefined = the dataset's default location. */
  root?: string | null;
  split: Split;
}

/**
 * Images stored as a list of contiguous uint8 chunks (one per source file: CIFAR batches, ImageNet npz files),
 * each chunk N_k × C × H × W, plus labels.
 */
export class ChunkedImageDataset implements ImageDataset {
  readonly length: number;
  private readonly starts: number[] = [];
  private readonly imageSize: number;

  constructor(
    readonly name: string,
    readonly split: Split,
    readonly channels: number,
    readonly height: number,
    readonly width: number,
    private readonly chunks: { images: Uint8Array; labels: Int32Array | null }[],
    readonly source: string,
  ) {
    this.imageSize = channels * height * width;
    let n = 0;
    for (const c of chunks) {
      const k = c.images.length / this.imageSize;
      if (!Number.isInteger(k)) throw new Error(`chunk of ${c.images.length} bytes is not a whole number of ${this.imageSize}-byte images`);
      if (c.labels && c.labels.length !== k) throw new Error(`chunk has ${k} images but ${c.labels.length} labels`);
      this.starts.push(n);
      n += k;
    }
    this.length = n;
  }

  private locate(i: number): [number, number] {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) throw new RangeError(`${this.name} ${this.split}: index ${i} out of range [0, ${this.length})`);
    // binary search over chunk starts
    let lo = 0, hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= i) lo = mid; else hi = mid - 1;
    }
    return [lo, i - this.starts[lo]!];
  }

  readImage(i: number, dst: Uint8Array, dstOffset: number): void {
    const [c, j] = this.locate(i);
    const s = this.imageSize;
    dst.set(this.chunks[c]!.images.subarray(j * s, (j + 1) * s), dstOffset);
  }

  label(i: number): number {
    const [c, j] = this.locate(i);
    const l = this.chunks[c]!.labels;
    return l ? l[j]! : -1;
  }
}
