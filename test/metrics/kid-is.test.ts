// KID (tfgan block estimator) and Inception score against numpy values (helpers.ts) and known cases.
import { describe, expect, it } from 'vitest';
import { inceptionScore, kernelInceptionDistance, kernelInceptionDistanceAndStd } from '../../src/metrics/index.js';
import { full, tensor } from '../../src/tensor.js';
import { tidy } from '../../src/scope.js';
import { activations, expected } from './helpers.js';

const acts = activations();
const exp = expected();
const get = (k: string) => acts.get(k)!;

describe('kernelInceptionDistance', () => {
  it('one block (default max block 1024) matches numpy: the plain unbiased MMD²', () => {
    const r = kernelInceptionDistanceAndStd(get('a'), get('b'));
    expect(r.blocks).toBe(1);
    expect(r.kid).toBeCloseTo(exp.kid_ab_block1024[0], 10);
    expect(Number.isNaN(r.std)).toBe(true);
    expect(kernelInceptionDistance(get('c1'), get('c2'))).toBeCloseTo(exp.kid_c_block1024[0], 10);
  });
  it('several blocks (uneven sizes) match numpy, mean and standard error', () => {
    for (const [bs, [kid, std]] of [[50, exp.kid_ab_block50], [7, exp.kid_ab_block7]] as const) {
      const r = kernelInceptionDistanceAndStd(get('a'), get('b'), { maxBlockSize: bs });
      expect(r.blocks).toBe(Math.ceil(200 / bs));
      expect(r.kid).toBeCloseTo(kid, 10);
      expect(r.std).toBeCloseTo(std, 10);
    }
  });
  it('is near zero for a set against itself split in two halves of one distribution', () => {
    const a = get('a');
    const half = { dtype: a.dtype, shape: [100, 16], data: (a.data as Float32Array).slice(0, 1600) };
    const other = { dtype: a.dtype, shape: [100, 16], data: (a.data as Float32Array).slice(1600) };
    expect(Math.abs(kernelInceptionDistance(half, other))).toBeLessThan(0.5 * exp.kid_ab_block1024[0]);
  });
});

describe('inceptionScore', () => {
  it('uniform predictions give 1', () => {
    tidy(() => expect(inceptionScore(full([32, 1008], 0.25))).toBeCloseTo(1, 12));
  });
  it('confident predictions over N distinct classes give N', () => {
    tidy(() => {
      const n = 10;
      const rows = Array.from({ length: n }, (_, i) => Array.from({ length: 1008 }, (_, j) => (i === j ? 200 : 0)));
      expect(inceptionScore(tensor(rows))).toBeCloseTo(n, 6);
      // every sample on one class: 1
      expect(inceptionScore(tensor(Array.from({ length: 5 }, () => rows[3])))).toBeCloseTo(1, 6);
    });
  });
  it('matches numpy (tfgan classifier_score_from_logits) on random logits', () => {
    expect(inceptionScore(get('logits'))).toBeCloseTo(exp.is_random_logits, 10);
  });
});

describe('sampleQuality / writeReport', () => {
  it('combines IS, FID and KID and writes the references\' report keys', async () => {
    const { sampleQuality, writeReport, readReferenceStats, writeReferenceStats } = await import('../../src/metrics/index.js');
    const { readNpzFile } = await import('../../src/formats/npz.js');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'sf-report-'));
    try {
      writeReferenceStats(join(dir, 'ref.npz'), get('a'));
      const r = sampleQuality({ pool3: get('b'), logits: get('logits') }, readReferenceStats(join(dir, 'ref.npz')));
      expect(r.fid).toBeCloseTo(exp.fid_ab_scipy, 9);
      expect(r.kid).toBeCloseTo(exp.kid_ab_block1024[0], 10);
      expect(r.IS).toBeCloseTo(exp.is_random_logits, 10);
      writeReport(join(dir, 'report.npz'), r);
      const back = readNpzFile(join(dir, 'report.npz'));
      expect([...back.keys()]).toEqual(['IS', 'fid', 'kid']);
      expect(back.get('fid')!.shape).toEqual([]);
      expect((back.get('fid')!.data as Float64Array)[0]).toBe(r.fid);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
