/**
 * `--threads N`: libtorch's intra-op threads for the whole command. OMP_NUM_THREADS is read once, when
 * libtorch loads (src/native.ts defaults it to every core the process may use), so it is set first for an
 * addon not loaded yet; setNumThreads then covers one that is loaded already (a test runner, a library user).
 */
export async function applyThreads(n: number): Promise<void> {
  process.env.OMP_NUM_THREADS = String(n);
  const { setNumThreads } = await import('../device.js');
  setNumThreads(n);
}
