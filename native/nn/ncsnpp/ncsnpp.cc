// NCSN++ / DDPM++ in libtorch (score_sde_pytorch models/ncsnpp.py); its layers are in layers.cc,
// layerspp.cc and up_or_down_sampling.cc. See ncsnpp.h for naming, initialisation and the two places
// (spec §12.1) where the JAX reference's behaviour replaces a crash.
#include "pch.h"
#include "nn/ncsnpp/ncsnpp.h"
#include "common.h"
#include "nn/ncsnpp/layerspp.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <mutex>

namespace sf {
namespace ncsnpp_detail {

Act ParseAct(const std::string& s) {
  if (s == "swish") return Act::kSwish;
  if (s == "elu") return Act::kElu;
  if (s == "relu") return Act::kRelu;
  if (s == "lrelu") return Act::kLRelu;
  ThrowArg("ncsnpp: nonlinearity must be swish, elu, relu or lrelu, got '" + s + "'");
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace ncsnpp_detail

using namespace ncsnpp_detail;

void NcsnppConfig::Validate() const {
  auto one_of = [](const std::string& v, std::initializer_list<const char*> opts, const char* name) {
    for (const char* o : opts)
      if (v == o) return;
    std::string all;
    for (const char* o : opts) all += std::string(all.empty() ? "" : ", ") + o;
    ThrowArg(std::string("ncsnpp: ") + name + " must be one of " + all + ", got '" + v + "'");
  };
  one_of(resblock_type, {"ddpm", "biggan"}, "resblock_type");
  one_of(progressive, {"none", "output_skip", "residual"}, "progressive");
  one_of(progressive_input, {"none", "input_skip", "residual"}, "progressive_input");
  one_of(progressive_combine, {"sum", "cat"}, "progressive_combine");
  one_of(embedding_type, {"fourier", "positional"}, "embedding_type");
  one_of(nonlinearity, {"swish", "elu", "relu", "lrelu"}, "nonlinearity");
  if (nf < 4) ThrowArg("ncsnpp: nf must be >= 4");
  if (ch_mult.empty()) ThrowArg("ncsnpp: ch_mult must not be empty");
  for (auto m : ch_mult)
    if (m < 1) ThrowArg("ncsnpp: ch_mult entries must be >= 1");
  if (num_res_blocks < 1) ThrowArg("ncsnpp: num_res_blocks must be >= 1");
  if (num_channels < 1) ThrowArg("ncsnpp: num_channels must be >= 1");
  if (image_size < 1 || image_size % (int64_t(1) << (ch_mult.size() - 1)) != 0)
    ThrowArg("ncsnpp: image_size must be divisible by 2^(len(ch_mult)-1)");
  if (dropout < 0 || dropout > 1) ThrowArg("ncsnpp: dropout must be in [0, 1]");
  if (fir && fir_kernel.empty()) ThrowArg("ncsnpp: fir_kernel must not be empty");
  if (num_scales < 1) ThrowArg("ncsnpp: num_scales must be >= 1");
  if (!(sigma_min > 0) || !(sigma_max > 0)) ThrowArg("ncsnpp: sigma_min and sigma_max must be > 0");
}

NCSNpp::NCSNpp(const NcsnppConfig& cfg_in, c10::optional<uint64_t> seed) : cfg_(cfg_in) {
  cfg_.resblock_type = Lower(cfg_.resblock_type);
  cfg_.progressive = Lower(cfg_.progressive);
  cfg_.progressive_input = Lower(cfg_.progressive_input);
  cfg_.progressive_combine = Lower(cfg_.progressive_combine);
  cfg_.embedding_type = Lower(cfg_.embedding_type);
  cfg_.nonlinearity = Lower(cfg_.nonlinearity);
  cfg_.Validate();
  const NcsnppConfig& c = cfg_;
  const Act act = ParseAct(c.nonlinearity);
  dropout_ = std::make_shared<DropoutCtx>();

  Init init{seed ? at::make_generator<at::CPUGeneratorImpl>(*seed) : at::detail::getDefaultCPUGenerator()};
  at::NoGradGuard no_grad;

  // utils.get_sigmas: exp(np.linspace(log σmax, log σmin, N)), float64.
  {
    const int64_t n = c.num_scales;
    at::Tensor s = at::empty({n}, at::kDouble);
    double* p = s.data_ptr<double>();
    const double start = std::log(c.sigma_max), stop = std::log(c.sigma_min);
    const double step = n > 1 ? (stop - start) / static_cast<double>(n - 1) : 0.0;
    for (int64_t i = 0; i < n; ++i) p[i] = std::exp(static_cast<double>(i) * step + start);
    if (n > 1) p[n - 1] = std::exp(stop);
    sigmas_ = register_buffer("sigmas", s);
  }

  const int64_t nf = c.nf;
  const int64_t L = static_cast<int64_t>(c.ch_mult.size());
  std::vector<int64_t> all_res(L);
  for (int64_t i = 0; i < L; ++i) all_res[i] = c.image_size >> i;
  auto has_attn = [&](int64_t res) {
    return std::find(c.attn_resolutions.begin(), c.attn_resolutions.end(), res) != c.attn_resolutions.end();
  };
  attn_at_level_.resize(L);
  for (int64_t i = 0; i < L; ++i) attn_at_level_[i] = has_attn(all_res[i]);
  const bool combine_cat = c.progressive_combine == "cat";
  const int64_t temb_dim = nf * 4;
  const bool ddpm = c.resblock_type == "ddpm";

  all_modules_ = register_module("all_modules", torch::nn::ModuleList());
  auto add = [&](std::shared_ptr<Layer> m) {
    all_modules_->push_back(m);
    mods_.push_back(std::move(m));
  };
  auto resblock = [&](int64_t in, int64_t out, bool up, bool down) -> std::shared_ptr<Layer> {
    if (ddpm)
      return std::make_shared<ResBlockDDPML>(init, act, in, out, temb_dim, c.dropout, c.skip_rescale,
                                             c.init_scale, dropout_);
    return std::make_shared<ResBlockBigGANL>(init, act, in, out, temb_dim, up, down, c.dropout, c.fir,
                                             c.fir_kernel, c.skip_rescale, c.init_scale, dropout_);
  };
  auto attn = [&](int64_t ch) { return std::make_shared<AttnBlockL>(init, ch, c.skip_rescale, c.init_scale); };

  int64_t embed_dim = nf;
  if (c.embedding_type == "fourier") {
    add(std::make_shared<FourierL>(init, nf, c.fourier_scale, c.trainable_embedding));
    embed_dim = 2 * nf;
  }
  if (c.conditional) {
    add(std::make_shared<LinearL>(init, embed_dim, nf * 4));
    add(std::make_shared<LinearL>(init, nf * 4, nf * 4));
  }
  // Parameter-free pyramid resamplers (self.pyramid_upsample / pyramid_downsample in the reference).
  if (c.progressive == "output_skip")
    pyramid_upsample_ = std::make_shared<UpsampleL>(init, 0, 0, false, c.fir, c.fir_kernel);
  if (c.progressive_input == "input_skip")
    pyramid_downsample_ = std::make_shared<DownsampleL>(init, 0, 0, false, c.fir, c.fir_kernel);

  const int64_t channels = c.num_channels;
  int64_t input_pyramid_ch = channels;
  add(Conv3x3(init, channels, nf));
  std::vector<int64_t> hs_c{nf};
  int64_t in_ch = nf;
  for (int64_t i = 0; i < L; ++i) {
    for (int64_t b = 0; b < c.num_res_blocks; ++b) {
      const int64_t out_ch = nf * c.ch_mult[i];
      add(resblock(in_ch, out_ch, false, false));
      in_ch = out_ch;
      if (attn_at_level_[i]) add(attn(in_ch));
      hs_c.push_back(in_ch);
    }
    if (i != L - 1) {
      if (ddpm) add(std::make_shared<DownsampleL>(init, in_ch, 0, c.resamp_with_conv, c.fir, c.fir_kernel));
      else add(resblock(in_ch, 0, false, true));
      if (c.progressive_input == "input_skip") {
        add(std::make_shared<CombineL>(init, input_pyramid_ch, in_ch, combine_cat));
        if (combine_cat) in_ch *= 2;
      } else if (c.progressive_input == "residual") {
        add(std::make_shared<DownsampleL>(init, input_pyramid_ch, in_ch, true, c.fir, c.fir_kernel));
        input_pyramid_ch = in_ch;
      }
      hs_c.push_back(in_ch);
    }
  }
  in_ch = hs_c.back();
  add(resblock(in_ch, 0, false, false));
  add(attn(in_ch));
  add(resblock(in_ch, 0, false, false));

  int64_t pyramid_ch = 0;
  for (int64_t i = L - 1; i >= 0; --i) {
    for (int64_t b = 0; b < c.num_res_blocks + 1; ++b) {
      const int64_t out_ch = nf * c.ch_mult[i];
      const int64_t skip = hs_c.back();
      hs_c.pop_back();
      add(resblock(in_ch + skip, out_ch, false, false));
      in_ch = out_ch;
    }
    if (attn_at_level_[i]) add(attn(in_ch));
    if (c.progressive != "none") {
      if (i == L - 1) {
        if (c.progressive == "output_skip") {
          add(std::make_shared<GroupNormL>(in_ch));
          add(Conv3x3(init, in_ch, channels, c.init_scale));
          pyramid_ch = channels;
        } else {
          add(std::make_shared<GroupNormL>(in_ch));
          add(Conv3x3(init, in_ch, in_ch));
          pyramid_ch = in_ch;
        }
      } else {
        if (c.progressive == "output_skip") {
          add(std::make_shared<GroupNormL>(in_ch));
          add(Conv3x3(init, in_ch, channels, c.init_scale));
          pyramid_ch = channels;
        } else {
          add(std::make_shared<UpsampleL>(init, pyramid_ch, in_ch, true, c.fir, c.fir_kernel));
          pyramid_ch = in_ch;
        }
      }
    }
    if (i != 0) {
      if (ddpm) add(std::make_shared<UpsampleL>(init, in_ch, 0, c.resamp_with_conv, c.fir, c.fir_kernel));
      else add(resblock(in_ch, 0, true, false));
    }
  }
  if (!hs_c.empty()) throw std::logic_error("ncsnpp: skip-connection bookkeeping mismatch");
  if (c.progressive != "output_skip") {
    add(std::make_shared<GroupNormL>(in_ch));
    add(Conv3x3(init, in_ch, channels, c.init_scale));
  }
}

static at::Tensor TimestepEmbedding(const at::Tensor& t, int64_t dim, at::ScalarType dtype) {
  const int64_t half = dim / 2;
  const double e = std::log(10000.0) / static_cast<double>(half - 1);
  at::Tensor freq = at::exp(at::arange(half, at::TensorOptions().dtype(dtype).device(t.device())) * -e);
  at::Tensor emb = t.to(dtype).unsqueeze(1) * freq.unsqueeze(0);
  emb = at::cat({at::sin(emb), at::cos(emb)}, 1);
  if (dim % 2 == 1) emb = at::constant_pad_nd(emb, {0, 1}, 0);
  return emb;
}

at::Tensor NCSNpp::forward(const at::Tensor& x_in, const at::Tensor& labels_in) {
  const NcsnppConfig& c = cfg_;
  if (x_in.dim() != 4 || x_in.size(1) != c.num_channels)
    ThrowArg("ncsnpp.forward: x must be [B, " + std::to_string(c.num_channels) + ", H, W], got " +
             c10::str(x_in.sizes()));
  if (!at::isFloatingType(x_in.scalar_type())) ThrowArg("ncsnpp.forward: x must be a floating-point tensor");
  const int64_t B = x_in.size(0);
  const int64_t L = static_cast<int64_t>(c.ch_mult.size());
  const int64_t div = int64_t(1) << (L - 1);
  if (x_in.size(2) % div != 0 || x_in.size(3) % div != 0)
    ThrowArg("ncsnpp.forward: H and W must be divisible by " + std::to_string(div));
  at::Tensor labels = labels_in;
  if (labels.dim() == 0) labels = labels.expand({B});
  if (labels.dim() != 1 || labels.size(0) != B)
    ThrowArg("ncsnpp.forward: labels must be [B] = [" + std::to_string(B) + "], got " + c10::str(labels.sizes()));
  if (labels.device() != x_in.device()) labels = labels.to(x_in.device());
  const at::ScalarType dtype = x_in.scalar_type();
  const Act act = ParseAct(c.nonlinearity);

  size_t m = 0;
  auto mod = [&]() -> Layer& { return *mods_[m++]; };
  at::Tensor temb, used_sigmas;
  if (c.embedding_type == "fourier") {
    used_sigmas = labels.to(dtype);
    temb = mod().Call(c.fourier_log_label ? at::log(used_sigmas) : used_sigmas, {});
  } else {
    if (c.scale_by_sigma) used_sigmas = sigmas_.index_select(0, labels.to(at::kLong));
    temb = TimestepEmbedding(labels, c.nf, dtype);
  }
  at::Tensor temb_act;  // act(temb), what every resblock's Dense_0 consumes
  if (c.conditional) {
    temb = mod().Call(temb, {});
    temb = mod().Call(ApplyAct(act, temb), {});
    temb_act = ApplyAct(act, temb);
  }

  at::Tensor x = c.centered ? x_in : x_in * 2 - 1.0;
  at::Tensor input_pyramid;
  if (c.progressive_input != "none") input_pyramid = x;

  std::vector<at::Tensor> hs;
  hs.push_back(mod().Call(x, {}));
  at::Tensor h;
  for (int64_t i = 0; i < L; ++i) {
    for (int64_t b = 0; b < c.num_res_blocks; ++b) {
      h = mod().Call(hs.back(), temb_act);
      if (attn_at_level_[i]) h = mod().Call(h, {});
      hs.push_back(h);
    }
    if (i != L - 1) {
      h = mod().Call(hs.back(), temb_act);  // Downsample ignores the second argument
      if (c.progressive_input == "input_skip") {
        input_pyramid = pyramid_downsample_->Call(input_pyramid, {});
        h = mod().Call(input_pyramid, h);
      } else if (c.progressive_input == "residual") {
        input_pyramid = mod().Call(input_pyramid, {});
        input_pyramid = c.skip_rescale ? (input_pyramid + h) / std::sqrt(2.0) : input_pyramid + h;
        h = input_pyramid;
      }
      hs.push_back(h);
    }
  }
  h = hs.back();
  h = mod().Call(h, temb_act);
  h = mod().Call(h, {});
  h = mod().Call(h, temb_act);

  at::Tensor pyramid;
  for (int64_t i = L - 1; i >= 0; --i) {
    for (int64_t b = 0; b < c.num_res_blocks + 1; ++b) {
      at::Tensor skip = std::move(hs.back());
      hs.pop_back();
      h = mod().Call(at::cat({h, skip}, 1), temb_act);
    }
    if (attn_at_level_[i]) h = mod().Call(h, {});
    if (c.progressive != "none") {
      if (i == L - 1) {
        pyramid = ApplyAct(act, mod().Call(h, {}));
        pyramid = mod().Call(pyramid, {});
      } else if (c.progressive == "output_skip") {
        pyramid = pyramid_upsample_->Call(pyramid, {});
        at::Tensor ph = ApplyAct(act, mod().Call(h, {}));
        ph = mod().Call(ph, {});
        pyramid = pyramid + ph;
      } else {
        pyramid = mod().Call(pyramid, {});
        pyramid = c.skip_rescale ? (pyramid + h) / std::sqrt(2.0) : pyramid + h;
        h = pyramid;
      }
    }
    if (i != 0) h = mod().Call(h, temb_act);  // Upsample ignores the second argument
  }

  if (c.progressive == "output_skip") {
    h = pyramid;
  } else {
    h = ApplyAct(act, mod().Call(h, {}));
    h = mod().Call(h, {});
  }
  if (m != mods_.size()) throw std::logic_error("ncsnpp: module walk mismatch");
  // Under autocast the last layer's output is reduced precision: the network returns x's dtype, so the
  // loss and the ODE downstream see float32 (a no-op without autocast).
  if (h.scalar_type() != dtype) h = h.to(dtype);

  if (c.scale_by_sigma) {
    // positional: σ comes from the float64 `sigmas` buffer (the reference's output is then float64;
    // here it is divided in float64 and returned in x's dtype).
    if (used_sigmas.scalar_type() != h.scalar_type())
      h = (h.to(used_sigmas.scalar_type()) / used_sigmas.reshape({B, 1, 1, 1})).to(h.scalar_type());
    else
      h = h / used_sigmas.reshape({B, 1, 1, 1});
  }
  return h;
}

void NCSNpp::SetDropoutSeed(c10::optional<uint64_t> seed) {
  std::lock_guard<std::mutex> lock(dropout_->mu);
  dropout_->seed = seed;
  dropout_->gen.reset();
}

static void WalkState(const torch::nn::Module& mod, const std::string& prefix,
                      std::vector<std::pair<std::string, at::Tensor>>& out) {
  for (const auto& p : mod.named_parameters(false)) out.emplace_back(prefix + p.key(), p.value());
  for (const auto& b : mod.named_buffers(false)) out.emplace_back(prefix + b.key(), b.value());
  for (const auto& ch : mod.named_children()) WalkState(*ch.value(), prefix + ch.key() + ".", out);
}

std::vector<std::pair<std::string, at::Tensor>> NCSNpp::StateDictEntries() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  WalkState(*this, "", out);
  return out;
}

int64_t NCSNpp::NumParameters() const {
  int64_t n = 0;
  for (const auto& p : parameters(true)) n += p.numel();
  return n;
}

c10::Device NCSNpp::device() const { return sigmas_.device(); }

}  // namespace sf
