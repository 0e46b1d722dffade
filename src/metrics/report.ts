/**
 * The references' evaluation report (score_sde `report_<ckpt>.npz`, spec §9): `IS` from the samples'
 * logits, `fid` and `kid` between the data's and the samples' pool_3 activations.
 */
import { writeNpzFile } from '../formats/index.js';
import { tidy } from '../scope.js';
import { activationStatistics, frechetDistance, type Matrix } from './fid.js';
import { kernelInceptionDistance, type KidOptions } from './kid.js';
import { inceptionScore } from './inception-score.js';
import type { ReferenceStats } from './stats-file.js';

export interface SampleQuality {
  IS: number;
  fid: number;
  /** NaN when the reference stats hold only mu/sigma (KID needs the activations). */
  kid: number;
}

/** IS, FID and KID of samples (their pool3 and logits) against reference stats. */
export function sampleQuality(samples: { pool3: Matrix; logits: Matrix }, reference: ReferenceStats, opts: KidOptions = {}): SampleQuality {
  return tidy(() => {
    const s = activationStatistics(samples.pool3);
    const fid = frechetDistance(reference.mu, reference.sigma, s.mu, s.sigma);
    const kid = reference.pool3 ? kernelInceptionDistance(reference.pool3, samples.pool3, opts) : NaN;
    return { IS: inceptionScore(samples.logits), fid, kid };
  });
}

/** Writes `IS`, `fid`, `kid` as 0-d float64 arrays, the keys of the references' report npz. */
export function writeReport(path: string, r: SampleQuality): void {
  const scalar = (v: number) => ({ dtype: 'float64' as const, shape: [], data: Float64Array.of(v) });
  writeNpzFile(path, { IS: scalar(r.IS), fid: scalar(r.fid), kid: scalar(r.kid) });
}
