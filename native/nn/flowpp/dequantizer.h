// Flow++ variational dequantizer of score_flow (models/flowpp/dequantization_{cifar10,imagenet32}.py):
// u = flow(eps; context(x)) ∈ (0, 1)^D for eps ~ N(0, I), with −log q(u|x) = −log N(eps) − log|det ∂u/∂eps|.
//
//  cifar10:    split → 4×[Norm, Pointwise, Coupling, TupleFlip] → merge → Sigmoid; ShallowProcessor context
//  imagenet32: (split → 4×[Norm, Coupling, TupleFlip] → merge) twice → Sigmoid; DeepProcessor context
//
// Submodule names are the reference's flax module names (`Norm_0`, `MixLogisticAttnCoupling_3`,
// `ShallowProcessor_0`, ...), so a flax parameter path maps to a state-dict name by one rule (TS
// formats/flax-flowpp-map.ts). Everything runs NHWC inside; the N-API layer converts from NCHW.
#pragma once
#include "nn/flowpp/flows.h"

#include <string>
#include <utility>
#include <vector>

namespace sf {
namespace flowpp {

struct DequantizerConfig {
  std::string variant = "cifar10";  // cifar10 | imagenet32
  int64_t channels = 3, height = 32, width = 32;
  int64_t filters = 96, components = 32, blocks = 2, heads = 4;
  void Validate() const;
};

class Dequantizer : public torch::nn::Module {
 public:
  Dequantizer(const DequantizerConfig& cfg, c10::optional<uint64_t> seed);

  // eps, x: [B, H, W, C]; x in [0, 1]. Forward: (u, −log q(u|x)) = (h, Σ logdet − log N(eps)) as the
  // reference returns. Inverse (eps = u): the reference's own second output, Σ logdet(inverse) − log N(u).
  std::pair<at::Tensor, at::Tensor> Forward(const at::Tensor& eps, const at::Tensor& x, bool inverse);
  // The reference's data-dependent init on one batch; returns each initialised layer's output statistics.
  std::vector<InitStat> Initialize(const at::Tensor& eps, const at::Tensor& x);

  at::Tensor Context(const at::Tensor& x);  // the processor's features [B, H, W/2, 32]
  size_t NumSteps() const { return steps_.size(); }
  const std::string& StepName(size_t i) const { return names_.at(i); }
  std::pair<State, at::Tensor> RunStep(size_t i, const State& s, const at::Tensor& context, bool inverse);

  std::vector<std::pair<std::string, at::Tensor>> StateDictEntries() const;
  int64_t NumParameters() const;
  c10::Device device() const;
  const DequantizerConfig& config() const { return cfg_; }

 private:
  void Add(const std::string& kind, std::shared_ptr<FlowStep> s);
  void CheckInputs(const at::Tensor& eps, const at::Tensor& x) const;

  DequantizerConfig cfg_;
  std::shared_ptr<InitCtx> ctx_;
  std::vector<std::shared_ptr<FlowStep>> steps_;
  std::vector<std::string> names_;
  std::map<std::string, int> counts_;
  std::function<at::Tensor(const at::Tensor&)> context_fn_;
};

}  // namespace flowpp
}  // namespace sf
