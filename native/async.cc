// Asynchronous forms of the heavy generic calls (module and optimizer jobs live beside their classes).
#include "pch.h"
#include "async.h"

namespace sf {

// backwardAsync(loss, gradient|null, retainGraph): resolves when gradients are accumulated.
static Napi::Value BackwardAsync(const Napi::CallbackInfo& info) {
  at::Tensor loss = UnwrapTensor(info[0], "loss");
  at::Tensor g;
  if (!info[1].IsUndefined() && !info[1].IsNull()) g = UnwrapTensor(info[1], "gradient");
  bool retain = info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
  return TensorJob::Run(info.Env(), [loss, g, retain]() {
    at::Tensor l = loss;
    l.backward(g, retain, false);
    return std::vector<at::Tensor>{};
  }, true);
}

// autogradGradAsync(outputs, inputs, gradOutputs|null, retainGraph, createGraph, allowUnused)
static Napi::Value AutogradGradAsync(const Napi::CallbackInfo& info) {
  auto outputs = UnwrapTensorList(info[0], "outputs");
  auto inputs = UnwrapTensorList(info[1], "inputs");
  std::vector<at::Tensor> grad_outputs;
  if (info[2].IsArray()) grad_outputs = UnwrapTensorList(info[2], "gradOutputs");
  c10::optional<bool> retain;
  if (info[3].IsBoolean()) retain = info[3].As<Napi::Boolean>().Value();
  bool create = info[4].IsBoolean() && info[4].As<Napi::Boolean>().Value();
  bool allow_unused = info[5].IsBoolean() && info[5].As<Napi::Boolean>().Value();
  return TensorJob::Run(info.Env(), [=]() {
    return torch::autograd::grad(outputs, inputs, grad_outputs, retain, create, allow_unused);
  }, false);
}

// matmulAsync(a, b): a cheap way for tests and benchmarks to exercise the async path on real work.
static Napi::Value MatmulAsync(const Napi::CallbackInfo& info) {
  at::Tensor a = UnwrapTensor(info[0], "a");
  at::Tensor b = UnwrapTensor(info[1], "b");
  return TensorJob::Run(info.Env(), [a, b]() { return std::vector<at::Tensor>{a.matmul(b)}; }, true);
}

void InitAsync(Napi::Env env, Napi::Object exports) {
  ExportFn(env, exports, "backwardAsync", BackwardAsync);
  ExportFn(env, exports, "autogradGradAsync", AutogradGradAsync);
  ExportFn(env, exports, "matmulAsync", MatmulAsync);
}

}  // namespace sf
