// What every NCSN++ layer family shares: Python's //, the nonlinearities, the memory-format test, the
// GroupNorm group rule and the generic Layer interface of `all_modules`.
#pragma once
#include "pch.h"

#include <string>

namespace sf {
namespace ncsnpp_detail {

inline int64_t FloorDiv(int64_t a, int64_t b) {  // Python's //
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

enum class Act { kSwish, kElu, kRelu, kLRelu };

inline at::Tensor ApplyAct(Act a, const at::Tensor& x) {
  switch (a) {
    case Act::kSwish: return at::silu(x);
    case Act::kElu: return at::elu(x);
    case Act::kRelu: return at::relu(x);
    case Act::kLRelu: return at::leaky_relu(x, 0.2);
  }
  return x;
}

// True for a channels-last (NHWC-strided) tensor that is not also NCHW-contiguous.
inline bool IsChannelsLast(const at::Tensor& x) {
  return x.dim() == 4 && !x.is_contiguous() && x.is_contiguous(at::MemoryFormat::ChannelsLast);
}

inline int64_t NumGroups(int64_t c) { return std::min<int64_t>(c / 4, 32); }

// Every entry of `all_modules` is a Layer with one generic call: (a, b) = (x, act(temb)) for
// resblocks, (x, undefined) for single-input layers, (pyramid, h) for Combine.
struct Layer : torch::nn::Module {
  virtual at::Tensor Call(const at::Tensor& a, const at::Tensor& b) = 0;
};

}  // namespace ncsnpp_detail
}  // namespace sf
