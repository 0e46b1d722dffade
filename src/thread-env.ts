/**
 * The thread environment libtorch's OpenMP (libgomp) and OpenBLAS read once, when the addon loads; what is
 * already set (by the user) wins. Measured on 2 cores (scripts/bench/wait-policy.ts, docs/benchmarks.md):
 *  - OMP_NUM_THREADS: this libtorch build otherwise starts one intra-op thread on a 2-vCPU machine (it counts
 *    physical cores), so the default is every core the process may run on.
 *  - OPENBLAS_NUM_THREADS=1: OpenBLAS runs inside libtorch's already-parallel ops; its own pool on top
 *    oversubscribes (25 % on the training step, 2.3x on the likelihood).
 *  - the wait policy: libgomp's threads spin a bounded while (GOMP_SPINCOUNT) before sleeping at the end of
 *    a parallel region. OMP_WAIT_POLICY=PASSIVE (sleep at once) costs one futex sleep and wake-up per
 *    region: with the likelihood's small ops that is ~2x per evaluation. A bounded spin keeps most of the
 *    speed while an idle pool gives its cores back within a fraction of a millisecond. Setting
 *    OMP_WAIT_POLICY or GOMP_SPINCOUNT yourself replaces this choice.
 */
export const DEFAULT_SPINCOUNT = '10000';

/** The variables to set in `env` (those it lacks) for a process that may use `cores` cores. */
export function threadEnvDefaults(env: NodeJS.ProcessEnv, cores: number): Record<string, string> {
  const out: Record<string, string> = {};
  if (env.OMP_NUM_THREADS === undefined) out.OMP_NUM_THREADS = String(cores);
  if (env.OPENBLAS_NUM_THREADS === undefined) out.OPENBLAS_NUM_THREADS = '1';
  if (env.OMP_WAIT_POLICY === undefined && env.GOMP_SPINCOUNT === undefined) out.GOMP_SPINCOUNT = DEFAULT_SPINCOUNT;
  return out;
}
