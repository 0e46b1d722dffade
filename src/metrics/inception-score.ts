/**
 * Inception score from classifier logits, as tfgan's classifier_score_from_logits (single split, the
 * references' use): p(y|x) = softmax(logits), p(y) = mean over x, IS = exp(E_x KL(p(y|x) ‖ p(y))), in float64.
 * Uniform logits give 1; N one-hot-like predictions over N distinct classes give N.
 */
import { fromHost, where, type Tensor } from '../tensor.js';
import { tidy } from '../scope.js';
import { argError } from '../errors.js';
import type { Matrix } from './fid.js';

export function inceptionScore(logits: Matrix): number {
  return tidy(() => {
    const l = (typeof (logits as Tensor).dispose === 'function' ? (logits as Tensor) : fromHost(logits as never)).to('float64');
    if (l.ndim !== 2 || l.shape[0] < 1) argError('logits', 'a [N, classes] matrix', l.shape);
    const logp = l.logSoftmax(1);
    const p = logp.exp();
    const logq = p.mean(0).log().unsqueeze(0);
    // p·(log p − log q), with 0·log 0 = 0 where p underflows to 0.
    const terms = where(p.gt(0), p.mul(logp.sub(logq)), 0);
    return Math.exp(terms.sum(1).mean().item());
  });
}
