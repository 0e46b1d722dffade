// native/profile.cc through src/profile.ts: the FLOP counter (exact on matrix products, stable and
// convolution-dominated on an NCSN++ forward, the same under bf16 autocast) and the CUDA memory statistics
// (ERR_DEVICE without a CUDA build or GPU).
import { describe, expect, it } from 'vitest';
import { countFlops, cudaMemoryStats, cudaResetPeak } from '../../src/profile.js';
import { buildInfo, cuda } from '../../src/device.js';
import { generator, rand, randn } from '../../src/random.js';
import { ScoreModel } from '../../src/model/score-model.js';
import { loadConfig } from '../../src/config/index.js';
import { supportsPrecision } from '../../src/precision.js';
import { noGrad } from '../../src/autograd.js';
import { tidy } from '../../src/scope.js';

describe('countFlops', () => {
  it('counts 2·m·n·k for a matmul, batched ones included, and returns the callback result', () => {
    const gen = generator(0);
    const a = randn([3, 4], { generator: gen }).keep(), b = randn([4, 5], { generator: gen }).keep();
    const r = countFlops(() => tidy(() => a.matmul(b).sum().item()));
    expect(r.total).toBe(2 * 3 * 4 * 5);
    expect(r.byOp).toEqual({ 'aten::matmul': 120 });
    expect(typeof r.result).toBe('number');
    const c = randn([2, 3, 4], { generator: gen }).keep();
    expect(countFlops(() => tidy(() => { c.matmul(b); })).total).toBe(2 * 2 * 3 * 5 * 4);
    const v = randn([4], { generator: gen }).keep();
    expect(countFlops(() => tidy(() => { a.matmul(v); })).total).toBe(2 * 3 * 4); // matrix·vector
    expect(countFlops(() => tidy(() => { a.add(a).mul(2).exp(); })).total).toBe(0); // element-wise: none
    for (const t of [a, b, c, v]) t.dispose();
  });

  it('removes its callback when fn throws, and refuses to nest', () => {
    expect(() => countFlops(() => { throw new Error('boom'); })).toThrow('boom');
    expect(() => countFlops(() => countFlops(() => 0))).toThrow(/already counting/);
    const a = randn([2, 2]).keep();
    expect(countFlops(() => tidy(() => { a.matmul(a); })).total).toBe(16);
    a.dispose();
    expect(() => countFlops(42 as unknown as () => void)).toThrow(/fn: expected a function/);
  });

  it('counts an NCSN++ forward: stable across runs, convolutions first, the same under bf16 autocast', () => {
    const config = loadConfig('fmnist_small');
    const model = new ScoreModel(config, { seed: 0 });
    const gen = generator(0);
    const x = rand([2, 1, 28, 28], { generator: gen }).keep(), labels = rand([2], { generator: gen }).mul(999).keep();
    const fwd = () => tidy(() => noGrad(() => { model.eval().forward(x, labels); }));
    const a = countFlops(fwd), b = countFlops(fwd);
    expect(a.total).toBeGreaterThan(1e6);
    expect(b).toEqual(a);
    const conv = Object.entries(a.byOp).filter(([k]) => /conv/.test(k)).reduce((s, [, v]) => s + v, 0);
    expect(conv).toBeGreaterThan(0.5 * a.total);
    // Batch 4 is exactly twice batch 2 (every counted op is linear in the batch).
    const x4 = rand([4, 1, 28, 28], { generator: gen }).keep(), l4 = rand([4], { generator: gen }).mul(999).keep();
    const c4 = countFlops(() => tidy(() => noGrad(() => { model.eval().forward(x4, l4); })));
    expect(c4.total).toBe(2 * a.total);
    if (supportsPrecision('bf16', 'cpu')) {
      model.setPrecision('bf16'); // autocast re-dispatches conv/linear/matmul: each still counts once
      expect(countFlops(fwd).total).toBe(a.total);
      model.setPrecision('fp32');
    }
    for (const t of [x, labels, x4, l4]) t.dispose();
    model.dispose();
  });
});

describe('CUDA memory statistics', () => {
  it('throws ERR_DEVICE without CUDA, else reports the allocator and resets its peak', () => {
    if (!buildInfo().cuda || !cuda.isAvailable()) {
      expect(() => cudaMemoryStats()).toThrow(expect.objectContaining({ code: 'ERR_DEVICE' }));
      expect(() => cudaResetPeak('cuda:0')).toThrow(expect.objectContaining({ code: 'ERR_DEVICE' }));
      return;
    }
    cudaResetPeak('cuda:0');
    const before = cudaMemoryStats('cuda:0');
    const t = randn([1024, 1024], { device: 'cuda:0' }).keep(); // 4 MiB
    const during = cudaMemoryStats(0);
    expect(during.allocated - before.allocated).toBeGreaterThanOrEqual(4 << 20);
    expect(during.reserved).toBeGreaterThanOrEqual(during.allocated);
    expect(during.peakAllocated).toBeGreaterThanOrEqual(during.allocated);
    t.dispose();
    cudaResetPeak(0);
    expect(cudaMemoryStats().peakAllocated).toBeLessThan(during.peakAllocated);
    expect(() => cudaMemoryStats('cpu')).toThrow(expect.objectContaining({ code: 'ERR_ARG' }));
  });
});
