/**
 * A B A B timing: one warm-up run of each side, then `repeats` pairs, each pair run back to back so a load
 * change hits both sides alike. Reported: every run, the medians, the median of the per-pair ratios
 * (reference time / scoreflow time) and the 1-minute load average seen at each pair.
 */
import { load1 } from './machine.js';

export interface PairRow {
  measure: string;
  threads: number;
  batch: number;
  scoreflow: number[];
  reference: number[] | null;
  medianScoreflow: number;
  medianReference: number | null;
  /** Median over pairs of reference / scoreflow (> 1: scoreflow faster). */
  pairRatio: number | null;
  load: number[];
}

export const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Seconds one synchronous run of fn takes. */
export const seconds = (fn: () => void): number => { const t0 = performance.now(); fn(); return (performance.now() - t0) / 1000; };

/** `ours` returns the seconds of one run; `ref` resolves to the reference's (or is absent: scoreflow alone). */
export async function alternate(measure: string, threads: number, batch: number, repeats: number,
  ours: () => number, ref?: () => Promise<number>): Promise<PairRow> {
  ours();
  if (ref) await ref();
  const a: number[] = [], b: number[] = [], load: number[] = [];
  for (let i = 0; i < repeats; i++) {
    load.push(load1());
    // Which side goes first alternates too: a side that always follows the other would inherit its caches.
    if (ref && i % 2 === 1) { b.push(await ref()); a.push(ours()); } else { a.push(ours()); if (ref) b.push(await ref()); }
  }
  return {
    measure, threads, batch, scoreflow: a, reference: ref ? b : null, medianScoreflow: median(a),
    medianReference: ref ? median(b) : null, pairRatio: ref ? median(b.map((r, i) => r / a[i]!)) : null, load,
  };
}
