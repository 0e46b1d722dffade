// Running libtorch work off the JS thread. A job copies its inputs (at::Tensor handles share storage and
// keep it alive even if JS disposes its handles), runs on libuv's pool, and resolves a Promise with the
// produced tensors. Execute never touches JS values.
#pragma once
#include "common.h"
#include "autocast.h"

namespace sf {

class TensorJob : public Napi::AsyncWorker {
 public:
  using Work = std::function<std::vector<at::Tensor>()>;
  // `single`: resolve with one tensor (or undefined) instead of an array.
  TensorJob(Napi::Env env, Work work, bool single)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)),
        single_(single), grad_enabled_(at::GradMode::is_enabled()), num_threads_(at::get_num_threads()),
        autocast_(AutocastState::Capture()) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  // Queues the job and returns its promise.
  static Napi::Value Run(Napi::Env env, Work work, bool single) {
    auto* job = new TensorJob(env, std::move(work), single);
    Napi::Promise p = job->Promise();
    job->Queue();
    return p;
  }

 protected:
  void Execute() override {
    try {
      // Grad mode, autocast and the OpenMP thread count are per thread: re-establish the caller's, so
      // results are bit-identical to the synchronous call (a different thread count changes reduction
      // order).
      thread_local int applied_threads = -1;
      if (applied_threads != num_threads_) {
        at::set_num_threads(num_threads_);
        applied_threads = num_threads_;
      }
      at::AutoGradMode grad_mode(grad_enabled_);
      std::optional<AutocastRestore> autocast;
      if (autocast_.any()) autocast.emplace(autocast_);
      result_ = work_();
    } catch (...) {
      error_ = std::current_exception();
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (error_) {
      deferred_.Reject(ToJsError(env, error_).Value());
      return;
    }
    try {
      if (single_) deferred_.Resolve(result_.empty() ? env.Undefined() : WrapTensor(env, result_[0]));
      else deferred_.Resolve(WrapTensorList(env, result_));
    } catch (...) {
      deferred_.Reject(ToJsError(env, std::current_exception()).Value());
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Work work_;
  bool single_;
  bool grad_enabled_;
  int num_threads_;
  AutocastState autocast_;
  std::vector<at::Tensor> result_;
  std::exception_ptr error_;
};

}  // namespace sf
