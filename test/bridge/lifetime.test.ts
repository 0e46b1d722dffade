import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ones, tensor, zeros } from '../../src/tensor.js';
import { dispose, memoryStats, tidy } from '../../src/scope.js';
import { rand, randn, generator } from '../../src/random.js';
import { addon } from '../../src/native.js';

/**
 * Resident anonymous memory (heap, tensors): RSS without file-backed pages, which the kernel may evict
 * and re-fault (libtorch's ~400 MB of code) when other processes load the machine.
 */
function anonRss(): number {
  const m = /RssAnon:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}

describe('lifetimes', () => {
  it('tidy frees everything but the result, nested scopes pass results outward', () => {
    const base = memoryStats();
    const kept = tidy(() => {
      const a = ones([10]);
      const b = a.mul(2);
      const inner = tidy(() => {
        const c = b.add(1);
        c.mul(5);
        return { c };
      });
      expect(inner.c.isDisposed).toBe(false);
      return [inner.c.add(b)];
    });
    expect(memoryStats().liveHandles).toBe(base.liveHandles + 1);
    expect(Array.from(kept[0].toArray())).toEqual(new Array(10).fill(5));
    dispose(kept);
    expect(memoryStats()).toEqual(base);
  });

  it('keep() survives the scope; errors inside tidy still free', () => {
    const base = memoryStats();
    let k!: ReturnType<typeof ones>;
    tidy(() => { k = ones([3]).keep(); ones([4]); });
    expect(k.isDisposed).toBe(false);
    k.dispose();
    expect(() => tidy(() => { ones([5]); throw new Error('boom'); })).toThrow('boom');
    expect(memoryStats()).toEqual(base);
    expect(() => tidy(() => Promise.resolve(1) as unknown as number)).toThrow(/Promise/);
    expect(memoryStats().openScopes).toBe(0);
  });

  it('memoryStats counts bytes', () => {
    const base = memoryStats();
    const t = zeros([1000], { dtype: 'float64' });
    expect(memoryStats().liveBytes - base.liveBytes).toBe(8000);
    t.dispose();
    expect(memoryStats()).toEqual(base);
  });

  it('1,000 × 4 MB tensors under tidy: nothing outlives its scope', () => {
    const base = memoryStats();
    let peakBytes = 0;
    for (let i = 0; i < 1000; i++) {
      tidy(() => {
        const t = zeros([1024, 1024]); // 4 MB
        t.add_(1).mul(2).sum();
        peakBytes = Math.max(peakBytes, memoryStats().liveBytes - base.liveBytes);
      });
      if (i % 100 === 0) expect(memoryStats()).toEqual(base);
    }
    expect(memoryStats()).toEqual(base);
    // Inside the scope: the zeros, its doubled copy and the scalar sum, nothing from earlier iterations.
    expect(peakBytes).toBe(2 * 4 * 2 ** 20 + 4);
  });

  // The resident-memory bound holds only where the allocator's behaviour is ours: with libtorch's own
  // allocator on glibc < 2.38 the heap fragments (src/heap.ts) whatever tidy does.
  it.runIf(addon().heapInfo().cpuAllocator === 'malloc')('with the malloc CPU allocator, 1,000 × 4 MB tensors keep RSS flat', () => {
    const step = () => tidy(() => {
      const t = zeros([1024, 1024]); // 4 MB
      t.add_(1).mul(2).sum();
    });
    // Warm up the allocator first: the baseline should not count its first arena growth.
    for (let i = 0; i < 10; i++) step();
    const before = anonRss();
    let peak = before;
    for (let i = 0; i < 1000; i++) {
      step();
      if (i % 50 === 0) peak = Math.max(peak, anonRss());
    }
    const grewMb = (peak - before) / 2 ** 20;
    expect(grewMb, `RSS grew by ${grewMb.toFixed(0)} MB`).toBeLessThan(200);
  });

  it('seeded generators reproduce draws and restore state', () => {
    tidy(() => {
      const g1 = generator(7);
      const g2 = generator(7);
      expect(Array.from(randn([5], { generator: g1 }).toArray())).toEqual(Array.from(randn([5], { generator: g2 }).toArray()));
      const state = g1.getState();
      const a = Array.from(rand([4], { generator: g1 }).toArray());
      g1.setState(state);
      expect(Array.from(rand([4], { generator: g1 }).toArray())).toEqual(a);
      const r = randn([10000], { generator: g1, dtype: 'float64' });
      expect(Math.abs(r.mean().item())).toBeLessThan(0.05);
      expect(Math.abs(r.std().item() - 1)).toBeLessThan(0.05);
      const rad = Array.from(addon().rademacher([100], null, null, g1).toArray() as Float32Array);
      expect(rad.every((v) => v === 1 || v === -1)).toBe(true);
    });
  });

  it('tensors created from a typed array are copies', () => {
    const data = new Float32Array([1, 2]);
    const t = tensor(data);
    data[0] = 99;
    expect(Array.from(t.toArray())).toEqual([1, 2]);
    t.dispose();
  });
});
