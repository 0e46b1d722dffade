import { describe, expect, it } from 'vitest';
import {
  ChunkedImageDataset, DataLoader, Prng, deriveSeed, flipHorizontal, getDataInverseScaler, getDataScaler,
  uniformDequantize, samplesToUint8Nhwc, trainingLoaders, evaluationLoader, openFashionMnist, FASHION_MNIST_DEFAULT_ROOT,
} from '../../src/data/index.js';
import { existsSync } from 'node:fs';
import { loadConfig } from '../../src/config/index.js';

/** N images 1×2×3 whose pixels encode the image index: pixel j of image i = (10·i + j) mod 256. */
function toy(n: number, c = 1, h = 2, w = 3): ChunkedImageDataset {
  const per = c * h * w;
  const images = new Uint8Array(n * per).map((_, k) => (10 * Math.floor(k / per) + (k % per)) & 0xff);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
  return new ChunkedImageDataset('toy', 'train', c, h, w, [{ images: images.subarray(0, 4 * per), labels: labels.subarray(0, 4) }, { images: images.subarray(4 * per), labels: labels.subarray(4) }], 'mem');
}

describe('Prng', () => {
  it('is deterministic, resumable from its state, and uniform enough', () => {
    const a = new Prng(42), b = new Prng(42);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(xs);
    const st = a.getState();
    const next = [a.nextUint32(), a.nextFloat32(), a.nextInt(7)];
    const c = new Prng(st);
    expect([c.nextUint32(), c.nextFloat32(), c.nextInt(7)]).toEqual(next);
    expect(JSON.parse(JSON.stringify(st))).toEqual(st);
    expect(new Prng(43).nextUint32()).not.toBe(xs[0]);
    let s = 0, mx = 0; const counts = new Array(10).fill(0);
    const r = new Prng(1);
    for (let i = 0; i < 100000; i++) { const f = r.nextFloat32(); mx = Math.max(mx, f); s += f; counts[r.nextInt(10)]++; }
    expect(mx).toBeLessThan(1);
    expect(s / 100000).toBeCloseTo(0.5, 2);
    for (const k of counts) expect(Math.abs(k - 10000)).toBeLessThan(500);
    expect(() => new Prng([0, 0, 0, 0])).toThrow();
    expect(deriveSeed(1, 2)).not.toBe(deriveSeed(2, 1));
  });

  it('permutation is a permutation', () => {
    const p = new Prng(5).permutation(1000);
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });
});

describe('transforms', () => {
  it('horizontal flip reverses each row of each channel', () => {
    const x = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]); // C=2, H=2, W=3
    flipHorizontal(x, 2, 2, 3);
    expect(Array.from(x)).toEqual([3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10]);
  });

  it('uniform dequantization = (255x + u)/256 with the PRNG stream', () => {
    const x = Float32Array.from([0, 1, 128 / 255]);
    const r = new Prng(9), r2 = new Prng(9);
    uniformDequantize(x, r);
    const u = [r2.nextFloat32(), r2.nextFloat32(), r2.nextFloat32()];
    expect(x[0]).toBeCloseTo(u[0]! / 256, 7);
    expect(x[1]).toBeCloseTo((255 + u[1]!) / 256, 6);
    expect(x[2]).toBeCloseTo((128 + u[2]!) / 256, 6);
    for (const v of x) { expect(v).toBeGreaterThanOrEqual(0); expect(v).toBeLessThan(1); }
  });

  it('scaler 2x−1 and its inverse (centered), identity otherwise', () => {
    const s = getDataScaler(true), inv = getDataInverseScaler(true);
    expect([s(0), s(0.5), s(1)]).toEqual([-1, 0, 1]);
    expect([inv(-1), inv(0), inv(1)]).toEqual([0, 0.5, 1]);
    expect([s.scale, s.shift, inv.scale, inv.shift]).toEqual([2, -1, 0.5, 0.5]);
    const arr = Float32Array.from([0, 0.25, 1]);
    expect(Array.from(inv.apply(s.apply(arr)))).toEqual([0, 0.25, 1]);
    const id = getDataScaler(false);
    expect(id(0.3)).toBe(0.3);
    expect(getDataInverseScaler(false)(0.3)).toBe(0.3);
  });

  it('samples → uint8 NHWC truncates like np.clip(x*255).astype(uint8)', () => {
    const x = Float32Array.from([0, 0.5, 1.2, -0.1, 0.999, 0.2]); // N=1, C=2, H=1, W=3
    expect(Array.from(samplesToUint8Nhwc(x, 1, 2, 1, 3))).toEqual([0, 0, 127, 254, 255, 51]);
  });
});

describe('DataLoader', () => {
  it('yields NCHW float32 in [0,1] = uint8/255 with labels and indices', () => {
    const ds = toy(10);
    const l = new DataLoader(ds, { batchSize: 4, shuffle: false, epochs: 1 });
    const b = l.next()!;
    expect(b.images.shape).toEqual([4, 1, 2, 3]);
    expect(b.images.dtype).toBe('float32');
    expect(Array.from(b.indices)).toEqual([0, 1, 2, 3]);
    expect(Array.from(b.labels)).toEqual([0, 1, 2, 3]);
    expect(b.images.data[6 * 2 + 1]).toBeCloseTo(21 / 255, 7);
  });

  it('finite epochs drop the last partial batch per epoch (the references\' 9,216 of 10,000)', () => {
    const l = new DataLoader(toy(10), { batchSize: 4, epochs: 2, seed: 1 });
    expect(l.batchesPerEpoch).toBe(2);
    expect(l.length).toBe(4);
    const seen: number[][] = [];
    for (let b = l.next(); b; b = l.next()) seen.push(Array.from(b.indices));
    expect(seen.length).toBe(4);
    expect(new Set(seen.slice(0, 2).flat()).size).toBe(8);
    expect(seen[0]).not.toEqual(seen[2]); // reshuffled each epoch
    const keep = new DataLoader(toy(10), { batchSize: 4, epochs: 1, dropLast: false });
    expect(keep.length).toBe(3);
    expect(keep.batchAt(2).indices.length).toBe(2);
    // CIFAR-10 test with eval batch 1024
    const cifarLike = new ChunkedImageDataset('c', 'test', 1, 1, 1, [{ images: new Uint8Array(10000), labels: null }], 'mem');
    const ev = new DataLoader(cifarLike, { batchSize: 1024, epochs: 1 });
    expect(ev.length * 1024).toBe(9216);
  });

  it('the endless stream crosses epoch boundaries and covers every image once per epoch', () => {
    const l = new DataLoader(toy(10), { batchSize: 4, seed: 3 });
    expect(l.length).toBe(Infinity);
    const idx = [0, 1, 2, 3, 4].flatMap((k) => Array.from(l.batchAt(k).indices));
    expect([...idx.slice(0, 10)].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...idx.slice(10, 20)].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(l.batchAt(2).epoch).toBe(0);
    expect(l.batchAt(3).epoch).toBe(1);
  });

  it('is reproducible from the seed; the state restores the stream bit for bit', () => {
    const opts = { batchSize: 3, seed: 77, randomFlip: true, uniformDequantization: true };
    const a = new DataLoader(toy(10), opts);
    const first = [a.next()!, a.next()!, a.next()!];
    const state = a.getState();
    expect(state).toEqual({ seed: 77, batch: 3 });
    const cont = [a.next()!, a.next()!];
    const b = new DataLoader(toy(10), { ...opts, seed: 0 });
    b.setState(JSON.parse(JSON.stringify(state)));
    const resumed = [b.next()!, b.next()!];
    for (let i = 0; i < 2; i++) {
      expect(resumed[i]!.indices).toEqual(cont[i]!.indices);
      expect(resumed[i]!.images.data).toEqual(cont[i]!.images.data);
    }
    const again = new DataLoader(toy(10), opts);
    expect(again.next()!.images.data).toEqual(first[0]!.images.data);
    const other = new DataLoader(toy(10), { ...opts, seed: 78 });
    expect(other.next()!.images.data).not.toEqual(first[0]!.images.data);
    expect(() => b.setState({ seed: -1, batch: 0 })).toThrow();
  });

  it('random flip flips about half of the images, left-right, and nothing else', () => {
    const ds = toy(200, 1, 2, 3);
    const l = new DataLoader(ds, { batchSize: 200, randomFlip: true, seed: 5, shuffle: false, epochs: 1 });
    const b = l.next()!;
    let flipped = 0;
    for (let i = 0; i < 200; i++) {
      const row = Array.from(b.images.data.subarray(i * 6, i * 6 + 3), (v) => Math.round(v * 255));
      const base = (10 * i) & 0xff;
      const plain = [0, 1, 2].map((j) => (base + j) & 0xff);
      if (row[0] === plain[2]) { flipped++; expect(row).toEqual([...plain].reverse()); } else expect(row).toEqual(plain);
    }
    expect(flipped).toBeGreaterThan(70);
    expect(flipped).toBeLessThan(130);
  });

  it('uniform dequantization keeps floor(256x) = pixel value, noise mean ½', () => {
    const ds = toy(50);
    const l = new DataLoader(ds, { batchSize: 50, uniformDequantization: true, shuffle: false, epochs: 1, seed: 2 });
    const b = l.next()!;
    const raw = new Uint8Array(6);
    let s = 0;
    for (let i = 0; i < 50; i++) {
      ds.readImage(i, raw, 0);
      for (let j = 0; j < 6; j++) {
        const v = b.images.data[i * 6 + j]! * 256;
        expect(Math.floor(v)).toBe(raw[j]);
        s += v - raw[j]!;
      }
    }
    expect(s / 300).toBeGreaterThan(0.4);
    expect(s / 300).toBeLessThan(0.6);
  });

  it('async iteration prefetches ahead but the state counts only delivered batches', async () => {
    const l = new DataLoader(toy(10), { batchSize: 2, epochs: 1, seed: 4, prefetch: 2 });
    const built: number[] = [];
    const orig = l.batchAt.bind(l);
    l.batchAt = (k: number) => { built.push(k); return orig(k); };
    const got: number[] = [];
    for await (const b of l) {
      got.push(b.index);
      await new Promise((r) => setImmediate(r)); // consumer does async work: prefetch runs meanwhile
      if (b.index === 1) {
        expect(Math.max(...built)).toBeGreaterThanOrEqual(3); // prepared ahead
        expect(l.getState().batch).toBe(2);
      }
    }
    expect(got).toEqual([0, 1, 2, 3, 4]);
    expect(l.getState().batch).toBe(5);
    // a seed change between yields is honoured even when the prefetched index matches
    const sw = new DataLoader(toy(10), { batchSize: 2, epochs: 1, seed: 4, prefetch: 2, uniformDequantization: true });
    const out: Float32Array[] = [];
    for await (const b of sw) {
      out.push(b.images.data);
      if (b.index === 0) sw.setState({ seed: 99, batch: 1 });
      if (b.index === 1) break;
    }
    expect(out[1]).toEqual(new DataLoader(toy(10), { batchSize: 2, epochs: 1, seed: 99, uniformDequantization: true }).batchAt(1).images.data);
    // resume mid-stream through the async iterator
    const r = new DataLoader(toy(10), { batchSize: 2, epochs: 1, seed: 4 });
    r.setState({ seed: 4, batch: 3 });
    const rest: number[] = [];
    for await (const b of r) rest.push(b.index);
    expect(rest).toEqual([3, 4]);
  });

  it('a failing read surfaces through the iterator; dropped prefetches never reject unhandled', async () => {
    const ds = toy(10);
    const broken = Object.create(ds) as typeof ds;
    broken.readImage = (i: number, d: Uint8Array, o: number) => { if (i === 7) throw new Error('disk error'); ds.readImage(i, d, o); };
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => { unhandled.push(e); };
    process.on('unhandledRejection', onUnhandled);
    try {
      const l = new DataLoader(broken, { batchSize: 1, epochs: 1, shuffle: false, prefetch: 3 });
      const got: number[] = [];
      await expect((async () => { for await (const b of l) got.push(b.index); })()).rejects.toThrow('disk error');
      expect(got).toEqual([0, 1, 2, 3, 4, 5, 6]);
      const l2 = new DataLoader(broken, { batchSize: 1, epochs: 1, shuffle: false, prefetch: 4 });
      for await (const b of l2) if (b.index === 5) break; // batches 6..9 were scheduled, 7 fails
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('next() prefetches the following batch in the background; results are unchanged', async () => {
    const opts = { batchSize: 3, seed: 11, randomFlip: true, uniformDequantization: true, prefetch: 2 };
    const l = new DataLoader(toy(10), opts);
    const built: number[] = [];
    const orig = l.batchAt.bind(l);
    l.batchAt = (k: number) => { built.push(k); return orig(k); };
    const b0 = l.next()!;
    expect(built).toEqual([0]);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(built).toEqual([0, 1, 2]);
    const b1 = l.next()!;
    expect(built).toEqual([0, 1, 2]); // served from the prefetch
    const ref = new DataLoader(toy(10), { ...opts, prefetch: 0 });
    expect(b0.images.data).toEqual(ref.next()!.images.data);
    expect(b1.images.data).toEqual(ref.next()!.images.data);
    // setState discards prefetched batches (different seed)
    l.setState({ seed: 12, batch: 2 });
    const c = l.next()!;
    expect(c.images.data).toEqual(new DataLoader(toy(10), { ...opts, seed: 12 }).batchAt(2).images.data);
    expect((await l.nextAsync())!.index).toBe(3);
  });

  it('an endless async stream can be abandoned and resumed', async () => {
    const l = new DataLoader(toy(7), { batchSize: 3, seed: 8, randomFlip: true });
    const seen: Float32Array[] = [];
    for await (const b of l) { seen.push(b.images.data as Float32Array); if (seen.length === 4) break; }
    const st = l.getState();
    expect(st.batch).toBe(4);
    const a = new DataLoader(toy(7), { batchSize: 3, seed: 8, randomFlip: true });
    a.setState(st);
    expect(a.next()!.images.data).toEqual(new DataLoader(toy(7), { batchSize: 3, seed: 8, randomFlip: true }).batchAt(4).images.data);
  });
});

describe.skipIf(!existsSync(FASHION_MNIST_DEFAULT_ROOT))('config-driven loaders (fmnist_small, system Fashion-MNIST)', () => {
  it('training streams: batch 64, 1×28×28, endless; eval loader drops the last partial batch', async () => {
    const c = loadConfig('fmnist_small');
    const train = openFashionMnist({ split: 'train' });
    const test = openFashionMnist({ split: 'test' });
    const { train: tr, eval: ev } = trainingLoaders(c, { train, test });
    const b = tr.next()!;
    expect(b.images.shape).toEqual([64, 1, 28, 28]);
    expect(tr.length).toBe(Infinity);
    expect(ev.next()!.images.shape).toEqual([64, 1, 28, 28]);
    const e = evaluationLoader(c, 'test', { uniformDequantization: true, dataset: test });
    expect(e.length).toBe(40); // 10000 / 250
    const eb = e.next()!;
    expect(eb.images.shape).toEqual([250, 1, 28, 28]);
    let max = 0; for (const v of eb.images.data as Float32Array) max = Math.max(max, v);
    expect(max).toBeLessThan(1);
    expect(evaluationLoader(c, 'test', { dataset: test, repeat: 1 }).batchAt(0).indices).not.toEqual(e.batchAt(0).indices);
  });
});
