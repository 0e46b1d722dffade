// Flow++ building blocks (see layers.h), checked against score_flow models/flowpp/modules_*.py.
#include "pch.h"
#include "nn/flowpp/layers.h"

#include <cmath>

namespace sf {
namespace flowpp {

at::Tensor InitCtx::Normal(at::IntArrayRef shape, double std, const at::Tensor& like) {
  return (at::randn(shape, gen, at::TensorOptions().dtype(at::kFloat)) * std).to(like.options());
}

void InitCtx::Record(const std::string& kind, double target_std, const at::Tensor& y, int64_t keep_from) {
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < keep_from; ++d) dims.push_back(d);
  at::Tensor yd = y.detach().to(at::kDouble);
  at::Tensor m = yd.mean(dims), v = yd.var(dims, /*unbiased=*/false);
  stats.push_back({kind, target_std, m.abs().max().item<double>(), v.min().item<double>(), v.max().item<double>()});
}

// Mean and 1/sqrt(var + 1e-6) over every axis but the last (the reference's m_init, v_init = E[y²] − m²).
static std::pair<at::Tensor, at::Tensor> ChannelStats(const at::Tensor& y) {
  std::vector<int64_t> dims;
  for (int64_t d = 0; d + 1 < y.dim(); ++d) dims.push_back(d);
  at::Tensor m = y.mean(dims);
  at::Tensor v = y.square().mean(dims) - m.square();
  return {m, at::rsqrt(v + 1e-6)};
}

at::Tensor ConcatElu(const at::Tensor& x) { return at::elu(at::cat({x, -x}, -1)); }

at::Tensor Gate(const at::Tensor& x) {
  auto ab = x.chunk(2, -1);
  return ab[0] * at::sigmoid(ab[1]);
}

static at::Tensor ConvNhwc(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& bias) {
  const int64_t pad = w.size(2) / 2;  // SAME for the odd kernels used here
  return at::conv2d(x.permute({0, 3, 1, 2}), w, bias, at::IntArrayRef({1, 1}), at::IntArrayRef({pad, pad}))
      .permute({0, 2, 3, 1});
}

DdiConv::DdiConv(std::shared_ptr<InitCtx> c, int64_t in, int64_t out, double s, int64_t k)
    : ctx(std::move(c)), init_scale(s) {
  at::Tensor f = at::zeros({1}, at::kFloat);
  weight = register_parameter("weight", ctx->Normal({out, in, k, k}, 0.05, f));
  bias = register_parameter("bias", at::zeros({out}, at::kFloat));
}

at::Tensor DdiConv::Forward(const at::Tensor& x) {
  if (ctx->active) {
    // One draw for both W and b, and the statistics of the convolution as it is then applied: the
    // reference draws a second, independent W inside its bias initialiser and measures with the kernel
    // un-transposed (NHWC) though it applies it over NWHC, so its init is centred and scaled only
    // approximately; the intent, unit-variance zero-mean outputs, is what is reproduced here.
    at::NoGradGuard ng;
    at::Tensor V = ctx->Normal(weight.sizes(), 0.05, weight);
    auto [m, scale] = ChannelStats(ConvNhwc(x, V, c10::nullopt));
    scale = scale * init_scale;
    weight.copy_(V * scale.view({-1, 1, 1, 1}));
    bias.copy_(-m * scale);
    at::Tensor y = ConvNhwc(x, weight, bias);
    ctx->Record("conv", init_scale, y, 3);
  }
  return ConvNhwc(x, weight, bias);
}

WnConv::WnConv(std::shared_ptr<InitCtx> c, int64_t in, int64_t out, double s, int64_t k)
    : ctx(std::move(c)), init_scale(s) {
  at::Tensor f = at::zeros({1}, at::kFloat);
  V = register_parameter("V", ctx->Normal({out, in, k, k}, 0.05, f));
  g = register_parameter("g", at::ones({out}, at::kFloat));
  b = register_parameter("b", at::zeros({out}, at::kFloat));
}

at::Tensor WnConv::Forward(const at::Tensor& x) {
  at::Tensor vnorm = V * at::rsqrt(at::clamp_min(V.square().sum({1, 2, 3}), 1e-12)).view({-1, 1, 1, 1});
  if (ctx->active) {
    at::NoGradGuard ng;
    auto [m, scale] = ChannelStats(ConvNhwc(x, vnorm, c10::nullopt));
    scale = scale * init_scale;
    g.copy_(scale);
    b.copy_(-m * scale);
    ctx->Record("wn_conv", init_scale, ConvNhwc(x, g.view({-1, 1, 1, 1}) * vnorm, b), 3);
  }
  return ConvNhwc(x, g.view({-1, 1, 1, 1}) * vnorm, b);
}

Dense::Dense(std::shared_ptr<InitCtx> c, int64_t in, int64_t out, double s) : ctx(std::move(c)), init_scale(s) {
  at::Tensor f = at::zeros({1}, at::kFloat);
  W = register_parameter("W", ctx->Normal({in, out}, 0.05, f));
  b = register_parameter("b", at::zeros({out}, at::kFloat));
}

at::Tensor Dense::Forward(const at::Tensor& x) {
  if (ctx->active) {  // same single-draw intent as DdiConv
    at::NoGradGuard ng;
    at::Tensor V = ctx->Normal(W.sizes(), 0.05, W);
    auto [m, scale] = ChannelStats(at::matmul(x, V));
    scale = scale * init_scale;
    W.copy_(V * scale.view({1, -1}));
    b.copy_(-m * scale);
    ctx->Record("dense", init_scale, at::matmul(x, W) + b, x.dim() - 1);
  }
  return at::matmul(x, W) + b;
}

LayerNorm::LayerNorm(int64_t c) {
  g = register_parameter("g", at::ones({c}, at::kFloat));
  b = register_parameter("b", at::zeros({c}, at::kFloat));
}

at::Tensor LayerNorm::Forward(const at::Tensor& x) {
  at::Tensor u = x.mean(-1, true);
  at::Tensor s = (x - u).square().mean(-1, true);
  return (x - u) * at::rsqrt(s + 1e-5) * g + b;
}

std::shared_ptr<Conv> MakeConv(ConvKind kind, std::shared_ptr<InitCtx> c, int64_t in, int64_t out, double s) {
  if (kind == ConvKind::kDdi) return std::make_shared<DdiConv>(std::move(c), in, out, s);
  return std::make_shared<WnConv>(std::move(c), in, out, s);
}

GatedConv::GatedConv(ConvKind kind, std::shared_ptr<InitCtx> c, int64_t filters, int64_t aux, bool use_nin) {
  c1 = register_module("c1", MakeConv(kind, c, 2 * filters, filters));
  if (aux > 0) a_proj = register_module("a_proj", std::make_shared<Dense>(c, 2 * aux, filters));
  if (use_nin) c2_nin = register_module("c2", std::make_shared<Dense>(c, 2 * filters, 2 * filters, 0.1));
  else c2_conv = register_module("c2", MakeConv(kind, c, 2 * filters, 2 * filters, 0.1));
}

at::Tensor GatedConv::Forward(const at::Tensor& x, const at::Tensor& a) {
  at::Tensor h = c1->Forward(ConcatElu(x));
  if (a_proj) {
    if (!a.defined()) ThrowArg("flowpp: a gated convolution with an a_proj needs its context");
    h = h + a_proj->Forward(ConcatElu(a));
  }
  h = ConcatElu(h);
  h = c2_nin ? c2_nin->Forward(h) : c2_conv->Forward(h);
  return x + Gate(h);
}

GatedAttn::GatedAttn(std::shared_ptr<InitCtx> c, int64_t filters, int64_t heads_) : heads(heads_) {
  if (heads < 1 || filters % heads != 0)
    ThrowArg("flowpp: attention heads (" + std::to_string(heads) + ") must divide the filters (" +
             std::to_string(filters) + ")");
  proj1 = register_module("proj1", std::make_shared<Dense>(c, filters, 3 * filters));
  proj2 = register_module("proj2", std::make_shared<Dense>(c, filters, 2 * filters, 0.1));
}

at::Tensor GatedAttn::Forward(const at::Tensor& x, const at::Tensor& pos_emb) {
  const int64_t B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3), T = H * W, d = C / heads;
  at::Tensor c = proj1->Forward(x + pos_emb.unsqueeze(0));
  c = c.reshape({B, T, 3, heads, d}).permute({2, 0, 3, 1, 4});  // 3, b, h, t, d
  at::Tensor q = c[0], k = c[1], v = c[2];
  at::Tensor w = at::softmax(at::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(d)), -1);
  at::Tensor o = at::matmul(w, v).permute({0, 2, 1, 3}).reshape({B, H, W, C});
  return x + Gate(proj2->Forward(o));
}

}  // namespace flowpp
}  // namespace sf
