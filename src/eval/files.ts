/**
 * Result files of the evaluation (spec §5.3): one npz per batch round, `<split>_ckpt_<c>_<kind>_<round>.npz`
 * holding the per-example values as `arr_0` (float64, np.savez_compressed layout), round = batch_id +
 * n_batches·repeat; a summary json per (split, ckpt, kind); the loss file `ckpt_<c>_loss.npz`.
 * Every file is written atomically (temp file + rename), so a killed evaluation leaves whole files only and
 * a re-run skips the rounds already on disk.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNpz, writeNpz } from '../formats/npz.js';
import { writeFileAtomic } from '../train/atomic.js';
import { ScoreflowError } from '../errors.js';

/** 'bpd' (probability-flow ODE) or 'bound' (variational upper bound). */
export type LikelihoodKind = 'bpd' | 'bound';

export const roundFileName = (split: string, ckpt: number, kind: LikelihoodKind, round: number): string =>
  `${split}_ckpt_${ckpt}_${kind}_${round}.npz`;
export const summaryFileName = (split: string, ckpt: number, kind: LikelihoodKind): string => `${split}_ckpt_${ckpt}_${kind}_summary.json`;
export const lossFileName = (ckpt: number): string => `ckpt_${ckpt}_loss.npz`;
export const checkpointFile = (workdir: string, ckpt: number): string => join(workdir, 'checkpoints', `checkpoint_${ckpt}.pth`);

export function writeRoundFile(path: string, values: Float64Array): void {
  writeFileAtomic(path, writeNpz([{ dtype: 'float64', shape: [values.length], data: values }], { compress: true }));
}

/** The per-example values of a round file (any float dtype), or undefined when there is none. */
export function readRoundFile(path: string): Float64Array | undefined {
  if (!existsSync(path)) return undefined;
  const a = readNpz(readFileSync(path)).get('arr_0');
  if (!a) throw new ScoreflowError('ERR_FORMAT', `${path}: no arr_0 array (delete the file to recompute it)`);
  return Float64Array.from(a.data as ArrayLike<number>);
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, new TextEncoder().encode(JSON.stringify(value, null, 2) + '\n'));
}

export function writeLossFile(path: string, losses: number[]): void {
  const all = Float64Array.from(losses);
  const mean = all.reduce((a, b) => a + b, 0) / Math.max(all.length, 1);
  writeFileAtomic(path, writeNpz({
    all_losses: { dtype: 'float64', shape: [all.length], data: all },
    mean_loss: { dtype: 'float64', shape: [], data: Float64Array.of(mean) },
  }, { compress: true }));
}
