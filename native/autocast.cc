// Mixed precision (autocast.h): the libtorch-version shim, scopes, the device check, the JS-thread
// autocast stack and the TF32 switches.
//
//   checkPrecision(precision, device)      throws ERR_DEVICE (with the reason) when it cannot run there
//   autocastEnter(device, precision)       opens an autocast scope on the JS thread (fp32: a no-op scope)
//   autocastExit()                         closes the innermost one (ERR_ARG when none is open)
//   autocastState() -> { cpu: { enabled, dtype }, cuda: { enabled, dtype }, depth }   of the JS thread
//   setAllowTf32(on) -> { cublas, cudnn }  TF32 for cuBLAS matmuls and cuDNN convolutions (process-wide);
//                                          returns the previous switches
//   tf32State() -> { cublas, cudnn }
#include "pch.h"
#include "common.h"
#include "autocast.h"

#include <ATen/autocast_mode.h>
#if SF_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

// libtorch 2.4 replaced the per-device autocast functions (set_cpu_enabled, set_enabled,
// set_autocast_cpu_dtype, set_autocast_gpu_dtype, ...) by device-typed ones; the old names are deprecated
// there. One shim, chosen by the version of the headers compiled against.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define SF_AUTOCAST_DEVICE_TYPED 1
#else
#define SF_AUTOCAST_DEVICE_TYPED 0
#endif

namespace sf {
namespace {

bool IsEnabled(c10::DeviceType d) {
#if SF_AUTOCAST_DEVICE_TYPED
  return at::autocast::is_autocast_enabled(d);
#else
  return d == c10::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
#endif
}
void SetEnabled(c10::DeviceType d, bool on) {
#if SF_AUTOCAST_DEVICE_TYPED
  at::autocast::set_autocast_enabled(d, on);
#else
  if (d == c10::kCPU) at::autocast::set_cpu_enabled(on);
  else at::autocast::set_enabled(on);
#endif
}
at::ScalarType GetDtype(c10::DeviceType d) {
#if SF_AUTOCAST_DEVICE_TYPED
  return at::autocast::get_autocast_dtype(d);
#else
  return d == c10::kCPU ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
#endif
}
void SetDtype(c10::DeviceType d, at::ScalarType t) {
#if SF_AUTOCAST_DEVICE_TYPED
  at::autocast::set_autocast_dtype(d, t);
#else
  if (d == c10::kCPU) at::autocast::set_autocast_cpu_dtype(t);
  else at::autocast::set_autocast_gpu_dtype(t);
#endif
}

void Apply(const AutocastState& s) {
  SetEnabled(c10::kCPU, s.cpu);
  SetDtype(c10::kCPU, s.cpu_dtype);
  SetEnabled(c10::kCUDA, s.cuda);
  SetDtype(c10::kCUDA, s.cuda_dtype);
}

}  // namespace

Precision GetPrecision(const Napi::Value& v, const char* name) {
  if (v.IsUndefined() || v.IsNull()) return Precision::kFp32;
  std::string s = GetString(v, name);
  if (s == "fp32") return Precision::kFp32;
  if (s == "bf16") return Precision::kBf16;
  ThrowArg(std::string(name) + ": expected one of 'fp32', 'bf16', received '" + s + "'");
}

const char* PrecisionName(Precision p) { return p == Precision::kBf16 ? "bf16" : "fp32"; }

void CheckPrecision(Precision p, const c10::Device& device) {
  if (p == Precision::kFp32) return;
  if (device.is_cpu()) return;  // CPU autocast (bfloat16) exists in every supported libtorch (>= 1.13)
  if (device.is_cuda()) {
#if SF_WITH_CUDA
    const int idx = device.has_index() ? device.index() : static_cast<int>(at::cuda::current_device());
    const cudaDeviceProp* prop = at::cuda::getDeviceProperties(idx);
    if (prop->major < 8)
      ThrowDevice(std::string("precision 'bf16' needs a CUDA device of compute capability >= 8.0 (Ampere or newer); ") +
                  DeviceName(device) + " (" + prop->name + ") is sm_" + std::to_string(prop->major) +
                  std::to_string(prop->minor) + ". Use precision 'fp32'.");
    return;
#else
    ThrowDevice("precision 'bf16' on " + DeviceName(device) + " needs a CUDA build of the addon");
#endif
  }
  ThrowDevice(std::string("precision '") + PrecisionName(p) + "' is not available on " + DeviceName(device));
}

AutocastState AutocastState::Capture() {
  AutocastState s;
  s.cpu = IsEnabled(c10::kCPU);
  s.cpu_dtype = GetDtype(c10::kCPU);
  s.cuda = IsEnabled(c10::kCUDA);
  s.cuda_dtype = GetDtype(c10::kCUDA);
  return s;
}

AutocastRestore::AutocastRestore(const AutocastState& s) : prev_(AutocastState::Capture()), active_(s.any()) {
  Apply(s);
  if (active_) at::autocast::increment_nesting();
}

AutocastRestore::~AutocastRestore() {
  // The cache holds the reduced-precision copies of the weights made in this scope: drop it when the
  // thread's outermost scope closes, so the next forward sees updated weights.
  if (active_ && at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  Apply(prev_);
}

AutocastScope::AutocastScope(Precision p, const c10::Device& device) {
  if (p == Precision::kFp32) return;
  AutocastState s = AutocastState::Capture();
  if (device.is_cuda()) {
    s.cuda = true;
    s.cuda_dtype = at::kBFloat16;
  } else {
    s.cpu = true;
    s.cpu_dtype = at::kBFloat16;
  }
  inner_.emplace(s);
}

AutocastScope::~AutocastScope() = default;

namespace {

// Scopes opened from JS (autocastEnter / autocastExit), innermost last. JS runs on one thread.
std::vector<std::unique_ptr<AutocastScope>>& JsScopes() {
  static std::vector<std::unique_ptr<AutocastScope>> scopes;
  return scopes;
}

Napi::Value CheckPrecisionJs(const Napi::CallbackInfo& info) {
  Precision p = GetPrecision(info[0], "precision");
  CheckPrecision(p, GetDevice(info[1], "device"));
  return info.Env().Undefined();
}

Napi::Value AutocastEnter(const Napi::CallbackInfo& info) {
  c10::Device d = GetDevice(info[0], "device");
  Precision p = GetPrecision(info[1], "precision");
  CheckPrecision(p, d);
  JsScopes().push_back(std::make_unique<AutocastScope>(p, d));
  return Napi::Number::New(info.Env(), static_cast<double>(JsScopes().size()));
}

Napi::Value AutocastExit(const Napi::CallbackInfo& info) {
  auto& scopes = JsScopes();
  if (scopes.empty()) ThrowArg("autocastExit: no autocast scope is open");
  scopes.pop_back();
  return Napi::Number::New(info.Env(), static_cast<double>(scopes.size()));
}

Napi::Value AutocastStateJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AutocastState s = AutocastState::Capture();
  auto entry = [&](bool on, at::ScalarType t) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("enabled", Napi::Boolean::New(env, on));
    o.Set("dtype", Napi::String::New(env, DTypeName(t)));
    return o;
  };
  Napi::Object out = Napi::Object::New(env);
  out.Set("cpu", entry(s.cpu, s.cpu_dtype));
  out.Set("cuda", entry(s.cuda, s.cuda_dtype));
  out.Set("depth", Napi::Number::New(env, static_cast<double>(JsScopes().size())));
  return out;
}

Napi::Object Tf32Object(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("cublas", Napi::Boolean::New(env, at::globalContext().allowTF32CuBLAS()));
  o.Set("cudnn", Napi::Boolean::New(env, at::globalContext().allowTF32CuDNN()));
  return o;
}

Napi::Value SetAllowTf32(const Napi::CallbackInfo& info) {
  bool on = GetBool(info[0], "on");
  Napi::Object prev = Tf32Object(info.Env());
  at::globalContext().setAllowTF32CuBLAS(on);
  at::globalContext().setAllowTF32CuDNN(on);
  return prev;
}

Napi::Value Tf32State(const Napi::CallbackInfo& info) { return Tf32Object(info.Env()); }

}  // namespace

void InitAutocast(Napi::Env env, Napi::Object exports) {
  ExportFn(env, exports, "checkPrecision", CheckPrecisionJs);
  ExportFn(env, exports, "autocastEnter", AutocastEnter);
  ExportFn(env, exports, "autocastExit", AutocastExit);
  ExportFn(env, exports, "autocastState", AutocastStateJs);
  ExportFn(env, exports, "setAllowTf32", SetAllowTf32);
  ExportFn(env, exports, "tf32State", Tf32State);
}

}  // namespace sf
