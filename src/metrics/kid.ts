/**
 * Kernel Inception Distance: the unbiased MMD² with the cubic polynomial kernel k(x, y) = (xᵀy/d + 1)³,
 * as tfgan's kernel_classifier_distance_and_std_from_activations computes it (the block estimator of
 * arXiv:1307.1954): both sets are split, in order, into n_b = ⌈max(N_a, N_b)/maxBlockSize⌉ blocks of
 * near-equal size (the first blocks get the smaller size), the unbiased MMD² is computed within each
 * block pair, and KID is their mean; the standard error is std(blocks, ddof=1)/√n_b (NaN with one block).
 *
 * maxBlockSize defaults to 1024, tfgan's default and what the references' evaluation uses (it calls
 * kernel_classifier_distance_from_activations without the argument): 50k vs 50k activations give 49
 * blocks of 1020/1021 rows. Kernel matrices are block² in size, so memory stays small; a larger block
 * lowers the estimator's variance. The blocks assume both sets are in random order. Computed in float64
 * (tfgan uses the activations' dtype, float32), so values agree to float32 rounding.
 */
import { fromHost, type Tensor } from '../tensor.js';
import { tidy } from '../scope.js';
import { argError, checkInt } from '../errors.js';
import type { Matrix } from './fid.js';
import { trace } from './linalg.js';

export interface KidOptions { maxBlockSize?: number }
export interface KidResult { kid: number; std: number; blocks: number }

const isHost = (t: Matrix): boolean => typeof (t as Tensor).dispose !== 'function';

function blockBounds(n: number, blocks: number): number[] {
  const v = Math.floor(n / blocks);
  const plusOne = n - v * blocks;
  const bounds = [0];
  for (let i = 0; i < blocks; i++) bounds.push(bounds[i] + (i < blocks - plusOne ? v : v + 1));
  return bounds;
}

/** KID and its standard error (tfgan kernel_classifier_distance_and_std_from_activations). */
export function kernelInceptionDistanceAndStd(actsA: Matrix, actsB: Matrix, opts: KidOptions = {}): KidResult {
  const maxBlock = checkInt('maxBlockSize', opts.maxBlockSize ?? 1024, 2);
  return tidy(() => {
    const a = (isHost(actsA) ? fromHost(actsA as never) : (actsA as Tensor)).to('float64');
    const b = (isHost(actsB) ? fromHost(actsB as never) : (actsB as Tensor)).to('float64');
    if (a.ndim !== 2 || b.ndim !== 2 || a.shape[1] !== b.shape[1]) {
      argError('activations', 'two [N, D] matrices with the same D', [a.shape, b.shape]);
    }
    const [na, nb, dim] = [a.shape[0], b.shape[0], a.shape[1]];
    const blocks = Math.ceil(Math.max(na, nb) / maxBlock);
    const ia = blockBounds(na, blocks);
    const ib = blockBounds(nb, blocks);
    if (ia[1] < 2 || ib[1] < 2) argError('activations', 'at least 2 rows per block in each set', [na, nb, blocks]);
    const kernel = (x: Tensor, y: Tensor) => x.matmul(y.transpose(0, 1)).div(dim).add(1).pow(3);
    const ests: number[] = [];
    for (let i = 0; i < blocks; i++) {
      ests.push(tidy(() => {
        const x = a.slice(0, ia[i], ia[i + 1]);
        const y = b.slice(0, ib[i], ib[i + 1]);
        const m = x.shape[0];
        const n = y.shape[0];
        const kxx = kernel(x, x);
        const kyy = kernel(y, y);
        const offXX = (kxx.sum().item() - trace(kxx)) / (m * (m - 1));
        const offYY = (kyy.sum().item() - trace(kyy)) / (n * (n - 1));
        return offXX + offYY - 2 * kernel(x, y).mean().item();
      }));
    }
    const mean = ests.reduce((s, e) => s + e, 0) / blocks;
    const std = blocks <= 1 ? NaN : Math.sqrt(ests.reduce((s, e) => s + (e - mean) ** 2, 0) / (blocks - 1) / blocks);
    return { kid: mean, std, blocks };
  });
}

/** KID (tfgan kernel_classifier_distance_from_activations, max_block_size 1024 by default). */
export function kernelInceptionDistance(actsA: Matrix, actsB: Matrix, opts: KidOptions = {}): number {
  return kernelInceptionDistanceAndStd(actsA, actsB, opts).kid;
}
