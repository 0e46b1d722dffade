// Process-wide runtime: seeded generators and random tensors, devices, threads, version info, and the
// addon's entry point.
#include "pch.h"
#include "common.h"
#if SF_WITH_CUDA
#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <ATen/cuda/CUDAContext.h>
#endif

namespace sf {

// A seeded random stream owned by the caller, so runs are reproducible regardless of other draws.
class GeneratorHandle : public Napi::ObjectWrap<GeneratorHandle> {
 public:
  static Napi::FunctionReference* ctor;

  static Napi::Function DefineClass(Napi::Env env) {
    return ObjectWrap<GeneratorHandle>::DefineClass(
        env, "Generator",
        {InstanceMethod("getState", &GeneratorHandle::G<&GeneratorHandle::GetState>),
         InstanceMethod("setState", &GeneratorHandle::G<&GeneratorHandle::SetState>),
         InstanceMethod("manualSeed", &GeneratorHandle::G<&GeneratorHandle::ManualSeed>),
         InstanceAccessor("device", &GeneratorHandle::G<&GeneratorHandle::DeviceName_>, nullptr)});
  }

  // new Generator(seed, device = 'cpu')
  explicit GeneratorHandle(const Napi::CallbackInfo& info) : ObjectWrap<GeneratorHandle>(info) {
    Guard(info.Env(), [&]() -> Napi::Value {
      uint64_t seed = static_cast<uint64_t>(GetInt(info[0], "seed"));
      c10::Device dev = info[1].IsString() ? GetDevice(info[1], "device") : c10::Device(c10::kCPU);
      if (dev.is_cuda()) {
#if SF_WITH_CUDA
        gen_ = at::cuda::detail::createCUDAGenerator(dev.has_index() ? dev.index() : 0);
#else
        ThrowDevice("device: CUDA generators need a CUDA build of the addon");
#endif
      } else {
        gen_ = at::detail::createCPUGenerator(seed);
      }
      std::lock_guard<std::mutex> lock(gen_.mutex());
      gen_.set_current_seed(seed);
      return info.Env().Undefined();
    });
  }

  at::Generator& gen() { return gen_; }

 private:
  template <Napi::Value (GeneratorHandle::*M)(const Napi::CallbackInfo&)>
  Napi::Value G(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&] { return (this->*M)(info); });
  }
  Napi::Value GetState(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lock(gen_.mutex());
    at::Tensor s = gen_.get_state().contiguous();
    auto out = Napi::Uint8Array::New(info.Env(), s.numel());
    std::memcpy(out.Data(), s.data_ptr(), s.numel());
    return out;
  }
  Napi::Value SetState(const Napi::CallbackInfo& info) {
    if (!info[0].IsTypedArray()) ThrowArg("state: expected a Uint8Array from getState()");
    auto ta = info[0].As<Napi::Uint8Array>();
    at::Tensor s = at::empty({static_cast<int64_t>(ta.ByteLength())}, at::kByte);
    std::memcpy(s.data_ptr(), ta.Data(), ta.ByteLength());
    std::lock_guard<std::mutex> lock(gen_.mutex());
    gen_.set_state(s);
    return info.Env().Undefined();
  }
  Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lock(gen_.mutex());
    gen_.set_current_seed(static_cast<uint64_t>(GetInt(info[0], "seed")));
    return info.Env().Undefined();
  }
  Napi::Value DeviceName_(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), DeviceName(gen_.device()));
  }

  at::Generator gen_;
};
Napi::FunctionReference* GeneratorHandle::ctor = nullptr;

static c10::optional<at::Generator> OptGenerator(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return c10::nullopt;
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(GeneratorHandle::ctor->Value()))
    ThrowArg("generator: expected a Generator");
  return GeneratorHandle::Unwrap(v.As<Napi::Object>())->gen();
}

// Random draws happen on the generator's device and are then moved, so a CPU generator gives the same
// numbers whatever device the tensor lives on.
enum class Dist { Normal, Uniform, Rademacher };
static Napi::Value Random(const Napi::CallbackInfo& info, Dist dist) {
  auto shape = GetIntList(info[0], "shape");
  at::ScalarType dtype = info[1].IsString() ? GetDType(info[1], "dtype") : at::kFloat;
  c10::Device device = info[2].IsString() ? GetDevice(info[2], "device") : c10::Device(c10::kCPU);
  auto gen = OptGenerator(info[3]);
  c10::Device draw_dev = gen ? gen->device() : device;
  auto opts = at::TensorOptions().dtype(dtype).device(draw_dev);
  at::Tensor t;
  switch (dist) {
    case Dist::Normal: t = at::randn(shape, gen, opts); break;
    case Dist::Uniform: t = at::rand(shape, gen, opts); break;
    case Dist::Rademacher:
      t = at::randint(0, 2, shape, gen, opts.dtype(at::kLong)).mul_(2).sub_(1).to(dtype);
      break;
  }
  return WrapTensor(info.Env(), ToDeviceNonBlocking(t, device));
}

static Napi::Value Randint(const Napi::CallbackInfo& info) {
  int64_t low = GetInt(info[0], "low"), high = GetInt(info[1], "high");
  if (high <= low) ThrowArg("high: expected > low (" + std::to_string(low) + "), received " + std::to_string(high));
  auto shape = GetIntList(info[2], "shape");
  c10::Device device = info[3].IsString() ? GetDevice(info[3], "device") : c10::Device(c10::kCPU);
  auto gen = OptGenerator(info[4]);
  c10::Device draw_dev = gen ? gen->device() : device;
  at::Tensor t = at::randint(low, high, shape, gen, at::TensorOptions().dtype(at::kLong).device(draw_dev));
  return WrapTensor(info.Env(), ToDeviceNonBlocking(t, device));
}

static Napi::Value CudaIsAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), torch::cuda::is_available());
}
static Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(torch::cuda::device_count()));
}
static Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
#if SF_WITH_CUDA
  if (torch::cuda::is_available()) {
    int64_t idx = info[0].IsNumber() ? GetInt(info[0], "device") : -1;
    torch::cuda::synchronize(idx);
  }
#endif
  return info.Env().Undefined();
}
static Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  int64_t n = GetInt(info[0], "threads");
  if (n < 1) ThrowArg("threads: expected >= 1, received " + std::to_string(n));
  at::set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}
static Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}
static Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  torch::manual_seed(static_cast<uint64_t>(GetInt(info[0], "seed")));
  return info.Env().Undefined();
}

// Seconds per `a + b` timed inside libtorch alone: the baseline the bridge's per-call overhead is
// reported against (npm run bench:bridge).
static Napi::Value TimeAddLoop(const Napi::CallbackInfo& info) {
  at::Tensor a = UnwrapTensor(info[0], "a");
  at::Tensor b = UnwrapTensor(info[1], "b");
  int64_t iters = GetInt(info[2], "iters");
  auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < iters; ++i) {
    at::Tensor c = a.add(b);
  }
  std::chrono::duration<double> dt = std::chrono::steady_clock::now() - start;
  return Napi::Number::New(info.Env(), dt.count() / static_cast<double>(iters));
}

static Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("torchVersion", Napi::String::New(info.Env(), TORCH_VERSION));
  o.Set("cuda", Napi::Boolean::New(info.Env(), SF_WITH_CUDA != 0));
  o.Set("napiVersion", Napi::Number::New(info.Env(), NAPI_VERSION));
  return o;
}

void InitRuntime(Napi::Env env, Napi::Object exports) {
  Napi::Function gen = GeneratorHandle::DefineClass(env);
  GeneratorHandle::ctor = new Napi::FunctionReference(Napi::Persistent(gen));
  exports.Set("Generator", gen);
  ExportFn(env, exports, "randn", [](const Napi::CallbackInfo& i) { return Random(i, Dist::Normal); });
  ExportFn(env, exports, "rand", [](const Napi::CallbackInfo& i) { return Random(i, Dist::Uniform); });
  ExportFn(env, exports, "rademacher", [](const Napi::CallbackInfo& i) { return Random(i, Dist::Rademacher); });
  ExportFn(env, exports, "randint", Randint);
  ExportFn(env, exports, "cudaIsAvailable", CudaIsAvailable);
  ExportFn(env, exports, "cudaDeviceCount", CudaDeviceCount);
  ExportFn(env, exports, "cudaSynchronize", CudaSynchronize);
  ExportFn(env, exports, "setNumThreads", SetNumThreads);
  ExportFn(env, exports, "getNumThreads", GetNumThreads);
  ExportFn(env, exports, "manualSeed", ManualSeed);
  ExportFn(env, exports, "buildInfo", BuildInfo);
  ExportFn(env, exports, "timeAddLoop", TimeAddLoop);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitTensor(env, exports);
  InitRuntime(env, exports);
  InitAsync(env, exports);
  InitOptim(env, exports);
  InitModules(env, exports);
  InitCpuAllocator(env, exports);
  InitAutocast(env, exports);
  InitProfile(env, exports);
  InitDist(env, exports);
  return exports;
}

}  // namespace sf

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return sf::Init(env, exports); }
NODE_API_MODULE(scoreflow, InitAddon)
