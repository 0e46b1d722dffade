/**
 * Negative log-likelihoods in bits per dimension, with the dequantisation offset of spec §5.1: for 8-bit
 * data uniformly dequantised and scaled, bpd = nll/(D·ln 2) + log2(256) − log2|d scaler⁻¹/dx| =
 * 7 for centered [−1, 1] data (score_sde_pytorch `7 − inverse_scaler(−1)`), 8 for [0, 1] data, 0 for a
 * continuous density.
 */
import { argError } from '../errors.js';
import type { Tensor } from '../tensor.js';

export type OffsetSpec = 'centered' | 'uncentered' | 'none' | number;

const OFFSETS: Record<string, number> = { centered: 7, uncentered: 8, none: 0 };

/** The additive offset in bits/dim. */
export function offsetBits(spec: OffsetSpec = 'centered'): number {
  if (typeof spec === 'number' && Number.isFinite(spec)) return spec;
  const v = OFFSETS[spec as string];
  if (v === undefined) argError('offset', `one of ${Object.keys(OFFSETS).join(', ')} or a number`, spec);
  return v;
}

/** nll (nats, per example) → bits/dim + offset. */
export function bitsPerDim(nll: Tensor, dims: number, spec: OffsetSpec = 'centered'): Tensor {
  return nll.div(dims * Math.LN2).add(offsetBits(spec));
}
