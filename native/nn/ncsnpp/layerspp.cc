// score_sde_pytorch models/layerspp.py in libtorch: GaussianFourierProjection, Combine, AttnBlockpp,
// Upsample, Downsample, ResnetBlockDDPMpp, ResnetBlockBigGANpp (and their dropout).
#include "pch.h"
#include "nn/ncsnpp/layerspp.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

namespace sf {
namespace ncsnpp_detail {

c10::optional<at::Generator> DropoutCtx::For(const c10::Device& dev) {
  std::lock_guard<std::mutex> lock(mu);
  if (!seed) return c10::nullopt;
  if (!gen || gen->device().type() != dev.type() ||
      (dev.has_index() && gen->device().index() != dev.index())) {
    if (dev.is_cpu()) {
      gen = at::make_generator<at::CPUGeneratorImpl>(*seed);
    } else {
      at::Generator g = at::globalContext().defaultGenerator(dev).clone();
      g.set_current_seed(*seed);
      gen = g;
    }
  }
  return gen;
}

FourierL::FourierL(Init& init, int64_t size, double scale, bool trainable) {
  W = register_parameter("W", at::randn({size}, init.gen, at::TensorOptions().dtype(at::kFloat)) * scale,
                         trainable);
}

at::Tensor FourierL::Call(const at::Tensor& x, const at::Tensor&) {
  at::Tensor proj = x.unsqueeze(1) * W.unsqueeze(0) * 2 * M_PI;
  return at::cat({at::sin(proj), at::cos(proj)}, -1);
}

CombineL::CombineL(Init& init, int64_t dim1, int64_t dim2, bool cat_) : cat(cat_) {
  Conv_0 = register_module("Conv_0", Conv1x1(init, dim1, dim2));
}

at::Tensor CombineL::Call(const at::Tensor& x, const at::Tensor& y) {
  at::Tensor h = Conv_0->Call(x, {});
  return cat ? at::cat({h, y}, 1) : h + y;
}

AttnBlockL::AttnBlockL(Init& init, int64_t c, bool skip_rescale_, double init_scale) : skip_rescale(skip_rescale_) {
  GroupNorm_0 = register_module("GroupNorm_0", std::make_shared<GroupNormL>(c));
  NIN_0 = register_module("NIN_0", std::make_shared<NinL>(init, c, c));
  NIN_1 = register_module("NIN_1", std::make_shared<NinL>(init, c, c));
  NIN_2 = register_module("NIN_2", std::make_shared<NinL>(init, c, c));
  NIN_3 = register_module("NIN_3", std::make_shared<NinL>(init, c, c, init_scale));
}

at::Tensor AttnBlockL::Call(const at::Tensor& x, const at::Tensor&) {
  const int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), L = H * W;
  at::Tensor h = GroupNorm_0->Call(x, {});
  at::Tensor Wqkv = at::cat({NIN_0->W, NIN_1->W, NIN_2->W}, 1);  // [C, 3C]
  at::Tensor bqkv = at::cat({NIN_0->b, NIN_1->b, NIN_2->b}, 0);  // [3C]
  const double scale = std::pow(static_cast<double>(C), -0.5);
  if (IsChannelsLast(x)) {
    // Token-major: rows [B, L, C] (free view of an NHWC tensor); the output stays channels-last.
    at::Tensor rows = h.contiguous(at::MemoryFormat::ChannelsLast).permute({0, 2, 3, 1}).reshape({B, L, C});
    at::Tensor qkv = at::matmul(rows, Wqkv).add_(bqkv);  // [B, L, 3C]
    at::Tensor q = qkv.narrow(2, 0, C), k = qkv.narrow(2, C, C), v = qkv.narrow(2, 2 * C, C);
    at::Tensor w = at::softmax(at::bmm(q, k.transpose(1, 2)).mul_(scale), -1);  // [B, Lq, Lk]
    at::Tensor o = at::bmm(w, v);                                              // [B, L, C]
    at::Tensor out = at::matmul(o, NIN_3->W).add_(NIN_3->b).view({B, H, W, C}).permute({0, 3, 1, 2});
    return skip_rescale ? (x + out) / std::sqrt(2.0) : x + out;
  }
  // q, k, v in one batched matmul: [B, 3C, L].
  at::Tensor qkv = at::baddbmm(bqkv.view({1, 3 * C, 1}).expand({B, 3 * C, L}),
                               Wqkv.t().unsqueeze(0).expand({B, 3 * C, C}), h.reshape({B, C, L}));
  at::Tensor q = qkv.narrow(1, 0, C), k = qkv.narrow(1, C, C), v = qkv.narrow(1, 2 * C, C);
  // w[b, i, j] = <q_i, k_j> / sqrt(C); softmax over the H·W keys.
  at::Tensor w = at::bmm(q.transpose(1, 2), k).mul_(scale);
  w = at::softmax(w, -1);
  at::Tensor o = at::bmm(v, w.transpose(1, 2)).view({B, C, H, W});  // o[b,c,i] = Σ_j w[b,i,j] v[b,c,j]
  h = NIN_3->Call(o, {});
  return skip_rescale ? (x + h) / std::sqrt(2.0) : x + h;
}

UpsampleL::UpsampleL(Init& init, int64_t in, int64_t out, bool with_conv_, bool fir_, const std::vector<double>& fk)
    : fir(fir_), with_conv(with_conv_) {
  if (out <= 0) out = in;
  if (!fir) {
    if (with_conv) Conv_0 = register_module("Conv_0", Conv3x3(init, in, out));
  } else {
    if (with_conv) Conv2d_0 = register_module("Conv2d_0", std::make_shared<FirConvL>(init, in, out, 3, true, fk));
    else k4 = std::make_shared<FirKernel>(fk, 4.0);
  }
}

at::Tensor UpsampleL::Call(const at::Tensor& x, const at::Tensor&) {
  if (!fir) {
    at::Tensor h = NaiveUpsample2d(x);  // JAX: jax.image.resize(..., 'nearest'); SP crashes here
    return with_conv ? Conv_0->Call(h, {}) : h;
  }
  return with_conv ? Conv2d_0->Call(x, {}) : FirUpsample2d(x, *k4);
}

DownsampleL::DownsampleL(Init& init, int64_t in, int64_t out, bool with_conv_, bool fir_, const std::vector<double>& fk)
    : fir(fir_), with_conv(with_conv_) {
  if (out <= 0) out = in;
  if (!fir) {
    if (with_conv) Conv_0 = register_module("Conv_0", Conv3x3(init, in, out, 1.0, 2, 0));
  } else {
    if (with_conv) Conv2d_0 = register_module("Conv2d_0", std::make_shared<FirConvL>(init, in, out, 3, false, fk));
    else k1 = std::make_shared<FirKernel>(fk, 1.0);
  }
}

at::Tensor DownsampleL::Call(const at::Tensor& x, const at::Tensor&) {
  if (!fir) {
    if (with_conv) return Conv_0->Call(at::constant_pad_nd(x, {0, 1, 0, 1}, 0), {});
    return at::avg_pool2d(x, {2, 2}, {2, 2});
  }
  return with_conv ? Conv2d_0->Call(x, {}) : FirDownsample2d(x, *k1);
}

// Dropout_0 (nn.Dropout): no parameters; uses the model generator when one is set.
inline at::Tensor Dropout(const at::Tensor& h, double p, bool train, DropoutCtx& ctx) {
  if (!train || p <= 0) return h;
  auto gen = ctx.For(h.device());
  if (!gen) return at::dropout(h, p, true);
  if (p >= 1) return h * 0;
  at::Tensor noise = at::empty_like(h).bernoulli_(1 - p, *gen);
  noise.div_(1 - p);
  return h * noise;
}

ResBlockDDPML::ResBlockDDPML(Init& init, Act act_, int64_t in, int64_t out, int64_t temb_dim, double dropout_,
                             bool skip, double init_scale, std::shared_ptr<DropoutCtx> d) {
  if (out <= 0) out = in;
  act = act_, dropout = dropout_, skip_rescale = skip, in_ch = in, out_ch = out, dctx = std::move(d);
  GroupNorm_0 = register_module("GroupNorm_0", std::make_shared<GroupNormL>(in));
  Conv_0 = register_module("Conv_0", Conv3x3(init, in, out));
  Dense_0 = register_module("Dense_0", std::make_shared<LinearL>(init, temb_dim, out));
  GroupNorm_1 = register_module("GroupNorm_1", std::make_shared<GroupNormL>(out));
  Conv_1 = register_module("Conv_1", Conv3x3(init, out, out, init_scale));
  if (in != out) NIN_0 = register_module("NIN_0", std::make_shared<NinL>(init, in, out));
}

at::Tensor ResBlockDDPML::Call(const at::Tensor& x, const at::Tensor& temb_act) {
  at::Tensor h = ApplyAct(act, GroupNorm_0->Call(x, {}));
  h = Conv_0->Call(h, {});
  if (temb_act.defined()) h.add_(Dense_0->Call(temb_act, {}).unsqueeze(-1).unsqueeze(-1));
  h = ApplyAct(act, GroupNorm_1->Call(h, {}));
  h = Dropout(h, dropout, is_training(), *dctx);
  h = Conv_1->Call(h, {});
  at::Tensor xs = (x.size(1) != out_ch) ? NIN_0->Call(x, {}) : x;
  return skip_rescale ? (xs + h) / std::sqrt(2.0) : xs + h;
}

ResBlockBigGANL::ResBlockBigGANL(Init& init, Act act_, int64_t in, int64_t out, int64_t temb_dim, bool up_,
                                 bool down_, double dropout_, bool fir_, const std::vector<double>& fk, bool skip,
                                 double init_scale, std::shared_ptr<DropoutCtx> d)
    : up(up_), down(down_), fir(fir_) {
  if (out <= 0) out = in;
  act = act_, dropout = dropout_, skip_rescale = skip, in_ch = in, out_ch = out, dctx = std::move(d);
  GroupNorm_0 = register_module("GroupNorm_0", std::make_shared<GroupNormL>(in));
  Conv_0 = register_module("Conv_0", Conv3x3(init, in, out));
  Dense_0 = register_module("Dense_0", std::make_shared<LinearL>(init, temb_dim, out));
  GroupNorm_1 = register_module("GroupNorm_1", std::make_shared<GroupNormL>(out));
  Conv_1 = register_module("Conv_1", Conv3x3(init, out, out, init_scale));
  if (in != out || up || down) Conv_2 = register_module("Conv_2", Conv1x1(init, in, out));
  if (fir && up) kup = std::make_shared<FirKernel>(fk, 4.0);
  if (fir && down) kdown = std::make_shared<FirKernel>(fk, 1.0);
}

at::Tensor ResBlockBigGANL::Call(const at::Tensor& x_in, const at::Tensor& temb_act) {
  at::Tensor h = ApplyAct(act, GroupNorm_0->Call(x_in, {}));
  at::Tensor x = x_in;
  if (up) {
    if (fir) {
      h = FirUpsample2d(h, *kup);
      x = FirUpsample2d(x, *kup);
    } else {
      h = NaiveUpsample2d(h);
      x = NaiveUpsample2d(x);
    }
  } else if (down) {
    if (fir) {
      h = FirDownsample2d(h, *kdown);
      x = FirDownsample2d(x, *kdown);
    } else {
      h = NaiveDownsample2d(h);
      x = NaiveDownsample2d(x);
    }
  }
  h = Conv_0->Call(h, {});
  if (temb_act.defined()) h.add_(Dense_0->Call(temb_act, {}).unsqueeze(-1).unsqueeze(-1));
  h = ApplyAct(act, GroupNorm_1->Call(h, {}));
  h = Dropout(h, dropout, is_training(), *dctx);
  h = Conv_1->Call(h, {});
  if (Conv_2) x = Conv_2->Call(x, {});
  return skip_rescale ? (x + h) / std::sqrt(2.0) : x + h;
}

}  // namespace ncsnpp_detail
}  // namespace sf
