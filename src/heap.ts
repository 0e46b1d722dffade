/**
 * Which CPU allocator libtorch uses in this process. On glibc < 2.38, libtorch's posix_memalign blocks of
 * a few MB fragment the heap (glibc bug 30723: aligned-allocation remainders never coalesce once the
 * dynamic mmap threshold has risen), so a training loop's resident memory creeps up for ever; the
 * addon's malloc-backed allocator (native/cpu_allocator.cc) has no remainders and the same speed.
 * `SCOREFLOW_CPU_ALLOCATOR=malloc|libtorch` overrides the choice.
 */
import { argError } from './errors.js';

export type CpuAllocatorChoice = 'malloc' | 'libtorch';

const FIXED_IN = [2, 38] as const;

/** The allocator to install for a C library version (null: not glibc) and the override variable. */
export function chooseCpuAllocator(glibc: string | null, override: string | undefined): CpuAllocatorChoice {
  if (override !== undefined && override !== '') {
    if (override === 'malloc' || override === 'libtorch') return override;
    argError('SCOREFLOW_CPU_ALLOCATOR', "'malloc' or 'libtorch' (or unset: malloc on glibc < 2.38)", override);
  }
  if (glibc === null) return 'libtorch';
  const [major = 0, minor = 0] = glibc.split('.').map(Number);
  const affected = major < FIXED_IN[0] || (major === FIXED_IN[0] && minor < FIXED_IN[1]);
  return affected ? 'malloc' : 'libtorch';
}
