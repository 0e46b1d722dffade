// Optimizer state and the per-parameter loops of a training step (Adam, gradient norms, EMA). The
// schedules and conventions (warm-up, clipping rule, EMA rate) are decided in TypeScript.
#include "pch.h"
#include "async.h"

namespace sf {

// Adam exactly as torch.optim.Adam (single-tensor path, torch 1.13), so a step matches the reference's
// bit for bit on CPU: m ← β1·m + (1−β1)g; v ← β2·v + (1−β2)g²; p ← p − lr/(1−β1ᵗ) · m/(√v/√(1−β2ᵗ) + ε).
struct AdamState {
  std::vector<at::Tensor> params, exp_avg, exp_avg_sq;
  std::vector<int64_t> steps;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;

  void Update(double lr) {
    at::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) {
      at::Tensor& p = params[i];
      const at::Tensor& g0 = p.grad();
      if (!g0.defined()) continue;  // parameters without gradients keep their state, as in torch
      at::Tensor g = weight_decay != 0 ? g0.add(p, weight_decay) : g0;
      steps[i] += 1;
      exp_avg[i].mul_(beta1).add_(g, 1 - beta1);
      exp_avg_sq[i].mul_(beta2).addcmul_(g, g, 1 - beta2);
      double bc1 = 1 - std::pow(beta1, static_cast<double>(steps[i]));
      double bc2 = 1 - std::pow(beta2, static_cast<double>(steps[i]));
      at::Tensor denom = (exp_avg_sq[i].sqrt() / std::sqrt(bc2)).add_(eps);
      p.addcdiv_(exp_avg[i], denom, -lr / bc1);
    }
  }
};

class AdamHandle : public Napi::ObjectWrap<AdamHandle> {
 public:
  static Napi::Function DefineClass(Napi::Env env) {
    return ObjectWrap<AdamHandle>::DefineClass(
        env, "Adam",
        {InstanceMethod("step", &AdamHandle::G<&AdamHandle::Step>),
         InstanceMethod("stepAsync", &AdamHandle::G<&AdamHandle::StepAsync>),
         InstanceMethod("zeroGrad", &AdamHandle::G<&AdamHandle::ZeroGrad>),
         InstanceMethod("state", &AdamHandle::G<&AdamHandle::State>),
         InstanceMethod("setState", &AdamHandle::G<&AdamHandle::SetState>),
         InstanceMethod("dispose", &AdamHandle::G<&AdamHandle::Dispose>)});
  }

  // new Adam(params, {beta1, beta2, eps, weightDecay})
  explicit AdamHandle(const Napi::CallbackInfo& info) : ObjectWrap<AdamHandle>(info) {
    Guard(info.Env(), [&]() -> Napi::Value {
      auto s = std::make_shared<AdamState>();
      s->params = UnwrapTensorList(info[0], "params");
      if (!info[1].IsObject()) ThrowArg("options: expected an object");
      auto o = info[1].As<Napi::Object>();
      s->beta1 = GetNumber(o.Get("beta1"), "beta1");
      s->beta2 = GetNumber(o.Get("beta2"), "beta2");
      s->eps = GetNumber(o.Get("eps"), "eps");
      s->weight_decay = GetNumber(o.Get("weightDecay"), "weightDecay");
      for (auto& p : s->params) {
        s->exp_avg.push_back(at::zeros_like(p, at::MemoryFormat::Preserve));
        s->exp_avg_sq.push_back(at::zeros_like(p, at::MemoryFormat::Preserve));
        s->steps.push_back(0);
      }
      state_ = std::move(s);
      return info.Env().Undefined();
    });
  }

 private:
  template <Napi::Value (AdamHandle::*M)(const Napi::CallbackInfo&)>
  Napi::Value G(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&] { return (this->*M)(info); });
  }
  AdamState& Live() const {
    if (!state_) ThrowDisposed("optimizer was disposed");
    return *state_;
  }

  Napi::Value Step(const Napi::CallbackInfo& info) {
    Live().Update(GetNumber(info[0], "lr"));
    return info.Env().Undefined();
  }

  // The job shares the state, so it stays valid even if the handle is disposed meanwhile; the
  // parameters must not be used from JS until the promise settles.
  Napi::Value StepAsync(const Napi::CallbackInfo& info) {
    Live();
    double lr = GetNumber(info[0], "lr");
    std::shared_ptr<AdamState> s = state_;
    return TensorJob::Run(info.Env(), [s, lr]() {
      s->Update(lr);
      return std::vector<at::Tensor>{};
    }, true);
  }

  Napi::Value ZeroGrad(const Napi::CallbackInfo& info) {
    for (auto& p : Live().params) p.mutable_grad().reset();
    return info.Env().Undefined();
  }

  // state() → {step: number[], expAvg: Tensor[], expAvgSq: Tensor[]} (tensors are copies)
  Napi::Value State(const Napi::CallbackInfo& info) {
    AdamState& s = Live();
    Napi::Env env = info.Env();
    auto o = Napi::Object::New(env);
    auto steps = Napi::Array::New(env, s.steps.size());
    std::vector<at::Tensor> m, v;
    for (size_t i = 0; i < s.steps.size(); ++i) {
      steps.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(s.steps[i])));
      m.push_back(s.exp_avg[i].clone());
      v.push_back(s.exp_avg_sq[i].clone());
    }
    o.Set("step", steps);
    o.Set("expAvg", WrapTensorList(env, m));
    o.Set("expAvgSq", WrapTensorList(env, v));
    return o;
  }

  Napi::Value SetState(const Napi::CallbackInfo& info) {
    AdamState& s = Live();
    if (!info[0].IsObject()) ThrowArg("state: expected {step, expAvg, expAvgSq}");
    auto o = info[0].As<Napi::Object>();
    auto steps = GetIntList(o.Get("step"), "state.step");
    auto m = UnwrapTensorList(o.Get("expAvg"), "state.expAvg");
    auto v = UnwrapTensorList(o.Get("expAvgSq"), "state.expAvgSq");
    size_t n = s.params.size();
    if (steps.size() != n || m.size() != n || v.size() != n)
      ThrowArg("state: expected " + std::to_string(n) + " entries per field, received step " +
               std::to_string(steps.size()) + ", expAvg " + std::to_string(m.size()) + ", expAvgSq " +
               std::to_string(v.size()));
    for (size_t i = 0; i < n; ++i) {
      if (!m[i].sizes().equals(s.params[i].sizes()) || !v[i].sizes().equals(s.params[i].sizes()))
        ThrowArg("state: moment " + std::to_string(i) + " has shape " + c10::str(m[i].sizes()) +
                 " but the parameter has " + c10::str(s.params[i].sizes()));
    }
    at::NoGradGuard no_grad;
    for (size_t i = 0; i < n; ++i) {
      s.steps[i] = steps[i];
      s.exp_avg[i].copy_(m[i]);
      s.exp_avg_sq[i].copy_(v[i]);
    }
    return info.Env().Undefined();
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    state_.reset();  // idempotent
    return info.Env().Undefined();
  }

  std::shared_ptr<AdamState> state_;
};

// Global L2 norm of the gradients of `params` (parameters without gradients are skipped), as a 0-d
// tensor so the clipping factor can be computed without a host synchronisation. Same reduction order
// and dtype as torch.nn.utils.clip_grad_norm_ (norm of the per-tensor norms).
static Napi::Value GradNorm(const Napi::CallbackInfo& info) {
  auto params = UnwrapTensorList(info[0], "params");
  std::vector<at::Tensor> norms;
  for (auto& p : params)
    if (p.grad().defined()) norms.push_back(p.grad().detach().norm(2));
  if (norms.empty()) return WrapTensor(info.Env(), at::zeros({}));
  return WrapTensor(info.Env(), at::stack(norms).norm(2));
}

// Multiplies every gradient by `factor` (number or 0-d tensor).
static Napi::Value ScaleGrads(const Napi::CallbackInfo& info) {
  auto params = UnwrapTensorList(info[0], "params");
  at::NoGradGuard no_grad;
  if (info[1].IsNumber()) {
    double f = info[1].As<Napi::Number>().DoubleValue();
    for (auto& p : params) if (p.grad().defined()) p.mutable_grad().mul_(f);
  } else {
    at::Tensor f = UnwrapTensor(info[1], "factor");
    for (auto& p : params) if (p.grad().defined()) p.mutable_grad().mul_(f.to(p.grad().device(), p.grad().scalar_type()));
  }
  return info.Env().Undefined();
}

// shadow ← shadow − (1 − decay)·(shadow − param): the reference EMA update, op for op.
static Napi::Value EmaUpdate(const Napi::CallbackInfo& info) {
  auto shadow = UnwrapTensorList(info[0], "shadow");
  auto params = UnwrapTensorList(info[1], "params");
  double decay = GetNumber(info[2], "decay");
  if (shadow.size() != params.size())
    ThrowArg("shadow: expected " + std::to_string(params.size()) + " tensors, received " + std::to_string(shadow.size()));
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < shadow.size(); ++i) shadow[i].sub_((1.0 - decay) * (shadow[i] - params[i]));
  return info.Env().Undefined();
}

// copyAll(dst, src): dst[i] ← src[i] without recording gradients (EMA swap-in, checkpoint loading).
static Napi::Value CopyAll(const Napi::CallbackInfo& info) {
  auto dst = UnwrapTensorList(info[0], "dst");
  auto src = UnwrapTensorList(info[1], "src");
  if (dst.size() != src.size())
    ThrowArg("src: expected " + std::to_string(dst.size()) + " tensors, received " + std::to_string(src.size()));
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < dst.size(); ++i) dst[i].copy_(src[i]);
  return info.Env().Undefined();
}

void InitOptim(Napi::Env env, Napi::Object exports) {
  exports.Set("Adam", AdamHandle::DefineClass(env));
  ExportFn(env, exports, "gradNorm", GradNorm);
  ExportFn(env, exports, "scaleGrads", ScaleGrads);
  ExportFn(env, exports, "emaUpdate", EmaUpdate);
  ExportFn(env, exports, "copyAll", CopyAll);
}

}  // namespace sf
