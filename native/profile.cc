// Profiling helpers for `npm run bench` (scripts/bench/gpu.ts): a FLOP counter over the ATen ops a JS
// callback runs, and the CUDA caching allocator's memory statistics.
//
// countFlops(fn) installs an at::RecordFunction callback (global, inputs and outputs captured, filtered to
// the calling thread) for the duration of the synchronous call fn(), and counts multiply-add FLOPs
// (2 x MACs) of convolutions and matrix products. Only the outermost counted op of a nest is counted
// (aten::conv2d -> aten::convolution -> aten::_convolution, aten::linear -> aten::addmm, aten::matmul ->
// aten::mm, an autocast wrapper -> the same op again), so every product is counted once. Work on other
// threads (async jobs, the autograd engine's backward) is not seen.
#include "pch.h"
#include "common.h"
#include <ATen/record_function.h>
#include <torch/version.h>
#include <map>
#include <thread>
#if SF_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#endif

namespace sf {
namespace {

enum class Kind { None, Conv, ConvTransposed, ConvByFlag, Product };

Kind KindOf(const std::string& n) {
  static const std::map<std::string, Kind> kinds = {
      {"aten::conv1d", Kind::Conv}, {"aten::conv2d", Kind::Conv}, {"aten::conv3d", Kind::Conv},
      {"aten::conv_transpose1d", Kind::ConvTransposed}, {"aten::conv_transpose2d", Kind::ConvTransposed},
      {"aten::conv_transpose3d", Kind::ConvTransposed},
      {"aten::convolution", Kind::ConvByFlag}, {"aten::_convolution", Kind::ConvByFlag},
      {"aten::mm", Kind::Product}, {"aten::addmm", Kind::Product}, {"aten::bmm", Kind::Product},
      {"aten::baddbmm", Kind::Product}, {"aten::addbmm", Kind::Product}, {"aten::matmul", Kind::Product},
      {"aten::linear", Kind::Product}};
  auto it = kinds.find(n);
  return it == kinds.end() ? Kind::None : it->second;
}

struct Counting {
  std::thread::id thread;
  std::map<std::string, double> byOp;
  int depth = 0;  // counted ops open on the counting thread
};
Counting* g_counting = nullptr;  // set only while countFlops runs (the JS thread)

struct FlopContext : at::ObserverContext {
  bool counted = false;    // the outermost counted op (nested ones only track depth)
  std::string name;
  double factor = 0;       // MACs per output element (0: `macs` is final)
  double macs = 0;
};

const at::Tensor* TensorAt(at::ArrayRef<const c10::IValue> in, size_t i) {
  return i < in.size() && in[i].isTensor() ? &in[i].toTensor() : nullptr;
}
double ProdFrom(const at::Tensor& t, int64_t first) {
  double p = 1;
  for (int64_t d = first; d < t.dim(); ++d) p *= static_cast<double>(t.size(d));
  return p;
}

std::unique_ptr<at::ObserverContext> OnStart(const at::RecordFunction& fn) {
  Counting* c = g_counting;
  if (!c || std::this_thread::get_id() != c->thread) return nullptr;
  std::string name = fn.name();
  Kind kind = KindOf(name);
  if (kind == Kind::None) return nullptr;
  auto ctx = std::make_unique<FlopContext>();
  if (c->depth++ > 0) return ctx;  // nested in a counted op
  ctx->counted = true;
  ctx->name = name;
  auto in = fn.inputs();
  if (kind == Kind::Product) {
    // k: the contracted size, the last dim of the left factor (addmm / baddbmm / addbmm: the second input).
    bool with_self = name == "aten::addmm" || name == "aten::baddbmm" || name == "aten::addbmm";
    const at::Tensor* a = TensorAt(in, with_self ? 1 : 0);
    if (a && a->dim() > 0) ctx->factor = static_cast<double>(a->size(-1));
    return ctx;
  }
  const at::Tensor* x = TensorAt(in, 0);
  const at::Tensor* w = TensorAt(in, 1);
  if (!x || !w || w->dim() < 2) return ctx;
  bool transposed = kind == Kind::ConvTransposed;
  if (kind == Kind::ConvByFlag && in.size() > 6 && in[6].isBool()) transposed = in[6].toBool();
  if (transposed) {
    // weight [C_in, C_out / groups, k...]: every input element meets C_out / groups · prod(k) weights.
    ctx->macs = static_cast<double>(x->numel()) * ProdFrom(*w, 1);
  } else {
    // weight [C_out, C_in / groups, k...]: every output element is a C_in / groups · prod(k) dot product.
    ctx->factor = ProdFrom(*w, 1);
  }
  return ctx;
}

void OnEnd(const at::RecordFunction& fn, at::ObserverContext* base) {
  if (!base) return;
  auto* ctx = static_cast<FlopContext*>(base);
  Counting* c = g_counting;
  if (!c) return;
  c->depth--;
  if (!ctx->counted) return;
  double macs = ctx->macs;
  if (ctx->factor > 0) {
    const auto& out = fn.outputs();
    if (!out.empty() && out[0].isTensor()) macs = static_cast<double>(out[0].toTensor().numel()) * ctx->factor;
  }
  c->byOp[ctx->name] += 2 * macs;
}

// Removes the callback and clears the state however fn() leaves (a JS exception included).
struct CallbackScope {
  at::CallbackHandle handle;
  Counting state;
  CallbackScope() {
    state.thread = std::this_thread::get_id();
    g_counting = &state;
    at::RecordFunctionCallback cb(&OnStart, &OnEnd);
    cb.needsInputs(true).needsOutputs(true).scopes({at::RecordScope::FUNCTION});
    handle = at::addGlobalCallback(cb);
  }
  ~CallbackScope() {
    at::removeCallback(handle);
    g_counting = nullptr;
  }
};

// countFlops(fn) -> { total, byOp: { 'aten::conv2d': n, ... }, result: fn() }
Napi::Value CountFlops(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) ThrowArg("fn: expected a function");
  if (g_counting) ThrowArg("countFlops: already counting (calls do not nest)");
  if (!at::isRecordFunctionEnabled()) ThrowDevice("countFlops: RecordFunction is disabled in this thread");
  std::map<std::string, double> byOp;
  Napi::Value result;
  {
    CallbackScope scope;
    result = info[0].As<Napi::Function>().Call({});
    byOp = scope.state.byOp;
  }
  auto o = Napi::Object::New(env);
  auto ops = Napi::Object::New(env);
  double total = 0;
  for (const auto& kv : byOp) {
    total += kv.second;
    ops.Set(kv.first, Napi::Number::New(env, kv.second));
  }
  o.Set("total", Napi::Number::New(env, total));
  o.Set("byOp", ops);
  o.Set("result", result);
  return o;
}

#if SF_WITH_CUDA
c10::DeviceIndex CudaIndex(const Napi::CallbackInfo& info) {
  int64_t idx = 0;
  if (info[0].IsString()) {
    c10::Device d = GetDevice(info[0], "device");
    if (!d.is_cuda()) ThrowArg("device: expected a CUDA device, received '" + DeviceName(d) + "'");
    idx = d.has_index() ? d.index() : 0;
  } else if (info[0].IsNumber()) {
    idx = GetInt(info[0], "device");
  }
  if (!torch::cuda::is_available()) ThrowDevice("cudaMemoryStats: no CUDA device is available");
  int64_t n = static_cast<int64_t>(torch::cuda::device_count());
  if (idx < 0 || idx >= n) ThrowArg("device: expected an index in [0, " + std::to_string(n) + "), received " + std::to_string(idx));
  return static_cast<c10::DeviceIndex>(idx);
}
#endif

// cudaMemoryStats(device = 0) -> { allocated, reserved, peakAllocated, peakReserved, free, total } bytes (the
// caching allocator's aggregate pool, the peaks since the start or the last cudaResetPeak; free and total
// from cudaMemGetInfo: what the driver can still give, which excludes the allocator's reserved pool).
Napi::Value CudaMemoryStats(const Napi::CallbackInfo& info) {
#if SF_WITH_CUDA
  c10::DeviceIndex idx = CudaIndex(info);
  auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(idx);
  constexpr size_t kAggregate = 0;  // StatType::AGGREGATE in every version
  auto o = Napi::Object::New(info.Env());
  auto num = [&](int64_t v) { return Napi::Number::New(info.Env(), static_cast<double>(v)); };
  o.Set("allocated", num(stats.allocated_bytes[kAggregate].current));
  o.Set("reserved", num(stats.reserved_bytes[kAggregate].current));
  o.Set("peakAllocated", num(stats.allocated_bytes[kAggregate].peak));
  o.Set("peakReserved", num(stats.reserved_bytes[kAggregate].peak));
  size_t free_bytes = 0, total_bytes = 0;
  {
    c10::cuda::CUDAGuard guard(idx);
    C10_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  }
  o.Set("free", num(static_cast<int64_t>(free_bytes)));
  o.Set("total", num(static_cast<int64_t>(total_bytes)));
  return o;
#else
  ThrowDevice("cudaMemoryStats: this addon was built without CUDA (rebuild against a CUDA libtorch)");
#endif
}

Napi::Value CudaResetPeak(const Napi::CallbackInfo& info) {
#if SF_WITH_CUDA
  c10::cuda::CUDACachingAllocator::resetPeakStats(CudaIndex(info));
  return info.Env().Undefined();
#else
  ThrowDevice("cudaResetPeak: this addon was built without CUDA (rebuild against a CUDA libtorch)");
#endif
}

}  // namespace

void InitProfile(Napi::Env env, Napi::Object exports) {
  ExportFn(env, exports, "countFlops", CountFlops);
  ExportFn(env, exports, "cudaMemoryStats", CudaMemoryStats);
  ExportFn(env, exports, "cudaResetPeak", CudaResetPeak);
}

}  // namespace sf
