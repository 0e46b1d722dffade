// N-API binding of the NCSN++/DDPM++ network (ncsnpp.h): class `NcsnppModule`.
//
//   new NcsnppModule(config, seed?)   config: plain object, reference snake_case names (top level, or
//                                     under `model` / `data` as in the reference config layout); missing
//                                     fields take the cifar10 DDPM++ defaults; unknown fields are ignored.
//                                     seed: the reference initialisation drawn from a fresh generator
//                                     seeded with it (= torch.manual_seed(seed) + the PyTorch
//                                     constructor); without it, libtorch's default CPU generator.
//   forward(x, labels, opts?) -> Tensor   grad flows when grad mode is on and x / parameters require grad
//                                     opts: { precision?: 'fp32' | 'bf16', channelsLast?: boolean, workers?: number }
//                                     bf16: autocast (bfloat16) for x's device around the network only;
//                                     weights stay float32 and the output is returned in x's dtype.
//                                     channelsLast: x enters NHWC-strided (convolutions then run
//                                     channels-last), the output is returned NCHW-contiguous.
//                                     workers: > 1 runs that many slices of the batch at once on the CPU,
//                                     one intra-op thread each (nn/batch_split.h); under grad mode the
//                                     result differentiates to x only (the likelihood's divergence)
//   forwardAsync(x, labels, opts?) -> Promise<Tensor>   on libuv's pool, caller's grad mode and
//                                     autocast re-established, the same options
//   train(on), isTraining()
//   namedParameters() -> [name, Tensor][]  (reference order; handles share storage with the parameters)
//   namedBuffers() -> [name, Tensor][]     (`sigmas`, float64)
//   stateDict() -> [name, Tensor][]        (PyTorch state_dict order: sigmas first)
//   stateDictKeys() -> string[]
//   to(device), device(), numParameters()
//   setDropoutSeed(seed | null)            model-owned dropout generator for train mode (null: default)
//   dispose()                              idempotent; any other call afterwards throws ERR_DISPOSED
// Every entry converts all C++ exceptions into JS errors with a `code`.
#include "pch.h"
#include "common.h"
#include "async.h"
#include "autocast.h"
#include "module_handle.h"
#include "nn/batch_split.h"
#include "nn/ncsnpp/ncsnpp.h"

namespace sf {
namespace {

// Looks a config field up at the top level, then under `model`, then under `data`.
class ConfigReader {
 public:
  explicit ConfigReader(const Napi::Object& o) : top_(o) {
    for (const char* sub : {"model", "data"}) {
      if (o.Has(sub)) {
        Napi::Value v = o.Get(sub);
        if (v.IsObject() && !v.IsArray()) subs_.push_back(v.As<Napi::Object>());
      }
    }
  }
  // Returns undefined when absent (or null/undefined).
  Napi::Value Find(const char* key) const {
    if (top_.Has(key)) {
      Napi::Value v = top_.Get(key);
      if (!v.IsUndefined() && !v.IsNull()) return v;
    }
    for (const auto& s : subs_) {
      if (s.Has(key)) {
        Napi::Value v = s.Get(key);
        if (!v.IsUndefined() && !v.IsNull()) return v;
      }
    }
    return top_.Env().Undefined();
  }
  void Int(const char* key, int64_t& out) const {
    Napi::Value v = Find(key);
    if (!v.IsUndefined()) out = GetInt(v, Name(key).c_str());
  }
  void Num(const char* key, double& out) const {
    Napi::Value v = Find(key);
    if (!v.IsUndefined()) out = GetNumber(v, Name(key).c_str());
  }
  void Bool(const char* key, bool& out) const {
    Napi::Value v = Find(key);
    if (!v.IsUndefined()) out = GetBool(v, Name(key).c_str());
  }
  void Str(const char* key, std::string& out) const {
    Napi::Value v = Find(key);
    if (!v.IsUndefined()) out = GetString(v, Name(key).c_str());
  }
  void IntList(const char* key, std::vector<int64_t>& out) const {
    Napi::Value v = Find(key);
    if (!v.IsUndefined()) out = GetIntList(v, Name(key).c_str());
  }
  void NumList(const char* key, std::vector<double>& out) const {
    Napi::Value v = Find(key);
    if (v.IsUndefined()) return;
    const std::string n = Name(key);
    if (!v.IsArray()) ThrowArg(n + ": expected an array of numbers");
    auto arr = v.As<Napi::Array>();
    out.assign(arr.Length(), 0.0);
    for (uint32_t i = 0; i < arr.Length(); ++i) out[i] = GetNumber(arr.Get(i), n.c_str());
  }

 private:
  static std::string Name(const char* key) { return std::string("config.") + key; }
  Napi::Object top_;
  std::vector<Napi::Object> subs_;
};

NcsnppConfig ReadConfig(const Napi::Value& v) {
  if (!v.IsObject() || v.IsArray()) ThrowArg("NcsnppModule: config must be a plain object");
  ConfigReader r(v.As<Napi::Object>());
  NcsnppConfig c;
  r.Int("nf", c.nf);
  r.IntList("ch_mult", c.ch_mult);
  r.Int("num_res_blocks", c.num_res_blocks);
  r.IntList("attn_resolutions", c.attn_resolutions);
  r.Num("dropout", c.dropout);
  r.Bool("resamp_with_conv", c.resamp_with_conv);
  r.Bool("conditional", c.conditional);
  r.Bool("fir", c.fir);
  r.NumList("fir_kernel", c.fir_kernel);
  r.Bool("skip_rescale", c.skip_rescale);
  r.Str("resblock_type", c.resblock_type);
  r.Str("progressive", c.progressive);
  r.Str("progressive_input", c.progressive_input);
  r.Str("progressive_combine", c.progressive_combine);
  r.Num("init_scale", c.init_scale);
  r.Str("embedding_type", c.embedding_type);
  r.Num("fourier_scale", c.fourier_scale);
  r.Bool("scale_by_sigma", c.scale_by_sigma);
  r.Str("nonlinearity", c.nonlinearity);
  r.Num("sigma_min", c.sigma_min);
  r.Num("sigma_max", c.sigma_max);
  r.Int("num_scales", c.num_scales);
  r.Bool("centered", c.centered);
  r.Int("image_size", c.image_size);
  r.Int("num_channels", c.num_channels);
  r.Bool("fourier_log_label", c.fourier_log_label);
  r.Bool("trainable_embedding", c.trainable_embedding);
  return c;
}

c10::optional<uint64_t> ReadSeed(const Napi::Value& v, const char* name) {
  if (v.IsUndefined() || v.IsNull()) return c10::nullopt;
  int64_t s = GetInt(v, name);
  if (s < 0) ThrowArg(std::string(name) + ": expected a non-negative integer");
  return static_cast<uint64_t>(s);
}

// Per-call forward options (autocast.h for the precision).
struct ForwardOptions {
  Precision precision = Precision::kFp32;
  bool channels_last = false;
  int64_t workers = 1;
};

ForwardOptions ReadForwardOptions(const Napi::Value& v) {
  ForwardOptions o;
  if (v.IsUndefined() || v.IsNull()) return o;
  if (!v.IsObject() || v.IsArray()) ThrowArg("opts: expected { precision?, channelsLast?, workers? }");
  Napi::Object obj = v.As<Napi::Object>();
  o.precision = GetPrecision(obj.Get("precision"), "opts.precision");
  Napi::Value cl = obj.Get("channelsLast");
  if (!cl.IsUndefined() && !cl.IsNull()) o.channels_last = GetBool(cl, "opts.channelsLast");
  Napi::Value w = obj.Get("workers");
  if (!w.IsUndefined() && !w.IsNull()) o.workers = GetInt(w, "opts.workers");
  if (o.workers < 1) ThrowArg("opts.workers: expected an integer >= 1, got " + std::to_string(o.workers));
  return o;
}

// The network under the options: autocast only around NCSNpp::forward (which returns x's dtype).
at::Tensor RunNet(NCSNpp& net, const at::Tensor& x, const at::Tensor& labels, const ForwardOptions& o) {
  const at::Tensor xin = o.channels_last && x.dim() == 4 ? x.contiguous(at::MemoryFormat::ChannelsLast) : x;
  at::Tensor out;
  {
    AutocastScope autocast(o.precision, x.device());
    out = net.forward(xin, labels);
  }
  return o.channels_last ? out.contiguous() : out;
}

bool AnyRequiresGrad(const std::vector<at::Tensor>& ts) {
  return std::any_of(ts.begin(), ts.end(), [](const at::Tensor& t) { return t.requires_grad(); });
}

at::Tensor RunForward(NCSNpp& net, const at::Tensor& x, const at::Tensor& labels, const ForwardOptions& o) {
  if (o.workers <= 1) return RunNet(net, x, labels, o);
  return BatchSplitCall([&](const at::Tensor& xs, const at::Tensor& ls) { return RunNet(net, xs, ls, o); }, x, labels,
                        o.workers, AnyRequiresGrad(net.parameters()));
}

class NcsnppModule : public ModuleHandle<NcsnppModule, NCSNpp> {
 public:
  static constexpr const char* kName = "NcsnppModule";
  static Napi::Function Define(Napi::Env env) {
    Props props = CommonMethods();
    props.push_back(InstanceMethod<&NcsnppModule::Forward>("forward"));
    props.push_back(InstanceMethod<&NcsnppModule::ForwardAsync>("forwardAsync"));
    props.push_back(InstanceMethod<&NcsnppModule::Train>("train"));
    props.push_back(InstanceMethod<&NcsnppModule::IsTraining>("isTraining"));
    props.push_back(InstanceMethod<&NcsnppModule::SetDropoutSeed>("setDropoutSeed"));
    return DefineClass(env, "NcsnppModule", props);
  }

  explicit NcsnppModule(const Napi::CallbackInfo& info) : ModuleHandle(info) {
    try {
      NcsnppConfig cfg = ReadConfig(info[0]);
      auto seed = ReadSeed(info[1], "seed");
      net_ = std::make_shared<NCSNpp>(cfg, seed);
    } catch (...) {
      throw ToJsError(info.Env(), std::current_exception());
    }
  }

 private:
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      NCSNpp& net = Net();
      const at::Tensor& x = UnwrapTensor(info[0], "x");
      const at::Tensor& labels = UnwrapTensor(info[1], "labels");
      ForwardOptions o = ReadForwardOptions(info[2]);
      CheckPrecision(o.precision, x.device());
      return WrapTensor(info.Env(), RunForward(net, x, labels, o));
    });
  }

  Napi::Value ForwardAsync(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      Net();
      std::shared_ptr<NCSNpp> net = net_;  // keeps the module alive even if JS disposes it meanwhile
      at::Tensor x = UnwrapTensor(info[0], "x");
      at::Tensor labels = UnwrapTensor(info[1], "labels");
      ForwardOptions o = ReadForwardOptions(info[2]);
      CheckPrecision(o.precision, x.device());  // refused here, on the JS thread, with the reason
      return TensorJob::Run(
          info.Env(),
          [net, x, labels, o]() { return std::vector<at::Tensor>{RunForward(*net, x, labels, o)}; },
          /*single=*/true);
    });
  }

  Napi::Value Train(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      bool on = info.Length() == 0 || info[0].IsUndefined() ? true : GetBool(info[0], "on");
      Net().train(on);
      return info.Env().Undefined();
    });
  }

  Napi::Value IsTraining(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value { return Napi::Boolean::New(info.Env(), Net().is_training()); });
  }

  Napi::Value SetDropoutSeed(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      NCSNpp& net = Net();
      net.SetDropoutSeed(ReadSeed(info[0], "seed"));
      return info.Env().Undefined();
    });
  }
};

}  // namespace

void InitInception(Napi::Env env, Napi::Object exports);  // nn/inception.cc
void InitFlowpp(Napi::Env env, Napi::Object exports);     // nn/flowpp/binding.cc

void InitModules(Napi::Env env, Napi::Object exports) {
  exports.Set("NcsnppModule", NcsnppModule::Define(env));
  InitInception(env, exports);
  InitFlowpp(env, exports);
}

}  // namespace sf
