// score_sde_pytorch models/up_or_down_sampling.py and op/upfirdn2d.py in libtorch.
#include "pch.h"
#include "nn/ncsnpp/up_or_down_sampling.h"

namespace sf {
namespace ncsnpp_detail {

FirKernel::FirKernel(const std::vector<double>& k1, double gain) {
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

at::Tensor FirKernel::Get(const at::Tensor& like) {
  std::lock_guard<std::mutex> lock(mu);
  if (!cached.defined() || cached.device() != like.device() || cached.scalar_type() != like.scalar_type())
    cached = cpu.to(like.device(), like.scalar_type());
  return cached;
}

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

FirConvL::FirConvL(Init& init, int64_t in, int64_t out, int64_t kernel, bool up_, const std::vector<double>& fk)
    : up(up_) {
  weight = register_parameter("weight", init.DefaultInit({out, in, kernel, kernel}, 1.0));
  bias = register_parameter("bias", at::zeros({out}, at::kFloat));
  fir = std::make_shared<FirKernel>(fk, up ? 4.0 : 1.0);
}

at::Tensor FirConvL::Call(const at::Tensor& x, const at::Tensor&) {
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

}  // namespace ncsnpp_detail
}  // namespace sf
