// Error translation and argument readers shared by every native entry.
#include "pch.h"
#include "common.h"

namespace sf {

std::string DescribeException(std::exception_ptr ep, const char** code) {
  *code = "ERR_TORCH";
  try {
    std::rethrow_exception(ep);
  } catch (const CodedError& e) {
    *code = e.code;
    return e.what();
  } catch (const c10::Error& e) {
    // what() carries a C++ backtrace; the JS user needs only the message.
    return e.what_without_backtrace();
  } catch (const Napi::Error& e) {
    return e.Message();
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown native error";
  }
}

Napi::Error ToJsError(Napi::Env env, std::exception_ptr ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const Napi::Error& e) {
    return e;  // already a JS error (e.g. a JS callback threw)
  } catch (...) {
  }
  const char* code = nullptr;
  std::string msg = DescribeException(ep, &code);
  Napi::Error err = Napi::Error::New(env, msg);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

static std::string Kind(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsNumber()) return "number " + std::to_string(v.As<Napi::Number>().DoubleValue());
  if (v.IsString()) return "string '" + v.As<Napi::String>().Utf8Value() + "'";
  if (v.IsBoolean()) return "boolean";
  if (v.IsArray()) return "array";
  if (v.IsTypedArray()) return "typed array";
  if (v.IsFunction()) return "function";
  return "object";
}

double GetNumber(const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) ThrowArg(std::string(name) + ": expected a number, received " + Kind(v));
  return v.As<Napi::Number>().DoubleValue();
}

int64_t GetInt(const Napi::Value& v, const char* name) {
  double d = GetNumber(v, name);
  if (d != static_cast<double>(static_cast<int64_t>(d)))
    ThrowArg(std::string(name) + ": expected an integer, received " + Kind(v));
  return static_cast<int64_t>(d);
}

bool GetBool(const Napi::Value& v, const char* name) {
  if (!v.IsBoolean()) ThrowArg(std::string(name) + ": expected a boolean, received " + Kind(v));
  return v.As<Napi::Boolean>().Value();
}

std::string GetString(const Napi::Value& v, const char* name) {
  if (!v.IsString()) ThrowArg(std::string(name) + ": expected a string, received " + Kind(v));
  return v.As<Napi::String>().Utf8Value();
}

std::vector<int64_t> GetIntList(const Napi::Value& v, const char* name) {
  if (!v.IsArray()) ThrowArg(std::string(name) + ": expected an array of integers, received " + Kind(v));
  auto arr = v.As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) out[i] = GetInt(arr.Get(i), name);
  return out;
}

struct DTypeEntry { const char* name; at::ScalarType type; };
static const DTypeEntry kDTypes[] = {
    {"float32", at::kFloat}, {"float64", at::kDouble}, {"float16", at::kHalf}, {"bfloat16", at::kBFloat16},
    {"int64", at::kLong},    {"int32", at::kInt},      {"int16", at::kShort},  {"int8", at::kChar},
    {"uint8", at::kByte},    {"bool", at::kBool},
};

at::ScalarType GetDType(const Napi::Value& v, const char* name) {
  std::string s = GetString(v, name);
  for (const auto& e : kDTypes)
    if (s == e.name) return e.type;
  ThrowArg(std::string(name) + ": expected one of float32, float64, float16, bfloat16, int64, int32, int16, "
           "int8, uint8, bool, received '" + s + "'");
}

const char* DTypeName(at::ScalarType t) {
  for (const auto& e : kDTypes)
    if (t == e.type) return e.name;
  return c10::toString(t);
}

c10::Device GetDevice(const Napi::Value& v, const char* name) {
  std::string s = GetString(v, name);
  c10::Device dev(c10::kCPU);
  try {
    dev = c10::Device(s);
  } catch (...) {
    ThrowDevice(std::string(name) + ": expected 'cpu', 'cuda' or 'cuda:<n>', received '" + s + "'");
  }
  if (dev.is_cuda()) {
    if (!torch::cuda::is_available())
      ThrowDevice(std::string(name) + ": '" + s + "' requested but CUDA is not available in this build/machine");
    if (dev.has_index() && dev.index() >= static_cast<int>(torch::cuda::device_count()))
      ThrowDevice(std::string(name) + ": '" + s + "' requested but only " +
                  std::to_string(torch::cuda::device_count()) + " CUDA device(s) exist");
  } else if (!dev.is_cpu()) {
    ThrowDevice(std::string(name) + ": only cpu and cuda devices are supported, received '" + s + "'");
  }
  return dev;
}

std::string DeviceName(const c10::Device& d) { return d.str(); }

void ExportFn(Napi::Env env, Napi::Object exports, const char* name,
              std::function<Napi::Value(const Napi::CallbackInfo&)> fn) {
  exports.Set(name, Napi::Function::New(env, [fn](const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&] { return fn(info); });
  }, name));
}

at::Tensor ToDeviceNonBlocking(const at::Tensor& t, c10::Device device) {
  if (t.device() == device) return t;
  if (device.is_cuda() && t.is_cpu()) {
    return (t.is_pinned() ? t : t.pin_memory()).to(at::TensorOptions().device(device), /*non_blocking=*/true);
  }
  return t.to(device);
}

}  // namespace sf
