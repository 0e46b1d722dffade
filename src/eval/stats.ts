/** Mean and normal-approximation 95% confidence interval of per-example values: mean ± 1.96·std/√n. */
export interface MeanCi {
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1 in the denominator; 0 for n ≤ 1). */
  std: number;
  /** 1.96·std/√n. */
  halfWidth: number;
  ci95: [number, number];
}

export function meanCi(values: ArrayLike<number>): MeanCi {
  const n = values.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i]!;
  const mean = n > 0 ? sum / n : NaN;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i]! - mean) ** 2;
  const std = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
  const halfWidth = n > 0 ? (1.96 * std) / Math.sqrt(n) : NaN;
  return { n, mean, std, halfWidth, ci95: [mean - halfWidth, mean + halfWidth] };
}
