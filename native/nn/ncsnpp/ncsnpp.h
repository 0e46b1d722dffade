// NCSN++ / DDPM++ score network (score_sde_pytorch `models/ncsnpp.py`), parameter for parameter.
//
// Submodule and parameter names equal the reference state-dict names (`sigmas`,
// `all_modules.<i>.Conv_0.weight`, `all_modules.<i>.NIN_0.W`, ...), registered in the reference order,
// so named_parameters()/state_dict_entries() line up with a PyTorch `model.state_dict()`.
//
// Initialisation reproduces the reference's random draws: every nn.Conv2d / nn.Linear first consumes
// what PyTorch's reset_parameters draws (kaiming_uniform_ weight, uniform_ bias), then default_init
// (variance scaling, fan_avg, uniform) overwrites the weight, in construction order. With a seed the
// draws come from a fresh CPU generator seeded with it, which equals `torch.manual_seed(seed)` followed
// by the reference constructor (same values, bit for bit, on the same libtorch); without a seed they
// come from libtorch's default CPU generator. Weights are made on the CPU in float32 and moved after.
//
// Where the reference crashes (spec §12.1) the JAX reference's behaviour is implemented:
//  - non-FIR Upsample: nearest x2 (then the optional 3x3 Conv_0);
//  - FIR Upsample with conv (`Conv2d_0`): conv_transpose2d(stride 2) with the spatially flipped,
//    in/out-transposed weight, then the FIR filter (gain 4, pad (1,1)) — upsample_conv_2d as intended.
#pragma once
#include "pch.h"

#include <utility>

namespace sf {

struct NcsnppConfig {
  // config.model
  int64_t nf = 128;
  std::vector<int64_t> ch_mult{1, 2, 2, 2};
  int64_t num_res_blocks = 4;
  std::vector<int64_t> attn_resolutions{16};
  double dropout = 0.1;
  bool resamp_with_conv = true;
  bool conditional = true;
  bool fir = false;
  std::vector<double> fir_kernel{1, 3, 3, 1};
  bool skip_rescale = true;
  std::string resblock_type = "biggan";      // ddpm | biggan
  std::string progressive = "none";          // none | output_skip | residual
  std::string progressive_input = "none";    // none | input_skip | residual
  std::string progressive_combine = "sum";   // sum | cat
  double init_scale = 0.0;
  std::string embedding_type = "positional"; // fourier | positional
  double fourier_scale = 16.0;
  bool scale_by_sigma = false;
  std::string nonlinearity = "swish";        // swish | elu | relu | lrelu
  double sigma_min = 0.01;
  double sigma_max = 50.0;
  int64_t num_scales = 1000;
  // config.data
  bool centered = true;
  int64_t image_size = 32;
  int64_t num_channels = 3;
  // Extensions (not in the reference configs):
  // fourier embedding input: log(label) as in score_sde_pytorch (true), or the raw label (score_flow
  // non-VE models).
  bool fourier_log_label = true;
  // Gaussian Fourier `W` requires grad (reference: false; score_flow `trainable_embedding`).
  bool trainable_embedding = false;

  // Throws std::invalid_argument on an inconsistent config.
  void Validate() const;
};

namespace ncsnpp_detail {
struct Layer;
struct DropoutCtx;
}  // namespace ncsnpp_detail

class NCSNpp : public torch::nn::Module {
 public:
  // seed: see the header comment. Builds on the CPU in float32.
  explicit NCSNpp(const NcsnppConfig& cfg, c10::optional<uint64_t> seed = c10::nullopt);

  // x: [B, num_channels, H, W]; labels: [B] (time labels / sigmas / integer noise-level indices, see
  // spec §3). Returns [B, num_channels, H, W] in x's dtype. Grad flows when grad mode is on.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& labels);

  // Dropout RNG for train mode: a generator of the model's device seeded with `seed`; nullopt returns
  // to libtorch's default generator (at::dropout).
  void SetDropoutSeed(c10::optional<uint64_t> seed);

  // PyTorch state_dict() order: for each module its own parameters, then its own buffers, then its
  // children (so `sigmas` first). Tensors share storage with the module's.
  std::vector<std::pair<std::string, at::Tensor>> StateDictEntries() const;
  int64_t NumParameters() const;
  const NcsnppConfig& config() const { return cfg_; }
  c10::Device device() const;

 private:
  NcsnppConfig cfg_;
  at::Tensor sigmas_;
  torch::nn::ModuleList all_modules_{nullptr};
  std::vector<std::shared_ptr<ncsnpp_detail::Layer>> mods_;
  std::vector<bool> attn_at_level_;
  std::shared_ptr<ncsnpp_detail::DropoutCtx> dropout_;
  std::shared_ptr<ncsnpp_detail::Layer> pyramid_upsample_, pyramid_downsample_;
};

}  // namespace sf
