/**
 * The thread environment libtorch's OpenMP (libgomp) and OpenBLAS read once, when the addon loads; what is
 * already set (by the user) wins. Measured on 2 cores (docs/benchmarks.md, scripts/bench/wait-policy.ts):
 *  - OMP_NUM_THREADS: this libtorch build otherwise starts one intra-op thread on a 2-vCPU machine (it counts
 *    physical cores), so the default is every core the process may run on.
 *  - OPENBLAS_NUM_THREADS=1: OpenBLAS runs inside libtorch's already-parallel ops; its own pool on top
 *    oversubscribes (25 % on the training step, 2.3x on the likelihood).
 *  - the wait policy. On an idle machine, threads that spin a while (libgomp's default, GOMP_SPINCOUNT
 *    300000, ~3 ms) between parallel regions make a likelihood evaluation ~2x faster than
 *    OMP_WAIT_POLICY=PASSIVE, which puts them to sleep at once. On a machine whose run queue is already
 *    longer than its cores, spinning steals the time slices the other thread of a region needs: there PASSIVE
 *    was 6-25x faster per evaluation. So the policy follows the load when the addon loads. Setting
 *    OMP_WAIT_POLICY or GOMP_SPINCOUNT yourself replaces this choice.
 */
export const IDLE_SPINCOUNT = '300000';

/**
 * The variables to set in `env` (those it lacks) for a process that may use `cores` cores, given the
 * 1-minute load average.
 */
export function threadEnvDefaults(env: NodeJS.ProcessEnv, cores: number, load1: number): Record<string, string> {
  const out: Record<string, string> = {};
  if (env.OMP_NUM_THREADS === undefined) out.OMP_NUM_THREADS = String(cores);
  if (env.OPENBLAS_NUM_THREADS === undefined) out.OPENBLAS_NUM_THREADS = '1';
  if (env.OMP_WAIT_POLICY === undefined && env.GOMP_SPINCOUNT === undefined) {
    if (load1 >= cores) out.OMP_WAIT_POLICY = 'PASSIVE';
    else out.GOMP_SPINCOUNT = IDLE_SPINCOUNT;
  }
  return out;
}
