// Flow++ building blocks of score_flow models/flowpp/modules_cifar10.py and modules_imagenet32.py, in the
// reference's NHWC layout: data-dependent-initialised conv / dense (CIFAR), weight-normalised conv
// (ImageNet32), layer norm, gated residual convolution, gated multi-head self-attention.
//
// Parameter names are the reference's leaf names split at the layer boundary (`block0_conv.c1.weight` for
// `block0_conv_c1_W`). Convolution weights are stored as libtorch [out, in, kh, kw]; the TS name map
// converts the reference's layouts (the CIFAR conv2d runs its HWIO kernel over NWHC-read input, i.e.
// spatially transposed; the ImageNet32 one reads NHWC).
//
// Data-dependent initialisation (the reference's first `model.init` on a batch): while InitCtx::active,
// each layer redraws its weights on the batch it sees and records the statistics of its output.
#pragma once
#include "common.h"

#include <string>
#include <vector>

namespace sf {
namespace flowpp {

// What a layer's output looked like on the init batch, after its data-dependent initialisation.
struct InitStat {
  std::string kind;
  double target_std;        // the init_scale the layer aimed at
  double max_abs_mean;      // over output channels (or positions for Norm)
  double min_var, max_var;  // ditto
};

struct InitCtx {
  bool active = false;
  at::Generator gen;
  std::vector<InitStat> stats;

  explicit InitCtx(at::Generator g) : gen(std::move(g)) {}
  // N(0, std²) drawn on the CPU from `gen` in float32 (the model's build dtype), then moved like `like`.
  at::Tensor Normal(at::IntArrayRef shape, double std, const at::Tensor& like);
  // Records mean/variance of y over every axis but `keep_from` onwards (y is NHWC).
  void Record(const std::string& kind, double target_std, const at::Tensor& y, int64_t keep_from);
};

at::Tensor ConcatElu(const at::Tensor& x);  // elu(cat([x, -x], last axis))
at::Tensor Gate(const at::Tensor& x);       // a·σ(b) for (a, b) the two halves of the last axis

// Convolutions: NHWC in, NHWC out, SAME padding, stride 1.
struct Conv : torch::nn::Module {
  virtual at::Tensor Forward(const at::Tensor& x) = 0;
};

// modules_cifar10.conv2d: `<name>_W`, `<name>_b`; W ~ N(0, 0.05) rescaled on the init batch.
struct DdiConv : Conv {
  std::shared_ptr<InitCtx> ctx;
  double init_scale;
  at::Tensor weight, bias;
  DdiConv(std::shared_ptr<InitCtx> c, int64_t in, int64_t out, double init_scale, int64_t k = 3);
  at::Tensor Forward(const at::Tensor& x) override;
};

// modules_imagenet32.conv2d (weight normalisation): `<name>_V` ~ N(0, 0.05), `_g`, `_b` from the init batch.
struct WnConv : Conv {
  std::shared_ptr<InitCtx> ctx;
  double init_scale;
  at::Tensor V, g, b;
  WnConv(std::shared_ptr<InitCtx> c, int64_t in, int64_t out, double init_scale, int64_t k = 3);
  at::Tensor Forward(const at::Tensor& x) override;
};

// modules_cifar10.dense / nin over the last axis: `<name>_W` [in, out], `<name>_b`.
struct Dense : torch::nn::Module {
  std::shared_ptr<InitCtx> ctx;
  double init_scale;
  at::Tensor W, b;
  Dense(std::shared_ptr<InitCtx> c, int64_t in, int64_t out, double init_scale = 1.0);
  at::Tensor Forward(const at::Tensor& x);
};

// modules_cifar10.layernorm over the last axis (eps 1e-5): `<name>_g`, `<name>_b` (reference [1,1,1,C]).
struct LayerNorm : torch::nn::Module {
  at::Tensor g, b;
  explicit LayerNorm(int64_t c);
  at::Tensor Forward(const at::Tensor& x);
};

enum class ConvKind { kDdi, kWeightNorm };
std::shared_ptr<Conv> MakeConv(ConvKind kind, std::shared_ptr<InitCtx> c, int64_t in, int64_t out,
                               double init_scale = 1.0);

// gated_conv / gated_resnet: x + gate(c2(concat_elu(c1(concat_elu x) [+ a_proj(concat_elu a)]))).
// c2 is a dense layer (use_nin) or a conv; `a` (the context) is optional.
struct GatedConv : torch::nn::Module {
  std::shared_ptr<Conv> c1;
  std::shared_ptr<Dense> a_proj, c2_nin;
  std::shared_ptr<Conv> c2_conv;
  GatedConv(ConvKind kind, std::shared_ptr<InitCtx> c, int64_t filters, int64_t aux_channels, bool use_nin);
  at::Tensor Forward(const at::Tensor& x, const at::Tensor& a);
};

// gated_attn: x + gate(proj2(MHSA(proj1(x + pos_emb)))); heads over H·W positions.
struct GatedAttn : torch::nn::Module {
  int64_t heads;
  std::shared_ptr<Dense> proj1, proj2;
  GatedAttn(std::shared_ptr<InitCtx> c, int64_t filters, int64_t heads);
  at::Tensor Forward(const at::Tensor& x, const at::Tensor& pos_emb);
};

}  // namespace flowpp
}  // namespace sf
