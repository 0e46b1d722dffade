// score_sde_pytorch models/up_or_down_sampling.py (+ op/upfirdn2d.py): FIR kernels, upfirdn2d, FIR and
// naive 2x resampling, and the resampling Conv2d (`Conv2d_0` of Upsample / Downsample).
#pragma once
#include "nn/ncsnpp/helpers.h"
#include "nn/ncsnpp/layers.h"

#include <mutex>
#include <vector>

namespace sf {
namespace ncsnpp_detail {

// FIR kernel (`_setup_kernel`): outer(k, k) / sum, float32, times a gain; cached per device/dtype.
struct FirKernel {
  at::Tensor cpu;  // [kh, kw] float32
  std::mutex mu;
  at::Tensor cached;

  FirKernel(const std::vector<double>& k1, double gain);
  at::Tensor Get(const at::Tensor& like);
};

// Zero-pads (positive) or crops (negative) the last two dims: (left, right, top, bottom).
at::Tensor PadOrCrop(const at::Tensor& t, int64_t l, int64_t r, int64_t top, int64_t bottom);
// op/upfirdn2d.py upfirdn2d_native (same pads on x and y).
at::Tensor Upfirdn2d(const at::Tensor& x, const at::Tensor& k, int64_t up, int64_t down, int64_t p0, int64_t p1);
// up_or_down_sampling.upsample_2d / downsample_2d (factor 2).
at::Tensor FirUpsample2d(const at::Tensor& x, FirKernel& k4);  // k4 carries gain*factor^2 = 4
at::Tensor FirDownsample2d(const at::Tensor& x, FirKernel& k1);
// naive_upsample_2d / naive_downsample_2d (and the JAX non-FIR Upsample: nearest x2).
at::Tensor NaiveUpsample2d(const at::Tensor& x);
at::Tensor NaiveDownsample2d(const at::Tensor& x);

// up_or_down_sampling.Conv2d with up or down (named `Conv2d_0` by its owner): weight [out, in, k, k]
// (default_init, no torch reset draw), bias [out] zeros.
struct FirConvL : Layer {
  at::Tensor weight, bias;
  bool up;
  std::shared_ptr<FirKernel> fir;
  FirConvL(Init& init, int64_t in, int64_t out, int64_t kernel, bool up_, const std::vector<double>& fk);
  at::Tensor Call(const at::Tensor& x, const at::Tensor&) override;
};

}  // namespace ncsnpp_detail
}  // namespace sf
