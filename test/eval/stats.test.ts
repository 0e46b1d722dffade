import { describe, expect, it } from 'vitest';
import { meanCi, roundFileName, summaryFileName, lossFileName, roundSeed } from '../../src/eval/index.js';

describe('eval helpers', () => {
  it('meanCi: mean ± 1.96·std/√n with the sample std', () => {
    const r = meanCi([1, 2, 3, 4]);
    const std = Math.sqrt(((1.5 ** 2) * 2 + (0.5 ** 2) * 2) / 3);
    expect(r.mean).toBe(2.5);
    expect(r.std).toBeCloseTo(std, 14);
    expect(r.halfWidth).toBeCloseTo(1.96 * std / 2, 14);
    expect(r.ci95[0]).toBeCloseTo(2.5 - r.halfWidth, 14);
    expect(meanCi([7]).ci95).toEqual([7, 7]);
    expect(Number.isNaN(meanCi([]).mean)).toBe(true);
  });

  it('file names follow the references (round = batch_id + n_batches·repeat)', () => {
    expect(roundFileName('test', 26, 'bpd', 12)).toBe('test_ckpt_26_bpd_12.npz');
    expect(roundFileName('train', 3, 'bound', 0)).toBe('train_ckpt_3_bound_0.npz');
    expect(summaryFileName('test', 26, 'bpd')).toBe('test_ckpt_26_bpd_summary.json');
    expect(lossFileName(9)).toBe('ckpt_9_loss.npz');
  });

  it('round seeds differ by checkpoint, round and kind', () => {
    const s = new Set([roundSeed(42, 1, 0, 'bpd'), roundSeed(42, 1, 1, 'bpd'), roundSeed(42, 2, 0, 'bpd'), roundSeed(42, 1, 0, 'bound')]);
    expect(s.size).toBe(4);
  });
});
