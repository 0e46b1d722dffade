/**
 * Batching pipeline: shuffled (seeded, reproducible), augmented (random flip, uniform dequantization),
 * NCHW float32 batches in [0, 1], with background prefetch and a resumable state.
 *
 * Order semantics, following the references' tf.data pipelines:
 *  - `epochs: Infinity` (training; tf `repeat()` then `batch(drop_remainder=True)`): an endless stream made
 *    of one fresh permutation per epoch, concatenated; batches run across epoch boundaries, nothing is dropped.
 *  - `epochs: k` finite (evaluation; one pass per repeat): each epoch is batched on its own and, with
 *    `dropLast` (default, as the references), its last partial batch is dropped — e.g. CIFAR-10 test with
 *    batch 1024 yields 9 batches = 9,216 images per pass [quirk of the references].
 *
 * Every batch is a pure function of (seed, batch index): the permutation of epoch e comes from a PRNG seeded
 * with deriveSeed(seed, 1, e) and the augmentation noise of batch k from deriveSeed(seed, 2, k). The state is
 * therefore just { seed, batch } (the number of batches handed out), and restoring it reproduces the
 * following batches bit for bit, independent of how far prefetching had run ahead.
 */
import type { HostTensor } from '../host-tensor.js';
import { Prng, deriveSeed } from './prng.js';
import { flipHorizontal } from './transforms.js';
import type { ImageDataset } from './types.js';

export interface LoaderOptions {
  batchSize: number;
  /** Shuffle each epoch (default true; the references shuffle train and eval data). */
  shuffle?: boolean;
  /** Random horizontal flip with probability ½ per image (default false). */
  randomFlip?: boolean;
  /** (255x + u)/256 with u ~ U[0,1) per pixel (default false). */
  uniformDequantization?: boolean;
  /** Number of passes; Infinity (default) = endless training stream. */
  epochs?: number;
  /** Drop each epoch's last partial batch when `epochs` is finite (default true). */
  dropLast?: boolean;
  /** Seed of the shuffling and augmentation streams (default 0). */
  seed?: number;
  /** Batches prepared ahead by the async iterator (default 1; 0 disables prefetch). */
  prefetch?: number;
}

export interface Batch {
  /** float32 [B, C, H, W] in [0, 1] (dequantized: in [0, 1) ). */
  images: HostTensor & { dtype: 'float32'; data: Float32Array };
  /** int32 [B] class labels (-1 where the dataset has none). */
  labels: Int32Array;
  /** Dataset indices of the images. */
  indices: Int32Array;
  /** 0-based batch number in the stream. */
  index: number;
  /** Epoch of the batch's first image. */
  epoch: number;
}

export interface LoaderState {
  seed: number;
  /** Batches handed out so far (the next batch has this index). */
  batch: number;
}

const STREAM_PERM = 1;
const STREAM_AUG = 2;

export class DataLoader implements AsyncIterable<Batch> {
  readonly dataset: ImageDataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly randomFlip: boolean;
  readonly uniformDequantization: boolean;
  readonly epochs: number;
  readonly dropLast: boolean;
  readonly prefetch: number;
  private seed: number;
  private position = 0;
  private permCache = new Map<number, Int32Array>();
  /** Batches prepared ahead by `next()`'s background prefetch, by index; cleared on setState. */
  private ahead = new Map<number, Batch>();
  private pending = new Set<number>();
  private generation = 0;

  constructor(dataset: ImageDataset, opts: LoaderOptions) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new RangeError(`DataLoader: batchSize must be a positive integer, received ${opts.batchSize}`);
    const epochs = opts.epochs ?? Infinity;
    if (!(epochs === Infinity || (Number.isInteger(epochs) && epochs >= 0))) throw new RangeError(`DataLoader: epochs must be a non-negative integer or Infinity, received ${epochs}`);
    if (dataset.length === 0) throw new RangeError(`DataLoader: dataset ${dataset.name} (${dataset.split}) is empty`);
    this.dataset = dataset;
    this.batchSize = opts.batchSize;
    this.shuffle = opts.shuffle ?? true;
    this.randomFlip = opts.randomFlip ?? false;
    this.uniformDequantization = opts.uniformDequantization ?? false;
    this.epochs = epochs;
    this.dropLast = opts.dropLast ?? true;
    this.seed = (opts.seed ?? 0) >>> 0;
    this.prefetch = Math.max(0, Math.floor(opts.prefetch ?? 1));
  }

  /** Batches per epoch in finite mode (after drop-last). */
  get batchesPerEpoch(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Total number of batches (Infinity for the endless stream). */
  get length(): number {
    return this.epochs === Infinity ? Infinity : this.epochs * this.batchesPerEpoch;
  }

  getState(): LoaderState {
    return { seed: this.seed, batch: this.position };
  }

  setState(s: LoaderState): void {
    if (!s || !Number.isInteger(s.seed) || s.seed < 0 || s.seed > 0xffffffff || !Number.isInteger(s.batch) || s.batch < 0) {
      throw new TypeError(`DataLoader.setState: expected { seed: uint32, batch: non-negative integer }, received ${JSON.stringify(s)}`);
    }
    this.seed = s.seed;
    this.position = s.batch;
    this.permCache.clear();
    this.ahead.clear();
    this.pending.clear();
    this.generation++;
  }

  /** True when batch k exists. */
  has(k: number): boolean {
    return k >= 0 && k < this.length;
  }

  private permutation(epoch: number): Int32Array {
    let p = this.permCache.get(epoch);
    if (!p) {
      const n = this.dataset.length;
      if (this.shuffle) p = new Prng(deriveSeed(this.seed, STREAM_PERM, epoch)).permutation(n);
      else { p = new Int32Array(n); for (let i = 0; i < n; i++) p[i] = i; }
      if (this.permCache.size >= 3) this.permCache.delete(this.permCache.keys().next().value as number);
      this.permCache.set(epoch, p);
    }
    return p;
  }

  /** Dataset indices of batch k (and the epoch of its first image). */
  indicesOf(k: number): { indices: Int32Array; epoch: number } {
    if (!this.has(k)) throw new RangeError(`DataLoader: batch ${k} out of range (${this.length} batches)`);
    const n = this.dataset.length, B = this.batchSize;
    if (this.epochs === Infinity) {
      const out = new Int32Array(B);
      const start = k * B;
      for (let j = 0; j < B; j++) {
        const pos = start + j;
        out[j] = this.permutation(Math.floor(pos / n))[pos % n]!;
      }
      return { indices: out, epoch: Math.floor(start / n) };
    }
    const per = this.batchesPerEpoch;
    const epoch = Math.floor(k / per);
    const b = k % per;
    const from = b * B, to = Math.min(from + B, n);
    return { indices: this.permutation(epoch).slice(from, to), epoch };
  }

  /** Builds batch k (pure function of the seed and k). */
  batchAt(k: number): Batch {
    const { indices, epoch } = this.indicesOf(k);
    const ds = this.dataset;
    const c = ds.channels, h = ds.height, w = ds.width, per = c * h * w;
    const m = indices.length;
    const bytes = new Uint8Array(m * per);
    const labels = new Int32Array(m);
    for (let j = 0; j < m; j++) {
      ds.readImage(indices[j]!, bytes, j * per);
      labels[j] = ds.label(indices[j]!);
    }
    const data = new Float32Array(m * per);
    const aug = this.randomFlip || this.uniformDequantization ? new Prng(deriveSeed(this.seed, STREAM_AUG, k)) : undefined;
    for (let j = 0; j < m; j++) {
      const off = j * per;
      if (aug && this.randomFlip && aug.nextFloat32() < 0.5) flipHorizontal(bytes, c, h, w, off);
      if (aug && this.uniformDequantization) {
        for (let i = off; i < off + per; i++) data[i] = (bytes[i]! + aug.nextFloat32()) / 256;
      } else {
        for (let i = off; i < off + per; i++) data[i] = bytes[i]! / 255;
      }
    }
    return { images: { dtype: 'float32', shape: [m, c, h, w], data }, labels, indices, index: k, epoch };
  }

  /**
   * Next batch (advances the state); undefined when the stream is exhausted. With `prefetch` > 0 the
   * following batches are then prepared in later macrotasks (while the caller awaits device work), so the
   * next call usually finds its batch ready; results are identical either way (batches are pure).
   */
  next(): Batch | undefined {
    const k = this.position;
    if (!this.has(k)) return undefined;
    const batch = this.ahead.get(k) ?? this.batchAt(k);
    this.ahead.delete(k);
    this.position = k + 1;
    for (let j = k + 1; j <= k + this.prefetch && this.has(j); j++) {
      if (this.ahead.has(j) || this.pending.has(j)) continue;
      this.pending.add(j);
      const gen = this.generation;
      setImmediate(() => {
        if (gen !== this.generation) return;
        this.pending.delete(j);
        if (j < this.position || this.ahead.has(j)) return;
        try { this.ahead.set(j, this.batchAt(j)); } catch { /* rebuilt (and thrown) synchronously by next() */ }
      });
    }
    return batch;
  }

  /** `next()` as a promise (for code that awaits its data source). */
  async nextAsync(): Promise<Batch | undefined> {
    return this.next();
  }

  /**
   * Async iteration with prefetch: while the consumer works on batch k, batches k+1..k+prefetch are built in
   * later macrotasks (they run whenever the consumer awaits). The state advances only when a batch is handed out.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Batch, void, undefined> {
    const queue: { k: number; gen: number; p: Promise<Batch> }[] = [];
    const schedule = (k: number): void => {
      const p = new Promise<Batch>((resolve, reject) => setImmediate(() => {
        try { resolve(this.batchAt(k)); } catch (e) { reject(e); }
      }));
      // A prefetched batch may be dropped (setState, early break) before anyone awaits it: mark its
      // rejection as handled so that it cannot crash the process; awaiting `p` still throws.
      p.catch(() => undefined);
      queue.push({ k, gen: this.generation, p });
    };
    let nextToSchedule = this.position;
    for (;;) {
      const start = this.position;
      if (!this.has(start)) return;
      // The state may have been changed (setState) between yields: drop stale prefetches.
      if (queue.length && (queue[0]!.k !== start || queue[0]!.gen !== this.generation)) { queue.length = 0; nextToSchedule = start; }
      if (queue.length === 0) { schedule(start); nextToSchedule = start + 1; }
      while (queue.length < 1 + this.prefetch && this.has(nextToSchedule)) schedule(nextToSchedule++);
      const gen = this.generation;
      const batch = await queue.shift()!.p;
      if (this.position !== start || this.generation !== gen) { queue.length = 0; nextToSchedule = this.position; continue; }
      this.position = start + 1;
      // top the queue up before handing the batch over, so preparation overlaps the consumer's work
      while (queue.length < this.prefetch && this.has(nextToSchedule)) schedule(nextToSchedule++);
      yield batch;
    }
  }
}
