// Flow++ dequantizer (see dequantizer.h) and its context processors, checked against score_flow
// models/flowpp/dequantization_cifar10.py and dequantization_imagenet32.py.
#include "pch.h"
#include "nn/flowpp/dequantizer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

namespace sf {
namespace flowpp {
namespace {

constexpr int64_t kContextChannels = 32;  // both processors' `proj` width

// Both processors start alike: x − 0.5, checkerboard halves concatenated on channels, conv `proj` → 32.
at::Tensor SplitConcat(const at::Tensor& x) {
  const int64_t B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  at::Tensor r = (x - 0.5).reshape({B, H, W / 2, 2, C});
  return at::cat({r.select(3, 0), r.select(3, 1)}, 3);
}

// ShallowProcessor: proj, then 3 gated convolutions c0..c2 (conv c2, no context).
struct ShallowProcessor : torch::nn::Module {
  std::shared_ptr<Conv> proj;
  std::vector<std::shared_ptr<GatedConv>> c;
  ShallowProcessor(std::shared_ptr<InitCtx> ctx, int64_t channels) {
    proj = register_module("proj", MakeConv(ConvKind::kDdi, ctx, 2 * channels, kContextChannels));
    for (int i = 0; i < 3; ++i)
      c.push_back(register_module("c" + std::to_string(i),
                                  std::make_shared<GatedConv>(ConvKind::kDdi, ctx, kContextChannels, 0, false)));
  }
  at::Tensor Forward(const at::Tensor& x) {
    at::Tensor h = proj->Forward(SplitConcat(x));
    for (auto& g : c) h = g->Forward(h, at::Tensor());
    return h;
  }
};

// DeepProcessor: weight-normalised proj, pos_emb_dq, 8 × [gated resnet c{i}, LN dqln{i}, attention dqattn{i}
// (4 heads), LN ln{i}].
struct DeepProcessor : torch::nn::Module {
  std::shared_ptr<Conv> proj;
  at::Tensor pos_emb;
  std::vector<std::shared_ptr<GatedConv>> c;
  std::vector<std::shared_ptr<LayerNorm>> dqln, ln;
  std::vector<std::shared_ptr<GatedAttn>> attn;
  DeepProcessor(std::shared_ptr<InitCtx> ctx, int64_t channels, int64_t height, int64_t half_width) {
    proj = register_module("proj", MakeConv(ConvKind::kWeightNorm, ctx, 2 * channels, kContextChannels));
    pos_emb = register_parameter("pos_emb_dq", ctx->Normal({height, half_width, kContextChannels}, 0.01,
                                                           at::zeros({1}, at::kFloat)));
    for (int i = 0; i < 8; ++i) {
      const std::string s = std::to_string(i);
      c.push_back(register_module("c" + s, std::make_shared<GatedConv>(ConvKind::kWeightNorm, ctx,
                                                                        kContextChannels, 0, false)));
      dqln.push_back(register_module("dqln" + s, std::make_shared<LayerNorm>(kContextChannels)));
      attn.push_back(register_module("dqattn" + s, std::make_shared<GatedAttn>(ctx, kContextChannels, 4)));
      ln.push_back(register_module("ln" + s, std::make_shared<LayerNorm>(kContextChannels)));
    }
  }
  at::Tensor Forward(const at::Tensor& x) {
    at::Tensor h = proj->Forward(SplitConcat(x));
    for (size_t i = 0; i < c.size(); ++i) {
      h = c[i]->Forward(h, at::Tensor());
      h = dqln[i]->Forward(h);
      h = attn[i]->Forward(h, pos_emb);
      h = ln[i]->Forward(h);
    }
    return h;
  }
};

void WalkState(const torch::nn::Module& mod, const std::string& prefix,
               std::vector<std::pair<std::string, at::Tensor>>& out) {
  for (const auto& p : mod.named_parameters(false)) out.emplace_back(prefix + p.key(), p.value());
  for (const auto& ch : mod.named_children()) WalkState(*ch.value(), prefix + ch.key() + ".", out);
}

}  // namespace

void DequantizerConfig::Validate() const {
  if (variant != "cifar10" && variant != "imagenet32")
    ThrowArg("flowpp: variant must be cifar10 or imagenet32, got '" + variant + "'");
  if (channels < 1 || height < 1 || width < 2 || width % 2 != 0)
    ThrowArg("flowpp: channels >= 1, height >= 1 and an even width >= 2 are required, got " +
             std::to_string(channels) + "x" + std::to_string(height) + "x" + std::to_string(width));
  if (filters < 1 || components < 1 || blocks < 1 || heads < 1)
    ThrowArg("flowpp: filters, components, blocks and heads must be >= 1");
  if (filters % heads != 0) ThrowArg("flowpp: heads must divide filters");
}

void Dequantizer::Add(const std::string& kind, std::shared_ptr<FlowStep> s) {
  const std::string name = kind + "_" + std::to_string(counts_[kind]++);
  steps_.push_back(register_module(name, std::move(s)));
  names_.push_back(name);
}

Dequantizer::Dequantizer(const DequantizerConfig& cfg, c10::optional<uint64_t> seed) : cfg_(cfg) {
  cfg_.Validate();
  ctx_ = std::make_shared<InitCtx>(seed ? at::make_generator<at::CPUGeneratorImpl>(*seed)
                                        : at::detail::getDefaultCPUGenerator());
  at::NoGradGuard ng;
  const bool cifar = cfg_.variant == "cifar10";
  const int64_t hw = cfg_.width / 2;
  CouplingConfig cc;
  cc.conv = cifar ? ConvKind::kDdi : ConvKind::kWeightNorm;
  cc.channels = cfg_.channels, cc.height = cfg_.height, cc.half_width = hw;
  cc.filters = cfg_.filters, cc.blocks = cfg_.blocks, cc.components = cfg_.components, cc.heads = cfg_.heads;
  cc.context_channels = kContextChannels;
  const std::vector<int64_t> half{cfg_.height, hw, cfg_.channels};
  // Construction order = the reference's flax auto-naming order (modules list first, then the processor).
  for (int round = 0; round < (cifar ? 1 : 2); ++round) {
    Add("CheckerboardSplit", std::make_shared<CheckerboardSplit>(false));
    for (int i = 0; i < 4; ++i) {
      Add("Norm", std::make_shared<Norm>(ctx_, 2, half));
      if (cifar) Add("Pointwise", std::make_shared<Pointwise>(ctx_, 2, cfg_.channels));
      Add("MixLogisticAttnCoupling", std::make_shared<Coupling>(ctx_, cc));
      Add("TupleFlip", std::make_shared<TupleFlip>());
    }
    Add("CheckerboardSplit", std::make_shared<CheckerboardSplit>(true));
  }
  Add("Sigmoid", std::make_shared<Sigmoid>());
  if (cifar) {
    auto p = register_module("ShallowProcessor_0", std::make_shared<ShallowProcessor>(ctx_, cfg_.channels));
    context_fn_ = [p](const at::Tensor& x) { return p->Forward(x); };
  } else {
    auto p = register_module("DeepProcessor_0",
                             std::make_shared<DeepProcessor>(ctx_, cfg_.channels, cfg_.height, hw));
    context_fn_ = [p](const at::Tensor& x) { return p->Forward(x); };
  }
}

void Dequantizer::CheckInputs(const at::Tensor& eps, const at::Tensor& x) const {
  const std::vector<int64_t> want{cfg_.height, cfg_.width, cfg_.channels};
  for (const at::Tensor* t : {&eps, &x}) {
    if (t->dim() != 4 || t->size(1) != want[0] || t->size(2) != want[1] || t->size(3) != want[2])
      ThrowArg("flowpp: expected [B, " + std::to_string(cfg_.channels) + ", " + std::to_string(cfg_.height) +
               ", " + std::to_string(cfg_.width) + "] images, got (NHWC) " + c10::str(t->sizes()));
  }
  if (eps.size(0) != x.size(0)) ThrowArg("flowpp: eps and x must have the same batch size");
}

at::Tensor Dequantizer::Context(const at::Tensor& x) { return context_fn_(x); }

std::pair<State, at::Tensor> Dequantizer::RunStep(size_t i, const State& s, const at::Tensor& context, bool inverse) {
  if (i >= steps_.size()) ThrowArg("flowpp: step index out of range");
  return steps_[i]->Step(s, context, inverse);
}

std::pair<at::Tensor, at::Tensor> Dequantizer::Forward(const at::Tensor& eps, const at::Tensor& x, bool inverse) {
  CheckInputs(eps, x);
  at::Tensor logp_eps = (-eps.square() / 2.0 - 0.5 * std::log(2 * M_PI)).sum({1, 2, 3});
  at::Tensor context = Context(x);
  State h{eps};
  at::Tensor logp = at::zeros({eps.size(0)}, eps.options());
  for (size_t k = 0; k < steps_.size(); ++k) {
    const size_t i = inverse ? steps_.size() - 1 - k : k;
    auto r = steps_[i]->Step(h, context, inverse);
    h = std::move(r.first);
    if (r.second.defined()) logp = logp + r.second;
  }
  return {h.at(0), logp - logp_eps};
}

std::vector<InitStat> Dequantizer::Initialize(const at::Tensor& eps, const at::Tensor& x) {
  at::NoGradGuard ng;
  ctx_->stats.clear();
  ctx_->active = true;
  try {
    Forward(eps, x, false);
  } catch (...) {
    ctx_->active = false;
    throw;
  }
  ctx_->active = false;
  return std::move(ctx_->stats);
}

std::vector<std::pair<std::string, at::Tensor>> Dequantizer::StateDictEntries() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  WalkState(*this, "", out);
  return out;
}

int64_t Dequantizer::NumParameters() const {
  int64_t n = 0;
  for (const auto& p : parameters(true)) n += p.numel();
  return n;
}

c10::Device Dequantizer::device() const { return parameters(true).front().device(); }

}  // namespace flowpp
}  // namespace sf
