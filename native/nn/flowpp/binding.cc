// N-API binding of the Flow++ dequantizer (dequantizer.h): class `FlowppModule`. Images are NCHW here
// (the layout of the rest of scoreflow) and NHWC inside.
//
//   new FlowppModule(config, seed?)  config: { variant: 'cifar10' | 'imagenet32', channels, height, width,
//                                    filters, components, blocks, heads } (missing fields: the CIFAR-10
//                                    defaults 3×32×32, 96, 32, 2, 4); seed: the construction draws
//   forward(eps, x, opts?) -> [u, sldj]   eps, x: [B, C, H, W], x in [0, 1]; u in (0, 1), sldj = −log q(u|x)
//                                    opts.inverse: eps = u → [eps', the reference's inverse output]
//   forwardAsync(...)                the same on libuv's pool (grad mode of the caller)
//   initialize(eps, x) -> stats[]    data-dependent init on the batch: [{ kind, targetStd, maxAbsMean,
//                                    minVar, maxVar }] per initialised layer, measured after its init
//   context(x) -> Tensor             processor features [B, H, W/2, 32] (NHWC)
//   stepNames() -> string[]          step(i, tensors, context, inverse) -> { out: Tensor[], logdet: Tensor | null }
//                                    one flow step on NHWC tensors (tests: Jacobians, invertibility)
//   toDtype(dtype), namedParameters(), stateDict(), stateDictKeys(), to(device), device(), numParameters(),
//   dispose()                        as NcsnppModule
#include "pch.h"
#include "common.h"
#include "async.h"
#include "module_handle.h"
#include "nn/flowpp/dequantizer.h"

namespace sf {
namespace {

using flowpp::Dequantizer;
using flowpp::DequantizerConfig;

DequantizerConfig ReadConfig(const Napi::Value& v) {
  DequantizerConfig c;
  if (v.IsUndefined() || v.IsNull()) return c;
  if (!v.IsObject() || v.IsArray()) ThrowArg("FlowppModule: config must be a plain object");
  Napi::Object o = v.As<Napi::Object>();
  auto get = [&](const char* key) -> Napi::Value {
    Napi::Value x = o.Get(key);
    return x;
  };
  auto intf = [&](const char* key, int64_t& out) {
    Napi::Value x = get(key);
    if (!x.IsUndefined() && !x.IsNull()) out = GetInt(x, (std::string("config.") + key).c_str());
  };
  Napi::Value var = get("variant");
  if (!var.IsUndefined() && !var.IsNull()) c.variant = GetString(var, "config.variant");
  intf("channels", c.channels);
  intf("height", c.height);
  intf("width", c.width);
  intf("filters", c.filters);
  intf("components", c.components);
  intf("blocks", c.blocks);
  intf("heads", c.heads);
  return c;
}

at::Tensor ToNhwc(const at::Tensor& t, const char* name) {
  if (t.dim() != 4) ThrowArg(std::string(name) + ": expected a [B, C, H, W] tensor, got " + c10::str(t.sizes()));
  return t.permute({0, 2, 3, 1});
}

std::vector<at::Tensor> RunForward(Dequantizer& net, const at::Tensor& eps, const at::Tensor& x, bool inverse) {
  auto r = net.Forward(ToNhwc(eps, "eps"), ToNhwc(x, "x"), inverse);
  return {r.first.permute({0, 3, 1, 2}).contiguous(), r.second};
}

bool ReadInverse(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return false;
  if (!v.IsObject() || v.IsArray()) ThrowArg("opts: expected { inverse? }");
  Napi::Value inv = v.As<Napi::Object>().Get("inverse");
  return inv.IsUndefined() || inv.IsNull() ? false : GetBool(inv, "opts.inverse");
}

class FlowppModule : public ModuleHandle<FlowppModule, Dequantizer> {
 public:
  static constexpr const char* kName = "FlowppModule";
  static Napi::Function Define(Napi::Env env) {
    Props props = CommonMethods();
    props.push_back(InstanceMethod<&FlowppModule::Forward>("forward"));
    props.push_back(InstanceMethod<&FlowppModule::ForwardAsync>("forwardAsync"));
    props.push_back(InstanceMethod<&FlowppModule::Initialize>("initialize"));
    props.push_back(InstanceMethod<&FlowppModule::Context>("context"));
    props.push_back(InstanceMethod<&FlowppModule::StepNames>("stepNames"));
    props.push_back(InstanceMethod<&FlowppModule::Step>("step"));
    props.push_back(InstanceMethod<&FlowppModule::ToDtype>("toDtype"));
    return DefineClass(env, "FlowppModule", props);
  }

  explicit FlowppModule(const Napi::CallbackInfo& info) : ModuleHandle(info) {
    try {
      DequantizerConfig cfg = ReadConfig(info[0]);
      c10::optional<uint64_t> seed;
      if (!info[1].IsUndefined() && !info[1].IsNull()) {
        const int64_t s = GetInt(info[1], "seed");
        if (s < 0) ThrowArg("seed: expected a non-negative integer");
        seed = static_cast<uint64_t>(s);
      }
      net_ = std::make_shared<Dequantizer>(cfg, seed);
    } catch (...) {
      throw ToJsError(info.Env(), std::current_exception());
    }
  }

 private:
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      Dequantizer& net = Net();
      const bool inverse = ReadInverse(info[2]);
      return WrapTensorList(info.Env(),
                            RunForward(net, UnwrapTensor(info[0], "eps"), UnwrapTensor(info[1], "x"), inverse));
    });
  }

  Napi::Value ForwardAsync(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      Net();
      std::shared_ptr<Dequantizer> net = net_;
      at::Tensor eps = UnwrapTensor(info[0], "eps"), x = UnwrapTensor(info[1], "x");
      const bool inverse = ReadInverse(info[2]);
      return TensorJob::Run(info.Env(), [net, eps, x, inverse]() { return RunForward(*net, eps, x, inverse); },
                            /*single=*/false);
    });
  }

  Napi::Value Initialize(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      Dequantizer& net = Net();
      auto stats = net.Initialize(ToNhwc(UnwrapTensor(info[0], "eps"), "eps"), ToNhwc(UnwrapTensor(info[1], "x"), "x"));
      Napi::Array out = Napi::Array::New(info.Env(), stats.size());
      for (size_t i = 0; i < stats.size(); ++i) {
        Napi::Object o = Napi::Object::New(info.Env());
        o.Set("kind", stats[i].kind);
        o.Set("targetStd", stats[i].target_std);
        o.Set("maxAbsMean", stats[i].max_abs_mean);
        o.Set("minVar", stats[i].min_var);
        o.Set("maxVar", stats[i].max_var);
        out.Set(static_cast<uint32_t>(i), o);
      }
      return out;
    });
  }

  Napi::Value Context(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      return WrapTensor(info.Env(), Net().Context(ToNhwc(UnwrapTensor(info[0], "x"), "x")));
    });
  }

  Napi::Value StepNames(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      Dequantizer& net = Net();
      Napi::Array out = Napi::Array::New(info.Env(), net.NumSteps());
      for (size_t i = 0; i < net.NumSteps(); ++i) out.Set(static_cast<uint32_t>(i), net.StepName(i));
      return out;
    });
  }

  Napi::Value Step(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      Dequantizer& net = Net();
      const int64_t i = GetInt(info[0], "index");
      if (i < 0 || static_cast<size_t>(i) >= net.NumSteps())
        ThrowArg("index: expected 0.." + std::to_string(net.NumSteps() - 1) + ", got " + std::to_string(i));
      std::vector<at::Tensor> in = UnwrapTensorList(info[1], "tensors");
      at::Tensor context;
      if (!info[2].IsUndefined() && !info[2].IsNull()) context = UnwrapTensor(info[2], "context");
      const bool inverse = info[3].IsUndefined() ? false : GetBool(info[3], "inverse");
      auto r = net.RunStep(static_cast<size_t>(i), in, context, inverse);
      Napi::Object o = Napi::Object::New(info.Env());
      o.Set("out", WrapTensorList(info.Env(), r.first));
      o.Set("logdet", r.second.defined() ? WrapTensor(info.Env(), r.second) : info.Env().Null());
      return o;
    });
  }

  Napi::Value ToDtype(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      Dequantizer& net = Net();
      const at::ScalarType t = GetDType(info[0], "dtype");
      if (!at::isFloatingType(t)) ThrowArg("dtype: expected float32 or float64");
      net.to(t);
      return info.Env().Undefined();
    });
  }
};

}  // namespace

void InitFlowpp(Napi::Env env, Napi::Object exports) { exports.Set("FlowppModule", FlowppModule::Define(env)); }

}  // namespace sf
