// Mixed precision: a version shim over libtorch's autocast (1.13: set_cpu_enabled / set_enabled and the
// per-device dtype setters; 2.4+: set_autocast_enabled(device, on) / set_autocast_dtype(device, dtype)),
// RAII scopes, and the device check that refuses bf16 where it cannot run.
//
// Autocast state is thread-local in libtorch: a scope set on the JS thread does not reach libuv's pool,
// so TensorJob captures the caller's state (AutocastState::Capture) and re-applies it inside Execute,
// as it does for grad mode. Casts made under autocast are recorded in the forward graph, so the backward
// needs no autocast: gradients of float32 leaves come back float32.
#pragma once
#include "common.h"

namespace sf {

// The precision a network forward runs in: float32, or bfloat16 autocast (weights stay float32).
enum class Precision { kFp32, kBf16 };

// 'fp32' | 'bf16' (undefined / null: fp32); anything else is an ERR_ARG naming the accepted values.
Precision GetPrecision(const Napi::Value& v, const char* name);
const char* PrecisionName(Precision p);

// Throws ERR_DEVICE with the reason when `p` cannot run on `device` (a CUDA device without bf16
// support, a device type autocast does not cover). fp32 always passes.
void CheckPrecision(Precision p, const c10::Device& device);

// The autocast switches of the calling thread (CPU and CUDA), and their re-application elsewhere.
struct AutocastState {
  bool cpu = false;
  at::ScalarType cpu_dtype = at::kBFloat16;
  bool cuda = false;
  at::ScalarType cuda_dtype = at::kHalf;
  static AutocastState Capture();
  bool any() const { return cpu || cuda; }
};

// Applies a state for a scope and restores the previous one after (clearing the cast cache when the
// outermost autocast scope of the thread closes, as torch.autocast's __exit__ does).
class AutocastRestore {
 public:
  explicit AutocastRestore(const AutocastState& s);
  ~AutocastRestore();
  AutocastRestore(const AutocastRestore&) = delete;
  AutocastRestore& operator=(const AutocastRestore&) = delete;

 private:
  AutocastState prev_;
  bool active_;
};

// Autocast to `p` for `device`'s type for the scope (a no-op for fp32): the one way the network forward
// enters reduced precision.
class AutocastScope {
 public:
  AutocastScope(Precision p, const c10::Device& device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  std::optional<AutocastRestore> inner_;
};

}  // namespace sf
