// Flow++ invertible steps of score_flow models/flowpp/modules_cifar10.py / modules_imagenet32.py, NHWC:
// CheckerboardSplit (and its inverse module, the merge), TupleFlip, Norm, Pointwise (the CIFAR invertible
// 1x1), MixLogisticAttnCoupling (both variants) and the final Sigmoid.
//
// A flow state is one tensor (an image) or a pair (the two checkerboard halves, [B, H, W/2, C] each).
// Step(x, context, inverse) returns the new state and the log-determinant [B] (undefined for the
// volume-preserving split, merge and flip), the reference's `logp` convention.
#pragma once
#include "nn/flowpp/layers.h"

#include <utility>
#include <vector>

namespace sf {
namespace flowpp {

using State = std::vector<at::Tensor>;

struct FlowStep : torch::nn::Module {
  virtual std::pair<State, at::Tensor> Step(const State& x, const at::Tensor& context, bool inverse) = 0;
};

// Splits the width into even / odd columns; `merge` is the reference's inverse_module=True.
struct CheckerboardSplit : FlowStep {
  bool merge;
  explicit CheckerboardSplit(bool merge_) : merge(merge_) {}
  std::pair<State, at::Tensor> Step(const State& x, const at::Tensor& context, bool inverse) override;
};

struct TupleFlip : FlowStep {
  std::pair<State, at::Tensor> Step(const State& x, const at::Tensor& context, bool inverse) override;
};

// Per position and channel affine: params norm{i}_g, norm{i}_b of shape [H, W/2, C], data-dependent init
// (zero mean, unit variance over the init batch), g clamped ≥ 1e-10, logdet Σ log g.
struct Norm : FlowStep {
  std::shared_ptr<InitCtx> ctx;
  std::vector<at::Tensor> g, b;
  Norm(std::shared_ptr<InitCtx> c, int64_t n, at::IntArrayRef shape);
  std::pair<State, at::Tensor> Step(const State& x, const at::Tensor& context, bool inverse) override;
};

// Invertible 1x1 over channels, W{i} [C, C] = I + 0.001·N(0, 1); logdet H·W·log|det W|.
struct Pointwise : FlowStep {
  std::vector<at::Tensor> W;
  Pointwise(std::shared_ptr<InitCtx> c, int64_t n, int64_t channels);
  std::pair<State, at::Tensor> Step(const State& x, const at::Tensor& context, bool inverse) override;
};

// u = σ(h), logdet Σ −softplus(h) − softplus(−h); inverse by the clipped logit (safe_log, 1e-7).
struct Sigmoid : FlowStep {
  std::pair<State, at::Tensor> Step(const State& x, const at::Tensor& context, bool inverse) override;
};

struct CouplingConfig {
  ConvKind conv = ConvKind::kDdi;  // CIFAR-10: data-dependent conv, output conv `block{last}_proj_out`
                                   // ImageNet32: weight norm, concat_elu + `block{last}_c2`
  int64_t channels = 3, height = 32, half_width = 16;
  int64_t filters = 96, blocks = 2, components = 32, heads = 4;
  int64_t context_channels = 32;
};

// MixLogisticAttnCoupling: (c, e) → (c, exp(s)·logit(MixLogisticCDF(e)) + t) with the mixture, s = tanh(·) and
// t predicted from c and the context. Inverse: 200-step bisection of the mixture CDF.
struct Coupling : FlowStep {
  CouplingConfig cfg;
  at::Tensor pos_emb;
  std::shared_ptr<Conv> proj_in, proj_out;
  std::vector<std::shared_ptr<GatedConv>> convs;
  std::vector<std::shared_ptr<LayerNorm>> ln1, ln2;
  std::vector<std::shared_ptr<GatedAttn>> attns;
  Coupling(std::shared_ptr<InitCtx> c, const CouplingConfig& cfg);
  std::pair<State, at::Tensor> Step(const State& x, const at::Tensor& context, bool inverse) override;
};

// Elementwise pieces of logistic.py, exposed for tests of the bisection.
at::Tensor MixLogisticLogCdf(const at::Tensor& x, const at::Tensor& logits, const at::Tensor& means,
                             const at::Tensor& logscales);
at::Tensor MixLogisticLogPdf(const at::Tensor& x, const at::Tensor& logits, const at::Tensor& means,
                             const at::Tensor& logscales);
at::Tensor MixLogisticInvCdf(const at::Tensor& y, const at::Tensor& logits, const at::Tensor& means,
                             const at::Tensor& logscales, int64_t iters = 200, double bounds_scale = 200.0);

}  // namespace flowpp
}  // namespace sf
