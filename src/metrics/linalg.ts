/** Small dense linear-algebra helpers on libtorch ops (float64 recommended). */
import { arange, type Tensor } from '../tensor.js';
import { tidy } from '../scope.js';
import { addon } from '../native.js';

/** Eigen-decomposition of a symmetric matrix: eigenvalues ascending, eigenvectors as columns. */
export function eigh(a: Tensor): { values: Tensor; vectors: Tensor } {
  const [values, vectors] = addon().linalgEigh(a) as [Tensor, Tensor];
  return { values, vectors };
}

/** The identity matrix (n×n) in `like`'s dtype and device. */
export function eyeLike(n: number, like: Tensor): Tensor {
  return tidy(() => {
    const i = arange(0, n, 1, { dtype: 'int64', device: like.device });
    return i.unsqueeze(1).eq(i.unsqueeze(0)).to(like.dtype);
  });
}

/** Trace of a square matrix, as a JS number. */
export function trace(a: Tensor): number {
  return tidy(() => a.mul(eyeLike(a.shape[0], a)).sum().item());
}

/**
 * The positive semi-definite square root of a symmetric PSD matrix: V·diag(√max(λ, 0))·Vᵀ. Eigenvalues that
 * round-off made slightly negative count as 0 (tfgan's _symmetric_matrix_square_root does the same for
 * singular values below 1e-10).
 */
export function sqrtmPsd(a: Tensor): Tensor {
  return tidy(() => {
    const { values, vectors } = eigh(symmetrize(a));
    return vectors.mul(values.clamp(0, null).sqrt().unsqueeze(0)).matmul(vectors.transpose(0, 1));
  });
}

/** (A + Aᵀ)/2. */
export function symmetrize(a: Tensor): Tensor {
  return tidy(() => a.add(a.transpose(0, 1)).mul(0.5));
}
