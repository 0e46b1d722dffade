// libtorch's CPU allocator over plain malloc, for glibc < 2.38.
//
// libtorch allocates CPU tensors with posix_memalign(64). On glibc 2.36 the aligned path splits a heap
// chunk into a leading remainder, the block and a trailing remainder; once glibc's dynamic mmap threshold
// has risen (after the first large free), blocks of a few MB live on the heap and those remainders do
// not coalesce again (glibc bug 30723, fixed in 2.38): a loop that allocates and frees same-sized
// tensors grows the heap by megabytes per iteration. Allocating size + 64 bytes with malloc and aligning
// inside the block has no remainders, keeps the heap's speed (no page faults, unlike pinning a low mmap
// threshold) and its frees coalesce normally. The policy (when to install it) is in src/heap.ts.
#include "pch.h"
#include "common.h"
#include <c10/core/CPUAllocator.h>
#include <atomic>
#include <cstdlib>
#include <cstring>
#if defined(__GLIBC__)
#include <gnu/libc-version.h>
#include <malloc.h>
#endif

namespace sf {
namespace {

constexpr size_t kAlignment = 64;  // what c10's default CPU allocator guarantees (AVX-512 loads)

// Bytes held by live blocks and their peak since the last resetCpuPeak(): what a computation needs, which
// the resident set does not tell once freed pages are reused (src/device-memory.ts). Counted with
// malloc_usable_size, so nothing is stored per block.
std::atomic<int64_t> g_live{0};
std::atomic<int64_t> g_peak{0};

int64_t BlockBytes(void* raw) {
#if defined(__GLIBC__)
  return static_cast<int64_t>(malloc_usable_size(raw));
#else
  (void)raw;
  return 0;
#endif
}

void CountAlloc(void* raw) {
  const int64_t bytes = BlockBytes(raw);
  const int64_t live = g_live.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  int64_t peak = g_peak.load(std::memory_order_relaxed);
  while (live > peak && !g_peak.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
  }
}

// The aligned pointer is its own context (a "simple" data pointer for c10); the byte before it holds
// the distance back to the malloc'd block, so freeing needs nothing else.
void AlignedFree(void* p) {
  if (p == nullptr) return;
  auto* aligned = static_cast<uint8_t*>(p);
  void* raw = aligned - aligned[-1];
  g_live.fetch_sub(BlockBytes(raw), std::memory_order_relaxed);
  std::free(raw);
}

void* AlignedMalloc(size_t n) {
  if (n == 0) return nullptr;
  TORCH_CHECK(n <= SIZE_MAX - kAlignment, "scoreflow CPU allocator: cannot allocate ", n, " bytes");
  auto* raw = static_cast<uint8_t*>(std::malloc(n + kAlignment));
  TORCH_CHECK(raw != nullptr, "scoreflow CPU allocator: out of memory allocating ", n, " bytes");
  // malloc returns 16-byte aligned blocks, so the offset is 16, 32, 48 or 64: it fits in the byte before.
  auto* aligned = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(raw) + kAlignment) & ~(kAlignment - 1));
  aligned[-1] = static_cast<uint8_t>(aligned - raw);
  CountAlloc(raw);
  return aligned;
}

// libtorch 2.3 made allocate() non-const and added copy_data(); defining both signatures of allocate
// (without `override`) satisfies either base class, so one source compiles against 1.13 and 2.x.
struct MallocCpuAllocator final : at::Allocator {
  at::DataPtr allocate(size_t n) const {
    void* p = AlignedMalloc(n);
    return {p, p, &AlignedFree, at::Device(at::DeviceType::CPU)};
  }
  at::DataPtr allocate(size_t n) { return static_cast<const MallocCpuAllocator*>(this)->allocate(n); }
  at::DeleterFnPtr raw_deleter() const override { return &AlignedFree; }
  void copy_data(void* dest, const void* src, std::size_t count) const { std::memcpy(dest, src, count); }
};

MallocCpuAllocator g_malloc_allocator;

// useMallocCpuAllocator(): installs the allocator for every later CPU tensor; true when it is in use.
Napi::Value UseMallocCpuAllocator(const Napi::CallbackInfo& info) {
  // Priority 1 outranks c10's default (0) and yields to anything a host application set higher.
  c10::SetCPUAllocator(&g_malloc_allocator, /*priority=*/1);
  return Napi::Boolean::New(info.Env(), c10::GetCPUAllocator() == &g_malloc_allocator);
}

// heapInfo(): which C library and CPU allocator this process runs with; with the malloc allocator on
// glibc, the bytes its live blocks hold and their peak since the last resetCpuPeak() (else null).
Napi::Value HeapInfo(const Napi::CallbackInfo& info) {
  auto out = Napi::Object::New(info.Env());
#if defined(__GLIBC__)
  const bool counted = c10::GetCPUAllocator() == &g_malloc_allocator;
#else
  const bool counted = false;
#endif
  auto num = [&](int64_t v) { return counted ? Napi::Value(Napi::Number::New(info.Env(), static_cast<double>(v))) : info.Env().Null(); };
  out.Set("liveBytes", num(g_live.load()));
  out.Set("peakBytes", num(g_peak.load()));
#if defined(__GLIBC__)
  out.Set("glibc", gnu_get_libc_version());
#else
  out.Set("glibc", info.Env().Null());
#endif
  out.Set("cpuAllocator", c10::GetCPUAllocator() == &g_malloc_allocator ? "malloc" : "libtorch");
  return out;
}

// resetCpuPeak(): the peak restarts from the bytes live now.
Napi::Value ResetCpuPeak(const Napi::CallbackInfo& info) {
  g_peak.store(g_live.load());
  return info.Env().Undefined();
}

}  // namespace

void InitCpuAllocator(Napi::Env env, Napi::Object exports) {
  ExportFn(env, exports, "useMallocCpuAllocator", UseMallocCpuAllocator);
  ExportFn(env, exports, "heapInfo", HeapInfo);
  ExportFn(env, exports, "resetCpuPeak", ResetCpuPeak);
}

}  // namespace sf
