// A c10d process group as a JS handle: TCPStore rendezvous (rank 0 serves it), Gloo on the CPU or NCCL on
// CUDA, and the collectives the training loop needs (allreduce of tensors or of parameters' gradients in a
// few flat buckets, broadcast, allgather, barrier). Every collective is issued on the JS thread, so its
// order is the call order on every rank (c10d matches collectives by order), and waited for on libuv's
// pool with a timeout, so a dead or hung peer rejects the promise instead of blocking Node. Which rank does
// what, bucket sizes and timeouts are TypeScript policy.
#include "pch.h"
#include "async.h"
#include "dist/c10d_shim.h"

namespace sf {
namespace {

struct GroupState {
  std::string backend, master_addr, prefix;
  bool serve_store = true;  // rank 0 serves the TCPStore unless a launcher's agent already does
  int rank = 0, size = 1, port = 0;
  std::chrono::milliseconds timeout{300000};
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<dist::CollectiveBase> pg;
};

// A run of tensors flattened into one contiguous buffer, and where each came from.
struct Bucket {
  at::Tensor flat;
  std::vector<at::Tensor> parts;
};

// Consecutive tensors of one dtype and device, up to `bucket_bytes` per bucket (a single bigger tensor
// gets a bucket of its own).
std::vector<Bucket> Flatten(const std::vector<at::Tensor>& ts, int64_t bucket_bytes) {
  std::vector<Bucket> out;
  std::vector<at::Tensor> run;
  int64_t bytes = 0;
  auto close = [&]() {
    if (run.empty()) return;
    std::vector<at::Tensor> flat_parts;
    for (const auto& t : run) flat_parts.push_back(t.reshape({-1}));
    out.push_back({at::cat(flat_parts), run});
    run.clear();
    bytes = 0;
  };
  for (const auto& t : ts) {
    int64_t b = t.numel() * static_cast<int64_t>(t.element_size());
    if (!run.empty() && (run[0].scalar_type() != t.scalar_type() || run[0].device() != t.device() ||
                         bytes + b > bucket_bytes)) close();
    run.push_back(t);
    bytes += b;
  }
  close();
  return out;
}

void Unflatten(const Bucket& b) {
  at::NoGradGuard no_grad;  // parameters are leaves that require grad
  int64_t off = 0;
  for (const auto& t : b.parts) {
    int64_t n = t.numel();
    t.copy_(b.flat.narrow(0, off, n).view(t.sizes()));
    off += n;
  }
}

void WaitAll(const std::vector<c10::intrusive_ptr<c10d::Work>>& works, const GroupState& s, const char* what) {
  for (const auto& w : works) {
    bool ok = false;
    try {
      ok = w->wait(s.timeout);
    } catch (...) {
      const char* code = nullptr;
      std::string msg = DescribeException(std::current_exception(), &code);
      throw CodedError("ERR_DIST", std::string(what) + " failed on rank " + std::to_string(s.rank) + " of " +
                       std::to_string(s.size) + " (a peer died, hangs or left the job): " + msg);
    }
    if (!ok) {
      throw CodedError("ERR_DIST", std::string(what) + " on rank " + std::to_string(s.rank) + " was aborted");
    }
  }
}

class ProcessGroupHandle : public Napi::ObjectWrap<ProcessGroupHandle> {
 public:
  static Napi::Function DefineClass(Napi::Env env) {
    return ObjectWrap<ProcessGroupHandle>::DefineClass(
        env, "ProcessGroup",
        {InstanceMethod("connect", &ProcessGroupHandle::G<&ProcessGroupHandle::Connect>),
         InstanceMethod("allreduce", &ProcessGroupHandle::G<&ProcessGroupHandle::Allreduce>),
         InstanceMethod("broadcast", &ProcessGroupHandle::G<&ProcessGroupHandle::Broadcast>),
         InstanceMethod("allgather", &ProcessGroupHandle::G<&ProcessGroupHandle::Allgather>),
         InstanceMethod("barrier", &ProcessGroupHandle::G<&ProcessGroupHandle::Barrier>),
         InstanceMethod("isConnected", &ProcessGroupHandle::G<&ProcessGroupHandle::IsConnected>),
         InstanceMethod("dispose", &ProcessGroupHandle::G<&ProcessGroupHandle::Dispose>)});
  }

  // new ProcessGroup({backend, rank, worldSize, masterAddr, masterPort, timeoutMs, storePrefix, serveStore}):
  // validated in TS.
  explicit ProcessGroupHandle(const Napi::CallbackInfo& info) : ObjectWrap<ProcessGroupHandle>(info) {
    Guard(info.Env(), [&]() -> Napi::Value {
      if (!info[0].IsObject()) ThrowArg("options: expected an object");
      auto o = info[0].As<Napi::Object>();
      auto s = std::make_shared<GroupState>();
      s->backend = GetString(o.Get("backend"), "backend");
      if (s->backend != "gloo" && s->backend != "nccl")
        ThrowArg("backend: expected 'gloo' or 'nccl', received '" + s->backend + "'");
      s->rank = static_cast<int>(GetInt(o.Get("rank"), "rank"));
      s->size = static_cast<int>(GetInt(o.Get("worldSize"), "worldSize"));
      s->master_addr = GetString(o.Get("masterAddr"), "masterAddr");
      s->port = static_cast<int>(GetInt(o.Get("masterPort"), "masterPort"));
      s->timeout = std::chrono::milliseconds(GetInt(o.Get("timeoutMs"), "timeoutMs"));
      s->prefix = GetString(o.Get("storePrefix"), "storePrefix");
      s->serve_store = GetBool(o.Get("serveStore"), "serveStore");
      if (s->size < 1 || s->rank < 0 || s->rank >= s->size) ThrowArg("rank: expected 0 <= rank < worldSize");
      if (s->port < 1 || s->port > 65535) ThrowArg("masterPort: expected 1..65535");
      state_ = std::move(s);
      return info.Env().Undefined();
    });
  }

 private:
  template <Napi::Value (ProcessGroupHandle::*M)(const Napi::CallbackInfo&)>
  Napi::Value G(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&] { return (this->*M)(info); });
  }
  std::shared_ptr<GroupState> Live() const {
    if (!state_) ThrowDisposed("process group was disposed");
    return state_;
  }
  std::shared_ptr<GroupState> Connected() const {
    auto s = Live();
    if (!s->pg) throw CodedError("ERR_DIST", "process group is not connected: await connect() first");
    return s;
  }

  // connect(): resolves once every rank has joined (the rendezvous blocks a pool thread, not Node).
  Napi::Value Connect(const Napi::CallbackInfo& info) {
    auto s = Live();
    if (s->pg) ThrowArg("connect: the process group is already connected");
    dist::RequireBackend(s->backend);
    return TensorJob::Run(info.Env(), [s]() {
      try {
        c10d::TCPStoreOptions so;
        so.port = static_cast<std::uint16_t>(s->port);
        so.isServer = s->rank == 0 && s->serve_store;
        so.numWorkers = static_cast<std::size_t>(s->size);
        so.waitWorkers = false;  // the backend's own rendezvous waits for everyone, with the timeout
        so.timeout = s->timeout;
        // Our keys under a prefix: the store may be a launcher agent's (torchrun), holding keys of its own.
        s->store = c10::make_intrusive<c10d::PrefixStore>(s->prefix, c10::make_intrusive<c10d::TCPStore>(s->master_addr, so));
        s->pg = dist::MakeBackend(s->backend, s->store, s->rank, s->size, s->timeout, s->master_addr);
      } catch (const CodedError&) {
        throw;
      } catch (...) {
        const char* code = nullptr;
        std::string msg = DescribeException(std::current_exception(), &code);
        throw CodedError("ERR_DIST", "rank " + std::to_string(s->rank) + " could not join the job at " +
                         s->master_addr + ":" + std::to_string(s->port) + " within " +
                         std::to_string(s->timeout.count()) + " ms: " + msg);
      }
      return std::vector<at::Tensor>{};
    }, true);
  }

  // allreduce(tensors, {grads, average, bucketBytes, extra?}): in place, on the tensors or (grads) on their
  // gradients; parameters without a gradient are skipped, the same ones on every rank.
  Napi::Value Allreduce(const Napi::CallbackInfo& info) {
    auto s = Connected();
    std::vector<at::Tensor> ts = UnwrapTensorList(info[0], "tensors");
    if (!info[1].IsObject()) ThrowArg("options: expected {grads, average, bucketBytes}");
    auto o = info[1].As<Napi::Object>();
    bool grads = GetBool(o.Get("grads"), "grads");
    bool average = GetBool(o.Get("average"), "average");
    int64_t bucket_bytes = GetInt(o.Get("bucketBytes"), "bucketBytes");
    std::vector<at::Tensor> targets;
    for (const auto& t : ts) {
      at::Tensor x = grads ? t.grad() : t;
      if (x.defined()) targets.push_back(x);
    }
    // `extra`: plain tensors reduced in the same buckets (e.g. a stop flag riding on the gradients).
    if (!o.Get("extra").IsUndefined())
      for (const auto& t : UnwrapTensorList(o.Get("extra"), "extra")) targets.push_back(t);
    for (const auto& x : targets)
      if (average && !at::isFloatingType(x.scalar_type())) ThrowArg("allreduce: average needs floating tensors");
    auto buckets = std::make_shared<std::vector<Bucket>>(Flatten(targets, bucket_bytes));
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (auto& b : *buckets) {
      std::vector<at::Tensor> one{b.flat};
      works.push_back(s->pg->allreduce(one, c10d::AllreduceOptions()));
    }
    return TensorJob::Run(info.Env(), [s, buckets, works, average]() {
      WaitAll(works, *s, "allreduce");
      for (auto& b : *buckets) {
        if (average) b.flat.div_(s->size);
        Unflatten(b);
      }
      return std::vector<at::Tensor>{};
    }, true);
  }

  // broadcast(tensors, root, bucketBytes): in place (e.g. rank 0's parameters and buffers at start).
  Napi::Value Broadcast(const Napi::CallbackInfo& info) {
    auto s = Connected();
    std::vector<at::Tensor> ts = UnwrapTensorList(info[0], "tensors");
    int64_t root = GetInt(info[1], "root");
    if (root < 0 || root >= s->size) ThrowArg("root: expected 0 <= root < worldSize");
    auto buckets = std::make_shared<std::vector<Bucket>>(Flatten(ts, GetInt(info[2], "bucketBytes")));
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (auto& b : *buckets) {
      std::vector<at::Tensor> one{b.flat};
      c10d::BroadcastOptions bo;
      bo.rootRank = root;
      works.push_back(s->pg->broadcast(one, bo));
    }
    return TensorJob::Run(info.Env(), [s, buckets, works]() {
      WaitAll(works, *s, "broadcast");
      for (auto& b : *buckets) Unflatten(b);
      return std::vector<at::Tensor>{};
    }, true);
  }

  // allgather(tensor): resolves with every rank's tensor (same shape and dtype on all ranks), in rank order.
  Napi::Value Allgather(const Napi::CallbackInfo& info) {
    auto s = Connected();
    at::Tensor t = UnwrapTensor(info[0], "tensor").contiguous();
    std::vector<at::Tensor> in{t};
    std::vector<std::vector<at::Tensor>> out(1);
    for (int r = 0; r < s->size; ++r) out[0].push_back(at::empty_like(t));
    auto work = s->pg->allgather(out, in, c10d::AllgatherOptions());
    return TensorJob::Run(info.Env(), [s, work, out]() {
      WaitAll({work}, *s, "allgather");
      return out[0];
    }, false);
  }

  Napi::Value Barrier(const Napi::CallbackInfo& info) {
    auto s = Connected();
    auto work = s->pg->barrier(c10d::BarrierOptions());
    return TensorJob::Run(info.Env(), [s, work]() {
      WaitAll({work}, *s, "barrier");
      return std::vector<at::Tensor>{};
    }, true);
  }

  Napi::Value IsConnected(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), state_ && state_->pg);
  }

  // Idempotent; a collective still in flight keeps the group alive until it settles.
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    state_.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<GroupState> state_;
};

}  // namespace

void InitDist(Napi::Env env, Napi::Object exports) {
  exports.Set("ProcessGroup", ProcessGroupHandle::DefineClass(env));
  exports.Set("distInfo", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    auto o = Napi::Object::New(info.Env());
    o.Set("gloo", dist::HasGloo());
    o.Set("nccl", dist::HasNccl());
    return o;
  }, "distInfo"));
}

}  // namespace sf
