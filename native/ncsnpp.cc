// NCSN++ / DDPM++ in libtorch: every layer of score_sde_pytorch's models/{ncsnpp,layerspp,layers,
// up_or_down_sampling}.py in one translation unit. See ncsnpp.h for naming, initialisation and the two
// places (spec §12.1) where the JAX reference's behaviour replaces a crash.
#include "pch.h"
#include "ncsnpp.h"
#include "common.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <mutex>

namespace sf {
namespace ncsnpp_detail {

// ------------------------------------------------------------------------------------------------
// Small helpers

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

// Reference initialisers, drawing from one generator in construction order.
struct Init {
  at::Generator gen;

  // layers.default_init(scale) = variance_scaling(scale, 'fan_avg', 'uniform'), in_axis 1, out_axis 0.
  at::Tensor DefaultInit(at::IntArrayRef shape, double scale) {
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

  // What nn.Conv2d / nn.Linear reset_parameters() draws (kaiming_uniform_(a=sqrt 5), then the bias);
  // the values are overwritten by the reference, only the generator's advance matters.
  void ConsumeTorchDefault(at::IntArrayRef wshape) {
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
};

struct DropoutCtx {
  std::mutex mu;
  c10::optional<uint64_t> seed;
  c10::optional<at::Generator> gen;

  // Returns the model generator for `dev` (recreated with the same seed after a device move).
  c10::optional<at::Generator> For(const c10::Device& dev) {
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
};

// FIR kernel (`_setup_kernel`): outer(k, k) / sum, float32, times a gain; cached per device/dtype.
struct FirKernel {
  at::Tensor cpu;  // [kh, kw] float32
  std::mutex mu;
  at::Tensor cached;

  FirKernel(const std::vector<double>& k1, double gain) {
    const int64_t n = static_cast<int64_t>(k1.size());
    std::vector<float> k(n * n);
    float sum = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        k[i * n + j] = static_cast<float>(k1[i]) * static_cast<float>(k1[j]);
      }
    // np.sum over the flattened float32 array (pairwise for >8 elements; the kernels are small integer
    // sums, exact either way).
    for (float v : k) sum += v;
    for (float& v : k) v = (v / sum) * static_cast<float>(gain);
    cpu = at::from_blob(k.data(), {n, n}, at::kFloat).clone();
  }
  at::Tensor Get(const at::Tensor& like) {
    std::lock_guard<std::mutex> lock(mu);
    if (!cached.defined() || cached.device() != like.device() || cached.scalar_type() != like.scalar_type())
      cached = cpu.to(like.device(), like.scalar_type());
    return cached;
  }
};

// Zero-pads (positive) or crops (negative) the last two dims: (left, right, top, bottom). Crops are
// views, so the memory format survives.
at::Tensor PadOrCrop(const at::Tensor& t, int64_t l, int64_t r, int64_t top, int64_t bottom) {
  if (l <= 0 && r <= 0 && top <= 0 && bottom <= 0) {
    const int64_t H = t.size(2), W = t.size(3);
    return t.narrow(3, -l, W + l + r).narrow(2, -top, H + top + bottom);
  }
  return at::constant_pad_nd(t, {l, r, top, bottom}, 0);
}

// op/upfirdn2d.py upfirdn2d_native (same pads on x and y): zero-insert `up`, pad (negative = crop),
// true convolution with k, keep every `down`-th sample. Per channel (grouped conv, any memory format);
// up uses a stride-`up` transposed conv (= zero insertion + convolution), down a strided conv
// (= convolution + subsampling).
at::Tensor Upfirdn2d(const at::Tensor& x, const at::Tensor& k, int64_t up, int64_t down, int64_t p0,
                     int64_t p1) {
  const int64_t C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t kh = k.size(0), kw = k.size(1);
  at::Tensor w = k.view({1, 1, kh, kw}).expand({C, 1, kh, kw}).contiguous();
  at::Tensor y;
  if (up > 1) {
    at::Tensor t = at::conv_transpose2d(x, w, c10::nullopt, at::IntArrayRef({up, up}), at::IntArrayRef({0, 0}),
                                        at::IntArrayRef({0, 0}), C);
    const int64_t lenH = (H - 1) * up + kh, lenW = (W - 1) * up + kw;
    const int64_t outH = H * up + p0 + p1 - kh + 1, outW = W * up + p0 + p1 - kw + 1;
    const int64_t sH = kh - 1 - p0, sW = kw - 1 - p0;
    y = PadOrCrop(t, -sW, sW + outW - lenW, -sH, sH + outH - lenH);
    if (down > 1) y = y.slice(2, 0, c10::nullopt, down).slice(3, 0, c10::nullopt, down);
  } else {
    at::Tensor wf = w.flip({2, 3});
    if (p0 == p1 && p0 >= 0) {
      y = at::conv2d(x, wf, c10::nullopt, at::IntArrayRef({down, down}), at::IntArrayRef({p0, p0}),
                     at::IntArrayRef({1, 1}), C);
    } else {
      y = at::conv2d(PadOrCrop(x, p0, p1, p0, p1), wf, c10::nullopt, at::IntArrayRef({down, down}),
                     at::IntArrayRef({0, 0}), at::IntArrayRef({1, 1}), C);
    }
  }
  return y;
}

// up_or_down_sampling.upsample_2d / downsample_2d (factor 2).
at::Tensor FirUpsample2d(const at::Tensor& x, FirKernel& k4) {  // k4 carries gain*factor^2 = 4
  const int64_t p = k4.cpu.size(0) - 2;
  return Upfirdn2d(x, k4.Get(x), 2, 1, FloorDiv(p + 1, 2) + 1, FloorDiv(p, 2));
}
at::Tensor FirDownsample2d(const at::Tensor& x, FirKernel& k1) {
  const int64_t p = k1.cpu.size(0) - 2;
  return Upfirdn2d(x, k1.Get(x), 1, 2, FloorDiv(p + 1, 2), FloorDiv(p, 2));
}

// naive_upsample_2d / naive_downsample_2d (and the JAX non-FIR Upsample: nearest x2).
at::Tensor NaiveUpsample2d(const at::Tensor& x) {  // exact copies; keeps the memory format
  return at::upsample_nearest2d(x, at::IntArrayRef({x.size(2) * 2, x.size(3) * 2}));
}
at::Tensor NaiveDownsample2d(const at::Tensor& x) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  if (IsChannelsLast(x))  // mean over the 2x2 blocks of the NHWC view; the result stays channels-last
    return x.permute({0, 2, 3, 1}).reshape({N, H / 2, 2, W / 2, 2, C}).mean(at::IntArrayRef({2, 4})).permute({0, 3, 1, 2});
  return x.reshape({N, C, H / 2, 2, W / 2, 2}).mean(at::IntArrayRef({3, 5}));
}

// ------------------------------------------------------------------------------------------------
// Layers. Every entry of `all_modules` is a Layer with one generic call: (a, b) = (x, act(temb)) for
// resblocks, (x, undefined) for single-input layers, (pyramid, h) for Combine.

struct Layer : torch::nn::Module {
  virtual at::Tensor Call(const at::Tensor& a, const at::Tensor& b) = 0;
};

struct GroupNormL : Layer {
  int64_t groups, channels;
  at::Tensor weight, bias;
  explicit GroupNormL(int64_t c) : groups(NumGroups(c)), channels(c) {
    if (groups < 1 || c % groups != 0)
      ThrowArg("ncsnpp: GroupNorm over " + std::to_string(c) + " channels needs min(C/4, 32) groups to divide C");
    weight = register_parameter("weight", at::ones({c}, at::kFloat));
    bias = register_parameter("bias", at::zeros({c}, at::kFloat));
  }
  at::Tensor Call(const at::Tensor& x, const at::Tensor&) override {
    // Under autocast x arrives reduced-precision: normalise in the weights' dtype (float32 statistics, as
    // CUDA autocast does for group_norm; libtorch 1.13's CPU group_norm also refuses mixed dtypes).
    if (x.scalar_type() != weight.scalar_type() && (x.scalar_type() == at::kBFloat16 || x.scalar_type() == at::kHalf))
      return at::group_norm(x.to(weight.scalar_type()), groups, weight, bias, 1e-6, true);
    return at::group_norm(x, groups, weight, bias, 1e-6, true);
  }
};

// layers.ddpm_conv3x3 / ddpm_conv1x1 (nn.Conv2d + default_init(init_scale), zero bias).
struct ConvL : Layer {
  at::Tensor weight, bias;
  int64_t stride, padding;
  ConvL(Init& init, int64_t in, int64_t out, int64_t k, int64_t stride_, int64_t padding_, double init_scale)
      : stride(stride_), padding(padding_) {
    init.ConsumeTorchDefault({out, in, k, k});
    weight = register_parameter("weight", init.DefaultInit({out, in, k, k}, init_scale));
    bias = register_parameter("bias", at::zeros({out}, at::kFloat));
  }
  at::Tensor Call(const at::Tensor& x, const at::Tensor&) override {
    return at::conv2d(x, weight, bias, at::IntArrayRef({stride, stride}), at::IntArrayRef({padding, padding}));
  }
};
inline std::shared_ptr<ConvL> Conv3x3(Init& init, int64_t in, int64_t out, double init_scale = 1.0,
                                      int64_t stride = 1, int64_t padding = 1) {
  return std::make_shared<ConvL>(init, in, out, 3, stride, padding, init_scale);
}
inline std::shared_ptr<ConvL> Conv1x1(Init& init, int64_t in, int64_t out, double init_scale = 1.0) {
  return std::make_shared<ConvL>(init, in, out, 1, 1, 0, init_scale);
}

// nn.Linear with default_init() weight and zero bias.
struct LinearL : Layer {
  at::Tensor weight, bias;
  LinearL(Init& init, int64_t in, int64_t out) {
    init.ConsumeTorchDefault({out, in});
    weight = register_parameter("weight", init.DefaultInit({out, in}, 1.0));
    bias = register_parameter("bias", at::zeros({out}, at::kFloat));
  }
  at::Tensor Call(const at::Tensor& x, const at::Tensor&) override { return at::linear(x, weight, bias); }
};

// layers.NIN: W [in, out], b [out]; y = x·W + b over the channel axis. NCHW in → NCHW-contiguous out;
// channels-last in → channels-last out (one matmul over the [B·H·W, C] rows, as the reference).
inline at::Tensor NinApply(const at::Tensor& x, const at::Tensor& W, const at::Tensor& b) {
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

struct NinL : Layer {
  at::Tensor W, b;
  NinL(Init& init, int64_t in, int64_t out, double init_scale = 0.1) {
    W = register_parameter("W", init.DefaultInit({in, out}, init_scale));
    b = register_parameter("b", at::zeros({out}, at::kFloat));
  }
  at::Tensor Call(const at::Tensor& x, const at::Tensor&) override { return NinApply(x, W, b); }
};

struct FourierL : Layer {
  at::Tensor W;
  FourierL(Init& init, int64_t size, double scale, bool trainable) {
    W = register_parameter("W", at::randn({size}, init.gen, at::TensorOptions().dtype(at::kFloat)) * scale,
                           trainable);
  }
  at::Tensor Call(const at::Tensor& x, const at::Tensor&) override {
    at::Tensor proj = x.unsqueeze(1) * W.unsqueeze(0) * 2 * M_PI;
    return at::cat({at::sin(proj), at::cos(proj)}, -1);
  }
};

struct CombineL : Layer {
  std::shared_ptr<ConvL> Conv_0;
  bool cat;
  CombineL(Init& init, int64_t dim1, int64_t dim2, bool cat_) : cat(cat_) {
    Conv_0 = register_module("Conv_0", Conv1x1(init, dim1, dim2));
  }
  at::Tensor Call(const at::Tensor& x, const at::Tensor& y) override {
    at::Tensor h = Conv_0->Call(x, {});
    return cat ? at::cat({h, y}, 1) : h + y;
  }
};

struct AttnBlockL : Layer {
  std::shared_ptr<GroupNormL> GroupNorm_0;
  std::shared_ptr<NinL> NIN_0, NIN_1, NIN_2, NIN_3;
  bool skip_rescale;
  AttnBlockL(Init& init, int64_t c, bool skip_rescale_, double init_scale) : skip_rescale(skip_rescale_) {
    GroupNorm_0 = register_module("GroupNorm_0", std::make_shared<GroupNormL>(c));
    NIN_0 = register_module("NIN_0", std::make_shared<NinL>(init, c, c));
    NIN_1 = register_module("NIN_1", std::make_shared<NinL>(init, c, c));
    NIN_2 = register_module("NIN_2", std::make_shared<NinL>(init, c, c));
    NIN_3 = register_module("NIN_3", std::make_shared<NinL>(init, c, c, init_scale));
  }
  at::Tensor Call(const at::Tensor& x, const at::Tensor&) override {
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
};

// up_or_down_sampling.Conv2d with up or down (named `Conv2d_0` by its owner): weight [out, in, k, k]
// (default_init, no torch reset draw), bias [out] zeros.
struct FirConvL : Layer {
  at::Tensor weight, bias;
  bool up;
  std::shared_ptr<FirKernel> fir;
  FirConvL(Init& init, int64_t in, int64_t out, int64_t kernel, bool up_, const std::vector<double>& fk)
      : up(up_) {
    weight = register_parameter("weight", init.DefaultInit({out, in, kernel, kernel}, 1.0));
    bias = register_parameter("bias", at::zeros({out}, at::kFloat));
    fir = std::make_shared<FirKernel>(fk, up ? 4.0 : 1.0);
  }
  at::Tensor Call(const at::Tensor& x, const at::Tensor&) override {
    const int64_t kf = fir->cpu.size(0), convW = weight.size(3);
    at::Tensor y;
    if (up) {
      // upsample_conv_2d: transposed stride-2 conv with the flipped, in/out-swapped weight, then FIR.
      const int64_t p = (kf - 2) - (convW - 1);
      at::Tensor wt = weight.flip({2, 3}).transpose(0, 1);
      y = at::conv_transpose2d(x, wt, c10::nullopt, at::IntArrayRef({2, 2}));
      y = Upfirdn2d(y, fir->Get(y), 1, 1, FloorDiv(p + 1, 2) + 1, FloorDiv(p, 2) + 1);
    } else {
      // conv_downsample_2d: FIR pad+filter, then stride-2 conv.
      const int64_t p = (kf - 2) + (convW - 1);
      y = Upfirdn2d(x, fir->Get(x), 1, 1, FloorDiv(p + 1, 2), FloorDiv(p, 2));
      y = at::conv2d(y, weight, c10::nullopt, at::IntArrayRef({2, 2}));
    }
    return y + bias.reshape({1, -1, 1, 1});
  }
};

struct UpsampleL : Layer {
  bool fir, with_conv;
  std::shared_ptr<ConvL> Conv_0;
  std::shared_ptr<FirConvL> Conv2d_0;
  std::shared_ptr<FirKernel> k4;
  UpsampleL(Init& init, int64_t in, int64_t out, bool with_conv_, bool fir_, const std::vector<double>& fk)
      : fir(fir_), with_conv(with_conv_) {
    if (out <= 0) out = in;
    if (!fir) {
      if (with_conv) Conv_0 = register_module("Conv_0", Conv3x3(init, in, out));
    } else {
      if (with_conv) Conv2d_0 = register_module("Conv2d_0", std::make_shared<FirConvL>(init, in, out, 3, true, fk));
      else k4 = std::make_shared<FirKernel>(fk, 4.0);
    }
  }
  at::Tensor Call(const at::Tensor& x, const at::Tensor&) override {
    if (!fir) {
      at::Tensor h = NaiveUpsample2d(x);  // JAX: jax.image.resize(..., 'nearest'); SP crashes here
      return with_conv ? Conv_0->Call(h, {}) : h;
    }
    return with_conv ? Conv2d_0->Call(x, {}) : FirUpsample2d(x, *k4);
  }
};

struct DownsampleL : Layer {
  bool fir, with_conv;
  std::shared_ptr<ConvL> Conv_0;
  std::shared_ptr<FirConvL> Conv2d_0;
  std::shared_ptr<FirKernel> k1;
  DownsampleL(Init& init, int64_t in, int64_t out, bool with_conv_, bool fir_, const std::vector<double>& fk)
      : fir(fir_), with_conv(with_conv_) {
    if (out <= 0) out = in;
    if (!fir) {
      if (with_conv) Conv_0 = register_module("Conv_0", Conv3x3(init, in, out, 1.0, 2, 0));
    } else {
      if (with_conv) Conv2d_0 = register_module("Conv2d_0", std::make_shared<FirConvL>(init, in, out, 3, false, fk));
      else k1 = std::make_shared<FirKernel>(fk, 1.0);
    }
  }
  at::Tensor Call(const at::Tensor& x, const at::Tensor&) override {
    if (!fir) {
      if (with_conv) return Conv_0->Call(at::constant_pad_nd(x, {0, 1, 0, 1}, 0), {});
      return at::avg_pool2d(x, {2, 2}, {2, 2});
    }
    return with_conv ? Conv2d_0->Call(x, {}) : FirDownsample2d(x, *k1);
  }
};

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

struct ResBlockCommon : Layer {
  Act act;
  double dropout;
  bool skip_rescale;
  int64_t in_ch, out_ch;
  std::shared_ptr<DropoutCtx> dctx;
};

// layerspp.ResnetBlockDDPMpp: GroupNorm_0, Conv_0, Dense_0, GroupNorm_1, Dropout_0, Conv_1, [NIN_0].
struct ResBlockDDPML : ResBlockCommon {
  std::shared_ptr<GroupNormL> GroupNorm_0, GroupNorm_1;
  std::shared_ptr<ConvL> Conv_0, Conv_1;
  std::shared_ptr<LinearL> Dense_0;
  std::shared_ptr<NinL> NIN_0;
  ResBlockDDPML(Init& init, Act act_, int64_t in, int64_t out, int64_t temb_dim, double dropout_, bool skip,
                double init_scale, std::shared_ptr<DropoutCtx> d) {
    if (out <= 0) out = in;
    act = act_, dropout = dropout_, skip_rescale = skip, in_ch = in, out_ch = out, dctx = std::move(d);
    GroupNorm_0 = register_module("GroupNorm_0", std::make_shared<GroupNormL>(in));
    Conv_0 = register_module("Conv_0", Conv3x3(init, in, out));
    Dense_0 = register_module("Dense_0", std::make_shared<LinearL>(init, temb_dim, out));
    GroupNorm_1 = register_module("GroupNorm_1", std::make_shared<GroupNormL>(out));
    Conv_1 = register_module("Conv_1", Conv3x3(init, out, out, init_scale));
    if (in != out) NIN_0 = register_module("NIN_0", std::make_shared<NinL>(init, in, out));
  }
  at::Tensor Call(const at::Tensor& x, const at::Tensor& temb_act) override {
    at::Tensor h = ApplyAct(act, GroupNorm_0->Call(x, {}));
    h = Conv_0->Call(h, {});
    if (temb_act.defined()) h.add_(Dense_0->Call(temb_act, {}).unsqueeze(-1).unsqueeze(-1));
    h = ApplyAct(act, GroupNorm_1->Call(h, {}));
    h = Dropout(h, dropout, is_training(), *dctx);
    h = Conv_1->Call(h, {});
    at::Tensor xs = (x.size(1) != out_ch) ? NIN_0->Call(x, {}) : x;
    return skip_rescale ? (xs + h) / std::sqrt(2.0) : xs + h;
  }
};

// layerspp.ResnetBlockBigGANpp: GroupNorm_0, Conv_0, Dense_0, GroupNorm_1, Dropout_0, Conv_1, [Conv_2].
struct ResBlockBigGANL : ResBlockCommon {
  bool up, down, fir;
  std::shared_ptr<GroupNormL> GroupNorm_0, GroupNorm_1;
  std::shared_ptr<ConvL> Conv_0, Conv_1, Conv_2;
  std::shared_ptr<LinearL> Dense_0;
  std::shared_ptr<FirKernel> kup, kdown;
  ResBlockBigGANL(Init& init, Act act_, int64_t in, int64_t out, int64_t temb_dim, bool up_, bool down_,
                  double dropout_, bool fir_, const std::vector<double>& fk, bool skip, double init_scale,
                  std::shared_ptr<DropoutCtx> d)
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
  at::Tensor Call(const at::Tensor& x_in, const at::Tensor& temb_act) override {
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
};

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
