// Shared plumbing for every N-API entry: typed errors, argument readers, tensor wrapping.
#pragma once
#include "pch.h"

namespace sf {

// Error kinds surfaced to JS as `err.code`.
struct CodedError : std::runtime_error {
  const char* code;
  CodedError(const char* c, const std::string& m) : std::runtime_error(m), code(c) {}
};
[[noreturn]] inline void ThrowArg(const std::string& m) { throw CodedError("ERR_ARG", m); }
[[noreturn]] inline void ThrowDisposed(const std::string& m) { throw CodedError("ERR_DISPOSED", m); }
[[noreturn]] inline void ThrowDevice(const std::string& m) { throw CodedError("ERR_DEVICE", m); }

// Converts any in-flight C++ exception into a JS Error with a code, without the C++ backtrace.
Napi::Error ToJsError(Napi::Env env, std::exception_ptr ep);

// Runs `body` and turns every exception into a thrown JS error (the one pattern every entry uses).
template <typename F>
Napi::Value Guard(Napi::Env env, F&& body) {
  try {
    return body();
  } catch (...) {
    ToJsError(env, std::current_exception()).ThrowAsJavaScriptException();
    return env.Undefined();
  }
}

// Message of a libtorch error without its C++ backtrace.
std::string DescribeException(std::exception_ptr ep, const char** code);

// Argument readers: `name` appears in the error message.
double GetNumber(const Napi::Value& v, const char* name);
int64_t GetInt(const Napi::Value& v, const char* name);
bool GetBool(const Napi::Value& v, const char* name);
std::string GetString(const Napi::Value& v, const char* name);
std::vector<int64_t> GetIntList(const Napi::Value& v, const char* name);
at::ScalarType GetDType(const Napi::Value& v, const char* name);
c10::Device GetDevice(const Napi::Value& v, const char* name);
const char* DTypeName(at::ScalarType t);
std::string DeviceName(const c10::Device& d);

// Registers a guarded function on `exports` (every free native entry goes through this).
void ExportFn(Napi::Env env, Napi::Object exports, const char* name,
              std::function<Napi::Value(const Napi::CallbackInfo&)> fn);

// `t` on `device`; a CPU tensor bound for a GPU goes through pinned memory without blocking, so the host
// does not wait for the GPU's queue (the caching host allocator keeps the staging block until the copy ends).
at::Tensor ToDeviceNonBlocking(const at::Tensor& t, c10::Device device);

// Tensor handles (defined in tensor.cc).
Napi::Value WrapTensor(Napi::Env env, at::Tensor t);
at::Tensor& UnwrapTensor(const Napi::Value& v, const char* name);
std::vector<at::Tensor> UnwrapTensorList(const Napi::Value& v, const char* name);
Napi::Array WrapTensorList(Napi::Env env, const std::vector<at::Tensor>& ts);

// Named tensors (module parameters, buffers, state dicts) as JS [[name, Tensor], ...] in order.
using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;
Napi::Array WrapNamedTensors(Napi::Env env, const NamedTensors& entries);
template <typename Dict>
NamedTensors NamedTensorsOf(const Dict& d) {  // torch::OrderedDict<std::string, at::Tensor>
  NamedTensors out;
  out.reserve(d.size());
  for (const auto& kv : d) out.emplace_back(kv.key(), kv.value());
  return out;
}

// Each translation unit registers its exports.
void InitTensor(Napi::Env env, Napi::Object exports);
void InitRuntime(Napi::Env env, Napi::Object exports);
void InitAsync(Napi::Env env, Napi::Object exports);
void InitOptim(Napi::Env env, Napi::Object exports);
void InitModules(Napi::Env env, Napi::Object exports);
void InitCpuAllocator(Napi::Env env, Napi::Object exports);
void InitAutocast(Napi::Env env, Napi::Object exports);  // autocast.cc: precision, autocast scopes, TF32
void InitProfile(Napi::Env env, Napi::Object exports);  // profile.cc: FLOP counter, CUDA memory stats
void InitDist(Napi::Env env, Napi::Object exports);  // dist/process_group.cc: c10d process groups

}  // namespace sf
