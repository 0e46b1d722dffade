// What every network handle (NcsnppModule, InceptionModule) shares: weights by name, device moves and
// idempotent disposal. `NetT` is a torch::nn::Module offering StateDictEntries(), NumParameters() and
// device(); `Derived::kName` names the handle in error messages.
#pragma once
#include "common.h"

namespace sf {

template <typename Derived, typename NetT>
class ModuleHandle : public Napi::ObjectWrap<Derived> {
 public:
  using Wrap = Napi::ObjectWrap<Derived>;
  using Props = std::vector<typename Wrap::PropertyDescriptor>;

  explicit ModuleHandle(const Napi::CallbackInfo& info) : Wrap(info) {}

  // The shared methods; a handle's DefineClass appends its own.
  static Props CommonMethods() {
    return {
        Wrap::InstanceMethod("namedParameters", &ModuleHandle::NamedParameters),
        Wrap::InstanceMethod("namedBuffers", &ModuleHandle::NamedBuffers),
        Wrap::InstanceMethod("stateDict", &ModuleHandle::StateDict),
        Wrap::InstanceMethod("stateDictKeys", &ModuleHandle::StateDictKeys),
        Wrap::InstanceMethod("to", &ModuleHandle::To),
        Wrap::InstanceMethod("device", &ModuleHandle::DeviceJs),
        Wrap::InstanceMethod("numParameters", &ModuleHandle::NumParameters),
        Wrap::InstanceMethod("dispose", &ModuleHandle::Dispose),
        Wrap::InstanceMethod("isDisposed", &ModuleHandle::IsDisposed),
    };
  }

 protected:
  NetT& Net() {
    if (!net_) ThrowDisposed(std::string(Derived::kName) + ": the module was disposed");
    return *net_;
  }

  // Shared with async jobs, so a job keeps the module alive even if JS disposes it meanwhile.
  std::shared_ptr<NetT> net_;

 private:
  Napi::Value NamedParameters(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&] { return WrapNamedTensors(info.Env(), NamedTensorsOf(Net().named_parameters(true))); });
  }
  Napi::Value NamedBuffers(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&] { return WrapNamedTensors(info.Env(), NamedTensorsOf(Net().named_buffers(true))); });
  }
  Napi::Value StateDict(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&] { return WrapNamedTensors(info.Env(), Net().StateDictEntries()); });
  }
  Napi::Value StateDictKeys(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      auto entries = Net().StateDictEntries();
      Napi::Array out = Napi::Array::New(info.Env(), entries.size());
      for (size_t i = 0; i < entries.size(); ++i)
        out.Set(static_cast<uint32_t>(i), Napi::String::New(info.Env(), entries[i].first));
      return out;
    });
  }
  Napi::Value To(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      NetT& net = Net();
      net.to(GetDevice(info[0], "device"));
      return info.Env().Undefined();
    });
  }
  Napi::Value DeviceJs(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value { return Napi::String::New(info.Env(), DeviceName(Net().device())); });
  }
  Napi::Value NumParameters(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      return Napi::Number::New(info.Env(), static_cast<double>(Net().NumParameters()));
    });
  }
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    net_.reset();  // idempotent
    return info.Env().Undefined();
  }
  Napi::Value IsDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !net_); }
};

}  // namespace sf
