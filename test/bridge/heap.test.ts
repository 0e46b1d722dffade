import { describe, expect, it } from 'vitest';
import { chooseCpuAllocator } from '../../src/heap.js';
import { addon } from '../../src/native.js';

describe('CPU allocator policy', () => {
  it('uses the malloc-backed allocator exactly on glibc < 2.38 (bug 30723), unless overridden', () => {
    expect(chooseCpuAllocator('2.36', undefined)).toBe('malloc');
    expect(chooseCpuAllocator('2.37', '')).toBe('malloc');
    expect(chooseCpuAllocator('2.38', undefined)).toBe('libtorch');
    expect(chooseCpuAllocator('3.0', undefined)).toBe('libtorch');
    expect(chooseCpuAllocator(null, undefined)).toBe('libtorch'); // musl and others: libtorch's own
    expect(chooseCpuAllocator('2.36', 'libtorch')).toBe('libtorch');
    expect(chooseCpuAllocator('2.40', 'malloc')).toBe('malloc');
    expect(() => chooseCpuAllocator('2.36', 'jemalloc')).toThrow(/SCOREFLOW_CPU_ALLOCATOR: expected 'malloc' or 'libtorch'.*received 'jemalloc'/);
  });

  it('the loaded addon follows the policy, and its tensors of every size are usable', async () => {
    const info = addon().heapInfo();
    expect(info.cpuAllocator).toBe(chooseCpuAllocator(info.glibc, process.env.SCOREFLOW_CPU_ALLOCATOR));
    const { arange } = await import('../../src/tensor.js');
    for (const n of [1, 3, 17, 4096, 1 << 20]) {
      const t = arange(0, n);
      const sum = t.sum().item();
      expect(sum).toBe((n * (n - 1)) / 2);
      t.dispose();
    }
  });

  it('the malloc allocator counts its live bytes and their peak (resetCpuPeak restarts it)', async () => {
    const info = addon().heapInfo();
    if (info.cpuAllocator !== 'malloc') {
      expect(info.liveBytes).toBeNull();
      return;
    }
    const { zeros } = await import('../../src/tensor.js');
    addon().resetCpuPeak();
    const before = addon().heapInfo();
    expect(before.peakBytes).toBe(before.liveBytes);
    const t = zeros([1 << 20], { dtype: 'float64' }); // 8 MB
    const during = addon().heapInfo();
    expect(during.liveBytes! - before.liveBytes!).toBeGreaterThanOrEqual(8 * 2 ** 20);
    expect(during.liveBytes! - before.liveBytes!).toBeLessThan(8 * 2 ** 20 + 8192);
    t.dispose();
    const after = addon().heapInfo();
    expect(after.liveBytes).toBe(before.liveBytes);
    expect(after.peakBytes).toBe(during.liveBytes);
    addon().resetCpuPeak();
    expect(addon().heapInfo().peakBytes).toBe(after.liveBytes);
  });
});
