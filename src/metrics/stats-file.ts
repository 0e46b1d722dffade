/**
 * Reference statistics files. The references (score_sde `assets/stats/*_stats.npz`) store the dataset's raw
 * Inception activations under `pool_3` ([N, 2048] float32) and compute FID/KID from them; pytorch-fid's
 * files store `mu` and `sigma`. We write all three (plus `logits` when given), so one file serves both, and
 * read either kind.
 */
import { readNpzFile, writeNpzFile } from '../formats/index.js';
import type { HostTensor } from '../host-tensor.js';
import type { Tensor } from '../tensor.js';
import { tidy } from '../scope.js';
import { ScoreflowError } from '../errors.js';
import { activationStatistics, type Matrix } from './fid.js';

export interface ReferenceStats {
  /** Raw activations [N, D] (the references' `pool_3`), when the file has them. */
  pool3?: HostTensor;
  /** Mean [D] and covariance [D, D] (float64): from the file, else computed from pool3. */
  mu: HostTensor;
  sigma: HostTensor;
  logits?: HostTensor;
}

const toHost = (t: Matrix): HostTensor => (typeof (t as Tensor).dispose === 'function' ? (t as Tensor).toHost() : (t as HostTensor));

/** Writes `pool_3` (float32), `mu`, `sigma` (float64) and optionally `logits` to an .npz file. */
export function writeReferenceStats(path: string, pool3: Matrix, opts: { logits?: Matrix } = {}): void {
  const { mu, sigma } = tidy(() => {
    const s = activationStatistics(pool3);
    return { mu: s.mu.toHost(), sigma: s.sigma.toHost() };
  });
  const p = toHost(pool3);
  const pool = p.dtype === 'float32' ? p : tidy(() => (typeof (pool3 as Tensor).dispose === 'function'
    ? (pool3 as Tensor).to('float32').toHost() : convertFloat32(p)));
  const arrays: Record<string, HostTensor> = { pool_3: pool, mu, sigma };
  if (opts.logits) arrays.logits = toHost(opts.logits);
  writeNpzFile(path, arrays);
}

function convertFloat32(h: HostTensor): HostTensor {
  if (h.dtype !== 'float64') throw new ScoreflowError('ERR_ARG', `pool3: expected float32 or float64 activations, got ${h.dtype}`);
  return { dtype: 'float32', shape: [...h.shape], data: Float32Array.from(h.data as Float64Array) };
}

/** Reads a stats file with `pool_3` (references) and/or `mu` + `sigma` (pytorch-fid). */
export function readReferenceStats(path: string): ReferenceStats {
  const m = readNpzFile(path);
  const pool3 = m.get('pool_3');
  let mu = m.get('mu');
  let sigma = m.get('sigma');
  if (!(mu && sigma)) {
    if (!pool3) {
      throw new ScoreflowError('ERR_FORMAT', `${path}: a stats file needs 'pool_3' (activations) or 'mu' and 'sigma'; it has ${[...m.keys()].join(', ') || 'no arrays'}`);
    }
    const s = tidy(() => {
      const st = activationStatistics(pool3);
      return { mu: st.mu.toHost(), sigma: st.sigma.toHost() };
    });
    mu = s.mu;
    sigma = s.sigma;
  }
  return { pool3, mu, sigma, logits: m.get('logits') };
}
