// score_sde_pytorch models/layerspp.py: GaussianFourierProjection, Combine, AttnBlockpp, Upsample,
// Downsample, ResnetBlockDDPMpp, ResnetBlockBigGANpp, and the model-owned dropout generator.
#pragma once
#include "nn/ncsnpp/layers.h"
#include "nn/ncsnpp/up_or_down_sampling.h"

#include <mutex>
#include <vector>

namespace sf {
namespace ncsnpp_detail {

struct DropoutCtx {
  std::mutex mu;
  c10::optional<uint64_t> seed;
  c10::optional<at::Generator> gen;

  // Returns the model generator for `dev` (recreated with the same seed after a device move).
  c10::optional<at::Generator> For(const c10::Device& dev);
};

struct FourierL : Layer {
  at::Tensor W;
  FourierL(Init& init, int64_t size, double scale, bool trainable);
  at::Tensor Call(const at::Tensor& x, const at::Tensor&) override;
};

struct CombineL : Layer {
  std::shared_ptr<ConvL> Conv_0;
  bool cat;
  CombineL(Init& init, int64_t dim1, int64_t dim2, bool cat_);
  at::Tensor Call(const at::Tensor& x, const at::Tensor& y) override;
};

struct AttnBlockL : Layer {
  std::shared_ptr<GroupNormL> GroupNorm_0;
  std::shared_ptr<NinL> NIN_0, NIN_1, NIN_2, NIN_3;
  bool skip_rescale;
  AttnBlockL(Init& init, int64_t c, bool skip_rescale_, double init_scale);
  at::Tensor Call(const at::Tensor& x, const at::Tensor&) override;
};

struct UpsampleL : Layer {
  bool fir, with_conv;
  std::shared_ptr<ConvL> Conv_0;
  std::shared_ptr<FirConvL> Conv2d_0;
  std::shared_ptr<FirKernel> k4;
  UpsampleL(Init& init, int64_t in, int64_t out, bool with_conv_, bool fir_, const std::vector<double>& fk);
  at::Tensor Call(const at::Tensor& x, const at::Tensor&) override;
};

struct DownsampleL : Layer {
  bool fir, with_conv;
  std::shared_ptr<ConvL> Conv_0;
  std::shared_ptr<FirConvL> Conv2d_0;
  std::shared_ptr<FirKernel> k1;
  DownsampleL(Init& init, int64_t in, int64_t out, bool with_conv_, bool fir_, const std::vector<double>& fk);
  at::Tensor Call(const at::Tensor& x, const at::Tensor&) override;
};

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
                double init_scale, std::shared_ptr<DropoutCtx> d);
  at::Tensor Call(const at::Tensor& x, const at::Tensor& temb_act) override;
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
                  std::shared_ptr<DropoutCtx> d);
  at::Tensor Call(const at::Tensor& x_in, const at::Tensor& temb_act) override;
};

}  // namespace ncsnpp_detail
}  // namespace sf
