// Flow++ invertible steps (see flows.h), checked against score_flow models/flowpp/modules_cifar10.py,
// modules_imagenet32.py and logistic.py.
#include "pch.h"
#include "nn/flowpp/flows.h"

namespace sf {
namespace flowpp {
namespace {

at::Tensor SafeLog(const at::Tensor& x) { return at::log(at::clamp_min(x, 1e-7)); }
at::Tensor SumFlat(const at::Tensor& x) { return x.reshape({x.size(0), -1}).sum(1); }

void CheckPair(const State& x, const char* who) {
  if (x.size() != 2) ThrowArg(std::string("flowpp.") + who + ": expects the pair of checkerboard halves");
}
void CheckSingle(const State& x, const char* who) {
  if (x.size() != 1) ThrowArg(std::string("flowpp.") + who + ": expects one image tensor");
}

}  // namespace

std::pair<State, at::Tensor> CheckerboardSplit::Step(const State& x, const at::Tensor&, bool inverse) {
  if (merge) inverse = !inverse;
  if (!inverse) {
    CheckSingle(x, "CheckerboardSplit");
    const at::Tensor& t = x[0];
    const int64_t B = t.size(0), H = t.size(1), W = t.size(2), C = t.size(3);
    if (W % 2 != 0) ThrowArg("flowpp.CheckerboardSplit: the width must be even, got " + std::to_string(W));
    at::Tensor r = t.reshape({B, H, W / 2, 2, C});
    return {{r.select(3, 0), r.select(3, 1)}, at::Tensor()};
  }
  CheckPair(x, "CheckerboardSplit");
  const at::Tensor& a = x[0];
  return {{at::stack({a, x[1]}, 3).reshape({a.size(0), a.size(1), a.size(2) * 2, a.size(3)})}, at::Tensor()};
}

std::pair<State, at::Tensor> TupleFlip::Step(const State& x, const at::Tensor&, bool) {
  CheckPair(x, "TupleFlip");
  return {{x[1], x[0]}, at::Tensor()};
}

Norm::Norm(std::shared_ptr<InitCtx> c, int64_t n, at::IntArrayRef shape) : ctx(std::move(c)) {
  for (int64_t i = 0; i < n; ++i) {
    g.push_back(register_parameter("norm" + std::to_string(i) + "_g", at::ones(shape, at::kFloat)));
    b.push_back(register_parameter("norm" + std::to_string(i) + "_b", at::zeros(shape, at::kFloat)));
  }
}

std::pair<State, at::Tensor> Norm::Step(const State& x, const at::Tensor&, bool inverse) {
  if (x.size() != g.size()) ThrowArg("flowpp.Norm: expects " + std::to_string(g.size()) + " tensors");
  if (ctx->active) {
    at::NoGradGuard ng;
    for (size_t i = 0; i < x.size(); ++i) {
      at::Tensor m = x[i].mean(0), m2 = x[i].square().mean(0);
      at::Tensor scale = at::rsqrt(m2 - m.square() + 1e-6);
      g[i].copy_(scale);
      b[i].copy_(-m * scale);
      ctx->Record("norm", 1.0, x[i] * g[i] + b[i], 1);
    }
  }
  State out;
  at::Tensor logd;
  for (size_t i = 0; i < x.size(); ++i) {
    at::Tensor gi = at::clamp_min(g[i], 1e-10);
    out.push_back(inverse ? (x[i] - b[i]) / gi : x[i] * gi + b[i]);
    at::Tensor li = SafeLog(gi).sum();
    logd = logd.defined() ? logd + li : li;
  }
  logd = logd.expand({x[0].size(0)});
  return {out, inverse ? -logd : logd};
}

Pointwise::Pointwise(std::shared_ptr<InitCtx> c, int64_t n, int64_t ch) {
  for (int64_t i = 0; i < n; ++i) {
    at::Tensor w = at::eye(ch, at::kFloat) + c->Normal({ch, ch}, 0.001, at::zeros({1}, at::kFloat));
    W.push_back(register_parameter("W" + std::to_string(i), w));
  }
}

std::pair<State, at::Tensor> Pointwise::Step(const State& x, const at::Tensor&, bool inverse) {
  if (x.size() != W.size()) ThrowArg("flowpp.Pointwise: expects " + std::to_string(W.size()) + " tensors");
  State out;
  at::Tensor logd;
  for (size_t i = 0; i < x.size(); ++i) {
    out.push_back(at::matmul(x[i], inverse ? at::inverse(W[i]) : W[i]));
    at::Tensor li = std::get<1>(at::slogdet(W[i])) * static_cast<double>(x[i].size(1) * x[i].size(2));
    logd = logd.defined() ? logd + li : li;
  }
  logd = logd.expand({x[0].size(0)});
  return {out, inverse ? -logd : logd};
}

std::pair<State, at::Tensor> Sigmoid::Step(const State& x, const at::Tensor&, bool inverse) {
  CheckSingle(x, "Sigmoid");
  const at::Tensor& h = x[0];
  if (!inverse) return {{at::sigmoid(h)}, SumFlat(-at::softplus(h) - at::softplus(-h))};
  return {{-SafeLog(at::reciprocal(h) - 1.0)}, SumFlat(-SafeLog(h) - SafeLog(1.0 - h))};
}

at::Tensor MixLogisticLogCdf(const at::Tensor& x, const at::Tensor& logits, const at::Tensor& means,
                             const at::Tensor& logscales) {
  at::Tensor z = (x.unsqueeze(-1) - means) * at::exp(-logscales);
  return at::logsumexp(at::log_softmax(logits, -1) - at::softplus(-z), -1);  // log σ(z) = −softplus(−z)
}

at::Tensor MixLogisticLogPdf(const at::Tensor& x, const at::Tensor& logits, const at::Tensor& means,
                             const at::Tensor& logscales) {
  at::Tensor z = (x.unsqueeze(-1) - means) * at::exp(-logscales);
  return at::logsumexp(at::log_softmax(logits, -1) + z - logscales - 2.0 * at::softplus(z), -1);
}

at::Tensor MixLogisticInvCdf(const at::Tensor& y, const at::Tensor& logits, const at::Tensor& means,
                             const at::Tensor& logscales, int64_t iters, double bounds_scale) {
  at::NoGradGuard ng;  // the bisection is not differentiated (its output is an argument of the log-pdf)
  at::Tensor maxscales = at::exp(logscales).sum(-1, true);
  at::Tensor lb = std::get<0>((means - bounds_scale * maxscales).min(-1));
  at::Tensor ub = std::get<0>((means + bounds_scale * maxscales).max(-1));
  at::Tensor x = at::zeros_like(y);
  for (int64_t i = 0; i < iters; ++i) {
    at::Tensor above = at::exp(MixLogisticLogCdf(x, logits, means, logscales)) > y;
    at::Tensor nx = at::where(above, (x + lb) / 2.0, (x + ub) / 2.0);
    lb = at::where(above, lb, x);
    ub = at::where(above, x, ub);
    x = nx;
  }
  return x;
}

Coupling::Coupling(std::shared_ptr<InitCtx> c, const CouplingConfig& cf) : cfg(cf) {
  const int64_t F = cfg.filters, K = cfg.components;
  if (F < 1 || K < 1 || cfg.blocks < 1) ThrowArg("flowpp: filters, components and blocks must be >= 1");
  pos_emb = register_parameter("pos_emb",
                               c->Normal({cfg.height, cfg.half_width, F}, 0.01, at::zeros({1}, at::kFloat)));
  const bool cifar = cfg.conv == ConvKind::kDdi;
  proj_in = register_module(cifar ? "proj_in" : "c1", MakeConv(cfg.conv, c, cfg.channels, F));
  for (int64_t i = 0; i < cfg.blocks; ++i) {
    const std::string n = "block" + std::to_string(i);
    convs.push_back(register_module(n + "_conv",
                                    std::make_shared<GatedConv>(cfg.conv, c, F, cfg.context_channels, true)));
    ln1.push_back(register_module(n + "_ln1", std::make_shared<LayerNorm>(F)));
    attns.push_back(register_module(n + "_attn", std::make_shared<GatedAttn>(c, F, cfg.heads)));
    ln2.push_back(register_module(n + "_ln2", std::make_shared<LayerNorm>(F)));
  }
  const std::string last = "block" + std::to_string(cfg.blocks - 1);
  const int64_t out = cfg.channels * (2 + 3 * K);
  proj_out = cifar ? register_module(last + "_proj_out", MakeConv(cfg.conv, c, F, out, 0.1))
                   : register_module(last + "_c2", MakeConv(cfg.conv, c, 2 * F, out, 0.1));
}

std::pair<State, at::Tensor> Coupling::Step(const State& x, const at::Tensor& context, bool inverse) {
  CheckPair(x, "MixLogisticAttnCoupling");
  const at::Tensor& cf = x[0];
  const at::Tensor& ef = x[1];
  const int64_t B = cf.size(0), H = cf.size(1), W = cf.size(2), C = cf.size(3), K = cfg.components;
  at::Tensor h = proj_in->Forward(cf);
  for (int64_t i = 0; i < cfg.blocks; ++i) {
    h = convs[i]->Forward(h, context);
    h = ln1[i]->Forward(h);
    h = attns[i]->Forward(h, pos_emb);
    h = ln2[i]->Forward(h);
  }
  h = proj_out->Forward(cfg.conv == ConvKind::kDdi ? h : ConcatElu(h)).reshape({B, H, W, C, 2 + 3 * K});
  at::Tensor s = at::tanh(h.select(4, 0)), t = h.select(4, 1);
  at::Tensor logits = h.narrow(4, 2, K), means = h.narrow(4, 2 + K, K);
  at::Tensor logscales = at::clamp_min(h.narrow(4, 2 + 2 * K, K), -7.0);  // MixLogisticCDF.min_logscale
  if (!inverse) {
    at::Tensor F = at::exp(MixLogisticLogCdf(ef, logits, means, logscales));
    at::Tensor logd = SumFlat(MixLogisticLogPdf(ef, logits, means, logscales));
    at::Tensor y = -SafeLog(at::reciprocal(F) - 1.0);  // Sigmoid(inverse_module=True)
    logd = logd + SumFlat(-SafeLog(F) - SafeLog(1.0 - F));
    return {{cf, y * at::exp(s) + t}, logd + SumFlat(s)};
  }
  at::Tensor y = (ef - t) / at::exp(s);
  at::Tensor logd = SumFlat(-s);
  at::Tensor F = at::sigmoid(y);
  logd = logd + SumFlat(-at::softplus(y) - at::softplus(-y));
  at::Tensor e = MixLogisticInvCdf(at::clamp(F, 0.0, 1.0), logits, means, logscales);
  return {{cf, e}, logd - SumFlat(MixLogisticLogPdf(e, logits, means, logscales))};
}

}  // namespace flowpp
}  // namespace sf
