// score_sde_pytorch models/layers.py: the reference initialisers (default_init and what PyTorch's
// reset_parameters draws first), ddpm_conv1x1 / ddpm_conv3x3, NIN, and the nn.GroupNorm / nn.Linear
// wrappers the blocks use.
#pragma once
#include "common.h"
#include "nn/ncsnpp/helpers.h"

namespace sf {
namespace ncsnpp_detail {

// Reference initialisers, drawing from one generator in construction order.
struct Init {
  at::Generator gen;

  // layers.default_init(scale) = variance_scaling(scale, 'fan_avg', 'uniform'), in_axis 1, out_axis 0.
  at::Tensor DefaultInit(at::IntArrayRef shape, double scale);

  // What nn.Conv2d / nn.Linear reset_parameters() draws (kaiming_uniform_(a=sqrt 5), then the bias);
  // the values are overwritten by the reference, only the generator's advance matters.
  void ConsumeTorchDefault(at::IntArrayRef wshape);
};

struct GroupNormL : Layer {
  int64_t groups, channels;
  at::Tensor weight, bias;
  explicit GroupNormL(int64_t c);
  at::Tensor Call(const at::Tensor& x, const at::Tensor&) override;
};

// layers.ddpm_conv3x3 / ddpm_conv1x1 (nn.Conv2d + default_init(init_scale), zero bias).
struct ConvL : Layer {
  at::Tensor weight, bias;
  int64_t stride, padding;
  ConvL(Init& init, int64_t in, int64_t out, int64_t k, int64_t stride_, int64_t padding_, double init_scale);
  at::Tensor Call(const at::Tensor& x, const at::Tensor&) override;
};
std::shared_ptr<ConvL> Conv3x3(Init& init, int64_t in, int64_t out, double init_scale = 1.0, int64_t stride = 1,
                               int64_t padding = 1);
std::shared_ptr<ConvL> Conv1x1(Init& init, int64_t in, int64_t out, double init_scale = 1.0);

// nn.Linear with default_init() weight and zero bias.
struct LinearL : Layer {
  at::Tensor weight, bias;
  LinearL(Init& init, int64_t in, int64_t out);
  at::Tensor Call(const at::Tensor& x, const at::Tensor&) override;
};

// layers.NIN: W [in, out], b [out]; y = x·W + b over the channel axis. NCHW in → NCHW-contiguous out;
// channels-last in → channels-last out (one matmul over the [B·H·W, C] rows, as the reference).
at::Tensor NinApply(const at::Tensor& x, const at::Tensor& W, const at::Tensor& b);

struct NinL : Layer {
  at::Tensor W, b;
  NinL(Init& init, int64_t in, int64_t out, double init_scale = 0.1);
  at::Tensor Call(const at::Tensor& x, const at::Tensor&) override;
};

}  // namespace ncsnpp_detail
}  // namespace sf
