// score_sde_pytorch models/layers.py in libtorch: default_init, ddpm_conv1x1/3x3, NIN, plus the
// nn.GroupNorm / nn.Linear wrappers every block uses.
#include "pch.h"
#include "nn/ncsnpp/layers.h"

#include <cmath>

namespace sf {
namespace ncsnpp_detail {

at::Tensor Init::DefaultInit(at::IntArrayRef shape, double scale) {
  if (scale == 0) scale = 1e-10;
  double numel = 1;
  for (auto s : shape) numel *= static_cast<double>(s);
  const double rf = numel / static_cast<double>(shape[1]) / static_cast<double>(shape[0]);
  const double fan_in = static_cast<double>(shape[1]) * rf;
  const double fan_out = static_cast<double>(shape[0]) * rf;
  const double variance = scale / ((fan_in + fan_out) / 2);
  at::Tensor r = at::rand(shape, gen, at::TensorOptions().dtype(at::kFloat));
  return (r * 2.0 - 1.0) * std::sqrt(3 * variance);
}

void Init::ConsumeTorchDefault(at::IntArrayRef wshape) {
  int64_t fan_in = 1;
  for (size_t i = 1; i < wshape.size(); ++i) fan_in *= wshape[i];
  const double gain = std::sqrt(2.0 / (1 + 5.0));
  const double bound = std::sqrt(3.0) * (gain / std::sqrt(static_cast<double>(fan_in)));
  at::Tensor w = at::empty(wshape, at::kFloat);
  w.uniform_(-bound, bound, gen);
  const double bb = 1.0 / std::sqrt(static_cast<double>(fan_in));
  at::Tensor b = at::empty({wshape[0]}, at::kFloat);
  b.uniform_(-bb, bb, gen);
}

GroupNormL::GroupNormL(int64_t c) : groups(NumGroups(c)), channels(c) {
  if (groups < 1 || c % groups != 0)
    ThrowArg("ncsnpp: GroupNorm over " + std::to_string(c) + " channels needs min(C/4, 32) groups to divide C");
  weight = register_parameter("weight", at::ones({c}, at::kFloat));
  bias = register_parameter("bias", at::zeros({c}, at::kFloat));
}

at::Tensor GroupNormL::Call(const at::Tensor& x, const at::Tensor&) {
  // Under autocast x arrives reduced-precision: normalise in the weights' dtype (float32 statistics, as
  // CUDA autocast does for group_norm; libtorch 1.13's CPU group_norm also refuses mixed dtypes).
  if (x.scalar_type() != weight.scalar_type() && (x.scalar_type() == at::kBFloat16 || x.scalar_type() == at::kHalf))
    return at::group_norm(x.to(weight.scalar_type()), groups, weight, bias, 1e-6, true);
  return at::group_norm(x, groups, weight, bias, 1e-6, true);
}

ConvL::ConvL(Init& init, int64_t in, int64_t out, int64_t k, int64_t stride_, int64_t padding_, double init_scale)
    : stride(stride_), padding(padding_) {
  init.ConsumeTorchDefault({out, in, k, k});
  weight = register_parameter("weight", init.DefaultInit({out, in, k, k}, init_scale));
  bias = register_parameter("bias", at::zeros({out}, at::kFloat));
}

at::Tensor ConvL::Call(const at::Tensor& x, const at::Tensor&) {
  return at::conv2d(x, weight, bias, at::IntArrayRef({stride, stride}), at::IntArrayRef({padding, padding}));
}

std::shared_ptr<ConvL> Conv3x3(Init& init, int64_t in, int64_t out, double init_scale, int64_t stride,
                               int64_t padding) {
  return std::make_shared<ConvL>(init, in, out, 3, stride, padding, init_scale);
}

std::shared_ptr<ConvL> Conv1x1(Init& init, int64_t in, int64_t out, double init_scale) {
  return std::make_shared<ConvL>(init, in, out, 1, 1, 0, init_scale);
}

LinearL::LinearL(Init& init, int64_t in, int64_t out) {
  init.ConsumeTorchDefault({out, in});
  weight = register_parameter("weight", init.DefaultInit({out, in}, 1.0));
  bias = register_parameter("bias", at::zeros({out}, at::kFloat));
}

at::Tensor LinearL::Call(const at::Tensor& x, const at::Tensor&) { return at::linear(x, weight, bias); }

at::Tensor NinApply(const at::Tensor& x, const at::Tensor& W, const at::Tensor& b) {
  const int64_t B = x.size(0), C = x.size(1), H = x.size(2), Wd = x.size(3);
  const int64_t O = W.size(1);
  if (IsChannelsLast(x)) {
    at::Tensor rows = x.permute({0, 2, 3, 1}).reshape({B * H * Wd, C});
    return at::addmm(b, rows, W).view({B, H, Wd, O}).permute({0, 3, 1, 2});
  }
  at::Tensor xv = x.reshape({B, C, H * Wd});
  at::Tensor y = at::baddbmm(b.view({1, O, 1}).expand({B, O, H * Wd}), W.t().unsqueeze(0).expand({B, O, C}), xv);
  return y.view({B, O, H, Wd});
}

NinL::NinL(Init& init, int64_t in, int64_t out, double init_scale) {
  W = register_parameter("W", init.DefaultInit({in, out}, init_scale));
  b = register_parameter("b", at::zeros({out}, at::kFloat));
}

at::Tensor NinL::Call(const at::Tensor& x, const at::Tensor&) { return NinApply(x, W, b); }

}  // namespace ncsnpp_detail
}  // namespace sf
