// Fréchet distance, activation statistics and the stats file against numpy/scipy values (helpers.ts).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { activationStatistics, frechetDistance, frechetDistanceFromActivations, readReferenceStats, writeReferenceStats } from '../../src/metrics/index.js';
import { fromHost, tensor } from '../../src/tensor.js';
import { tidy, memoryStats } from '../../src/scope.js';
import { writeNpzFile } from '../../src/formats/npz.js';
import { activations, expected } from './helpers.js';

const acts = activations();
const exp = expected();
const get = (k: string) => acts.get(k)!;

describe('activationStatistics', () => {
  it('equals np.mean / np.cov(rowvar=False) in float64', () => {
    tidy(() => {
      const { mu, sigma } = activationStatistics(get('a'));
      expect(mu.dtype).toBe('float64');
      expect(sigma.shape).toEqual([16, 16]);
      expect(mu.sub(fromHost(get('mu_a'))).abs().max().item()).toBeLessThan(1e-12);
      expect(sigma.sub(fromHost(get('sigma_a'))).abs().max().item()).toBeLessThan(1e-12);
    });
  });
  it('rejects fewer than two rows and non-matrices', () => {
    expect(() => activationStatistics(tensor([[1, 2]]))).toThrow(/at least 2 rows/);
    expect(() => activationStatistics(tensor([1, 2, 3]))).toThrow(/2-D/);
  });
});

describe('frechetDistance', () => {
  it('matches scipy.linalg.sqrtm (pytorch-fid) and numpy eigh (tfgan) on full-rank covariances', () => {
    const d = frechetDistance(get('mu_a'), get('sigma_a'), get('mu_b'), get('sigma_b'));
    expect(Math.abs(d - exp.fid_ab_scipy)).toBeLessThan(1e-9 * exp.fid_ab_scipy);
    expect(Math.abs(d - exp.fid_ab_eigh)).toBeLessThan(1e-9 * exp.fid_ab_eigh);
    // from float32 activations (statistics computed here) the same
    expect(frechetDistanceFromActivations(get('a'), get('b'))).toBeCloseTo(exp.fid_ab_scipy, 9);
  });
  it('is symmetric and zero for identical statistics', () => {
    const ab = frechetDistance(get('mu_a'), get('sigma_a'), get('mu_b'), get('sigma_b'));
    const ba = frechetDistance(get('mu_b'), get('sigma_b'), get('mu_a'), get('sigma_a'));
    expect(Math.abs(ab - ba)).toBeLessThan(1e-9);
    expect(Math.abs(frechetDistance(get('mu_a'), get('sigma_a'), get('mu_a'), get('sigma_a')))).toBeLessThan(1e-9);
  });
  it('handles singular covariances (N < d) without an offset, and with eps like pytorch-fid', () => {
    const c = frechetDistanceFromActivations(get('c1'), get('c2'));
    expect(Math.abs(c - exp.fid_c_eigh)).toBeLessThan(1e-8 * exp.fid_c_eigh);
    const withEps = frechetDistanceFromActivations(get('c1'), get('c2'), { eps: 1e-6 });
    expect(Math.abs(withEps - exp['fid_c_scipy_eps1e-6'])).toBeLessThan(1e-6 * exp['fid_c_scipy_eps1e-6']);
  });
  it('validates shapes and leaks no tensors', () => {
    const before = memoryStats().liveHandles;
    expect(() => frechetDistance(get('mu_a'), get('sigma_a'), get('mu_b'), get('c1'))).toThrow(/sigma2/);
    frechetDistance(get('mu_a'), get('sigma_a'), get('mu_b'), get('sigma_b'));
    expect(memoryStats().liveHandles).toBe(before);
  });
});

describe('reference stats files', () => {
  it('write pool_3 + mu + sigma; read pool_3-only (references) and mu/sigma-only (pytorch-fid) files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-stats-'));
    try {
      const p = join(dir, 'stats.npz');
      writeReferenceStats(p, get('a'), { logits: get('logits') });
      const s = readReferenceStats(p);
      expect(s.pool3!.shape).toEqual([200, 16]);
      expect(s.pool3!.dtype).toBe('float32');
      expect(s.logits!.shape).toEqual([64, 10]);
      expect(frechetDistance(s.mu, s.sigma, get('mu_b'), get('sigma_b'))).toBeCloseTo(exp.fid_ab_scipy, 9);

      const refOnly = join(dir, 'ref.npz');
      writeNpzFile(refOnly, { pool_3: get('b') });
      const r = readReferenceStats(refOnly);
      expect(frechetDistance(get('mu_a'), get('sigma_a'), r.mu, r.sigma)).toBeCloseTo(exp.fid_ab_scipy, 9);

      const fidOnly = join(dir, 'fid.npz');
      writeNpzFile(fidOnly, { mu: get('mu_a'), sigma: get('sigma_a') });
      expect(readReferenceStats(fidOnly).pool3).toBeUndefined();

      const bad = join(dir, 'bad.npz');
      writeNpzFile(bad, { x: get('mu_a') });
      expect(() => readReferenceStats(bad)).toThrow(/pool_3/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
