// Tensor handles, scopes, creation, the op tables and autograd.
#include "pch.h"
#include "tensor.h"

namespace sf {

// ---------------------------------------------------------------------------------------------------
// Accounting and scopes. All of this runs on the JS main thread only.

static int64_t g_live_handles = 0;
static int64_t g_live_bytes = 0;

// The constructor used for new handles: the native class, or the TS subclass registered by the loader,
// so a handle is a single JS object with the TS methods on its prototype.
static Napi::FunctionReference* g_ctor = nullptr;
// The native class itself, for instanceof checks that also accept the subclass.
static Napi::FunctionReference* g_base = nullptr;
// The tensor a handle adopts while its constructor runs (JS `new` cannot receive an at::Tensor).
static at::Tensor* g_pending = nullptr;

// A scope remembers the handles created while it was open; closing it disposes those not kept.
static std::vector<std::vector<TensorHandle*>> g_scopes;

static void ScopeRemove(TensorHandle* h) {
  if (!h->in_scope) return;
  if (h->scope_depth < g_scopes.size()) {
    auto& members = g_scopes[h->scope_depth];
    if (h->scope_index < members.size() && members[h->scope_index] == h) members[h->scope_index] = nullptr;
  }
  h->in_scope = false;
}

static void ScopeAdd(TensorHandle* h, size_t depth) {
  auto& members = g_scopes[depth];
  h->scope_depth = depth;
  h->scope_index = members.size();
  h->in_scope = true;
  members.push_back(h);
}

TensorHandle::TensorHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorHandle>(info) {
  if (g_pending == nullptr) {
    // ObjectWrap constructors cannot use Guard's return path; throw a coded JS error directly.
    Napi::Error e = Napi::Error::New(info.Env(), "Tensor cannot be constructed directly: use tensor(), zeros(), randn() ...");
    e.Set("code", Napi::String::New(info.Env(), "ERR_ARG"));
    throw e;
  }
  t_ = std::move(*g_pending);
  g_pending = nullptr;
  bytes_ = t_.defined() ? static_cast<int64_t>(t_.numel() * t_.element_size()) : 0;
  g_live_handles += 1;
  g_live_bytes += bytes_;
  if (!g_scopes.empty()) ScopeAdd(this, g_scopes.size() - 1);
}

TensorHandle::~TensorHandle() {
  ScopeRemove(this);
  Dispose();  // finalizer backstop
}

void TensorHandle::Dispose() {
  if (disposed_) return;
  disposed_ = true;
  t_ = at::Tensor();
  g_live_handles -= 1;
  g_live_bytes -= bytes_;
}

at::Tensor& TensorHandle::Get() {
  if (disposed_) ThrowDisposed("tensor was disposed (dispose() or the end of its tidy() scope)");
  return t_;
}

Napi::Value WrapTensor(Napi::Env env, at::Tensor t) {
  if (!t.defined()) return env.Null();
  at::Tensor local = std::move(t);
  g_pending = &local;
  Napi::Object obj = g_ctor->New({});
  g_pending = nullptr;
  return obj;
}

TensorHandle* UnwrapHandle(const Napi::Value& v, const char* name) {
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(g_base->Value()))
    ThrowArg(std::string(name) + ": expected a Tensor");
  return TensorHandle::Unwrap(v.As<Napi::Object>());
}

at::Tensor& UnwrapTensor(const Napi::Value& v, const char* name) { return UnwrapHandle(v, name)->Get(); }

std::vector<at::Tensor> UnwrapTensorList(const Napi::Value& v, const char* name) {
  if (!v.IsArray()) ThrowArg(std::string(name) + ": expected an array of Tensors");
  auto arr = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) out.push_back(UnwrapTensor(arr.Get(i), name));
  return out;
}

Napi::Array WrapTensorList(Napi::Env env, const std::vector<at::Tensor>& ts) {
  auto arr = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); ++i) arr.Set(static_cast<uint32_t>(i), WrapTensor(env, ts[i]));
  return arr;
}

Napi::Array WrapNamedTensors(Napi::Env env, const NamedTensors& entries) {
  Napi::Array out = Napi::Array::New(env, entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(uint32_t(0), Napi::String::New(env, entries[i].first));
    pair.Set(uint32_t(1), WrapTensor(env, entries[i].second));
    out.Set(static_cast<uint32_t>(i), pair);
  }
  return out;
}

// A JS number as a "wrapped number" tensor: type promotion then treats it like a Python scalar literal
// (float32 tensor + 0.5 stays float32; an integral number is an int literal, so int64 tensor + 2 stays
// int64), exactly as PyTorch does.
static at::Tensor ScalarOperand(double v) {
  bool integral = std::isfinite(v) && v == std::trunc(v) && std::fabs(v) < 9.007199254740992e15;
  at::Tensor s = integral ? at::scalar_tensor(static_cast<int64_t>(v), at::TensorOptions().dtype(at::kLong))
                          : at::scalar_tensor(v, at::TensorOptions().dtype(at::kDouble));
  s.unsafeGetTensorImpl()->set_wrapped_number(true);
  return s;
}

static at::Tensor Operand(const Napi::Value& v, const char* name) {
  if (v.IsNumber()) return ScalarOperand(v.As<Napi::Number>().DoubleValue());
  if (v.IsBoolean()) return ScalarOperand(v.As<Napi::Boolean>().Value() ? 1.0 : 0.0);
  return UnwrapTensor(v, name);
}

static std::optional<std::vector<int64_t>> OptDims(const Napi::Value& v, const char* name) {
  if (v.IsUndefined() || v.IsNull()) return std::nullopt;
  if (v.IsNumber()) return std::vector<int64_t>{GetInt(v, name)};
  return GetIntList(v, name);
}

// ---------------------------------------------------------------------------------------------------
// Op tables: TS looks the index up by name once (exported lists), so dispatch is an array index.

struct UnaryOp { const char* name; at::Tensor (*fn)(const at::Tensor&); };
static const UnaryOp kUnary[] = {
    {"neg", [](const at::Tensor& a) { return a.neg(); }},
    {"exp", [](const at::Tensor& a) { return a.exp(); }},
    {"log", [](const at::Tensor& a) { return a.log(); }},
    {"expm1", [](const at::Tensor& a) { return a.expm1(); }},
    {"log1p", [](const at::Tensor& a) { return a.log1p(); }},
    {"sqrt", [](const at::Tensor& a) { return a.sqrt(); }},
    {"rsqrt", [](const at::Tensor& a) { return a.rsqrt(); }},
    {"square", [](const at::Tensor& a) { return a.square(); }},
    {"abs", [](const at::Tensor& a) { return a.abs(); }},
    {"tanh", [](const at::Tensor& a) { return a.tanh(); }},
    {"sigmoid", [](const at::Tensor& a) { return a.sigmoid(); }},
    {"softplus", [](const at::Tensor& a) { return at::softplus(a); }},
    {"relu", [](const at::Tensor& a) { return a.relu(); }},
    {"silu", [](const at::Tensor& a) { return at::silu(a); }},
    {"sin", [](const at::Tensor& a) { return a.sin(); }},
    {"cos", [](const at::Tensor& a) { return a.cos(); }},
    {"sign", [](const at::Tensor& a) { return a.sign(); }},
    {"floor", [](const at::Tensor& a) { return a.floor(); }},
    {"ceil", [](const at::Tensor& a) { return a.ceil(); }},
    {"round", [](const at::Tensor& a) { return a.round(); }},
    {"reciprocal", [](const at::Tensor& a) { return a.reciprocal(); }},
    {"erf", [](const at::Tensor& a) { return a.erf(); }},
    {"logicalNot", [](const at::Tensor& a) { return a.logical_not(); }},
    {"isfinite", [](const at::Tensor& a) { return a.isfinite(); }},
    {"isnan", [](const at::Tensor& a) { return a.isnan(); }},
};

struct BinaryOp {
  const char* name;
  at::Tensor (*fn)(const at::Tensor&, const at::Tensor&);
  at::Tensor& (*inplace)(at::Tensor&, const at::Tensor&);  // nullptr: no in-place form
};
static const BinaryOp kBinary[] = {
    {"add", [](const at::Tensor& a, const at::Tensor& b) { return a.add(b); },
     [](at::Tensor& a, const at::Tensor& b) -> at::Tensor& { return a.add_(b); }},
    {"sub", [](const at::Tensor& a, const at::Tensor& b) { return a.sub(b); },
     [](at::Tensor& a, const at::Tensor& b) -> at::Tensor& { return a.sub_(b); }},
    {"mul", [](const at::Tensor& a, const at::Tensor& b) { return a.mul(b); },
     [](at::Tensor& a, const at::Tensor& b) -> at::Tensor& { return a.mul_(b); }},
    {"div", [](const at::Tensor& a, const at::Tensor& b) { return a.div(b); },
     [](at::Tensor& a, const at::Tensor& b) -> at::Tensor& { return a.div_(b); }},
    {"pow", [](const at::Tensor& a, const at::Tensor& b) { return a.pow(b); },
     [](at::Tensor& a, const at::Tensor& b) -> at::Tensor& { return a.pow_(b); }},
    {"maximum", [](const at::Tensor& a, const at::Tensor& b) { return at::maximum(a, b.to(a.device())); }, nullptr},
    {"minimum", [](const at::Tensor& a, const at::Tensor& b) { return at::minimum(a, b.to(a.device())); }, nullptr},
    {"atan2", [](const at::Tensor& a, const at::Tensor& b) { return a.atan2(b); }, nullptr},
    {"remainder", [](const at::Tensor& a, const at::Tensor& b) { return a.remainder(b); }, nullptr},
    {"eq", [](const at::Tensor& a, const at::Tensor& b) { return a.eq(b); }, nullptr},
    {"ne", [](const at::Tensor& a, const at::Tensor& b) { return a.ne(b); }, nullptr},
    {"lt", [](const at::Tensor& a, const at::Tensor& b) { return a.lt(b); }, nullptr},
    {"le", [](const at::Tensor& a, const at::Tensor& b) { return a.le(b); }, nullptr},
    {"gt", [](const at::Tensor& a, const at::Tensor& b) { return a.gt(b); }, nullptr},
    {"ge", [](const at::Tensor& a, const at::Tensor& b) { return a.ge(b); }, nullptr},
    {"logicalAnd", [](const at::Tensor& a, const at::Tensor& b) { return a.logical_and(b); }, nullptr},
    {"logicalOr", [](const at::Tensor& a, const at::Tensor& b) { return a.logical_or(b); }, nullptr},
    {"copy", [](const at::Tensor& a, const at::Tensor& b) { return b.expand_as(a).clone(); },
     [](at::Tensor& a, const at::Tensor& b) -> at::Tensor& { return a.copy_(b); }},
};

// Reductions over `dims` (all dims when none are given).
struct ReduceOp { const char* name; at::Tensor (*fn)(const at::Tensor&, at::IntArrayRef, bool); };
static const ReduceOp kReduce[] = {
    {"sum", [](const at::Tensor& a, at::IntArrayRef d, bool k) { return a.sum(d, k); }},
    {"mean", [](const at::Tensor& a, at::IntArrayRef d, bool k) { return a.mean(d, k); }},
    {"max", [](const at::Tensor& a, at::IntArrayRef d, bool k) { return a.amax(d, k); }},
    {"min", [](const at::Tensor& a, at::IntArrayRef d, bool k) { return a.amin(d, k); }},
    {"logsumexp", [](const at::Tensor& a, at::IntArrayRef d, bool k) { return a.logsumexp(d, k); }},
    {"var", [](const at::Tensor& a, at::IntArrayRef d, bool k) { return a.var(d, /*unbiased=*/true, k); }},
    {"std", [](const at::Tensor& a, at::IntArrayRef d, bool k) { return a.std(d, /*unbiased=*/true, k); }},
    {"all", [](const at::Tensor& a, at::IntArrayRef d, bool k) {
       at::Tensor r = a.to(at::kBool);
       for (int64_t i = static_cast<int64_t>(d.size()) - 1; i >= 0; --i) r = r.all(d[i], k);
       return r; }},
    {"any", [](const at::Tensor& a, at::IntArrayRef d, bool k) {
       at::Tensor r = a.to(at::kBool);
       for (int64_t i = static_cast<int64_t>(d.size()) - 1; i >= 0; --i) r = r.any(d[i], k);
       return r; }},
};

template <typename T, size_t N>
static const T& Lookup(const T (&table)[N], const Napi::Value& v, const char* what) {
  int64_t i = GetInt(v, what);
  if (i < 0 || i >= static_cast<int64_t>(N)) ThrowArg(std::string(what) + ": unknown op index " + std::to_string(i));
  return table[i];
}

template <typename T, size_t N>
static Napi::Array OpNames(Napi::Env env, const T (&table)[N]) {
  auto arr = Napi::Array::New(env, N);
  for (size_t i = 0; i < N; ++i) arr.Set(static_cast<uint32_t>(i), Napi::String::New(env, table[i].name));
  return arr;
}

// ---------------------------------------------------------------------------------------------------
// Instance methods.

#define SF_M(name) InstanceMethod<&TensorHandle::Guarded<&TensorHandle::name>>

Napi::Function TensorHandle::DefineClass(Napi::Env env) {
  return ObjectWrap<TensorHandle>::DefineClass(
      env, "NativeTensor",
      {
          InstanceMethod("_unary", &TensorHandle::Guarded<&TensorHandle::Unary>),
          InstanceMethod("_binary", &TensorHandle::Guarded<&TensorHandle::Binary>),
          InstanceMethod("_binaryInplace", &TensorHandle::Guarded<&TensorHandle::BinaryInplace>),
          InstanceMethod("_reduce", &TensorHandle::Guarded<&TensorHandle::Reduce>),
          InstanceMethod("_axpy", &TensorHandle::Guarded<&TensorHandle::Axpy>),
          InstanceMethod("_norm", &TensorHandle::Guarded<&TensorHandle::Norm>),
          InstanceMethod("_clamp", &TensorHandle::Guarded<&TensorHandle::Clamp>),
          InstanceMethod("_matmul", &TensorHandle::Guarded<&TensorHandle::Matmul>),
          InstanceMethod("_softmax", &TensorHandle::Guarded<&TensorHandle::Softmax>),
          InstanceMethod("_reshape", &TensorHandle::Guarded<&TensorHandle::Reshape>),
          InstanceMethod("_view", &TensorHandle::Guarded<&TensorHandle::View>),
          InstanceMethod("_expand", &TensorHandle::Guarded<&TensorHandle::Expand>),
          InstanceMethod("_permute", &TensorHandle::Guarded<&TensorHandle::Permute>),
          InstanceMethod("_transpose", &TensorHandle::Guarded<&TensorHandle::Transpose>),
          InstanceMethod("_flatten", &TensorHandle::Guarded<&TensorHandle::Flatten>),
          InstanceMethod("_squeeze", &TensorHandle::Guarded<&TensorHandle::Squeeze>),
          InstanceMethod("_unsqueeze", &TensorHandle::Guarded<&TensorHandle::Unsqueeze>),
          InstanceMethod("_slice", &TensorHandle::Guarded<&TensorHandle::Slice>),
          InstanceMethod("_select", &TensorHandle::Guarded<&TensorHandle::Select>),
          InstanceMethod("_indexSelect", &TensorHandle::Guarded<&TensorHandle::IndexSelect>),
          InstanceMethod("_flip", &TensorHandle::Guarded<&TensorHandle::Flip>),
          InstanceMethod("_repeat", &TensorHandle::Guarded<&TensorHandle::Repeat>),
          InstanceMethod("_chunk", &TensorHandle::Guarded<&TensorHandle::Chunk>),
          InstanceMethod("_contiguous", &TensorHandle::Guarded<&TensorHandle::Contiguous>),
          InstanceMethod("_clone", &TensorHandle::Guarded<&TensorHandle::Clone>),
          InstanceMethod("_detach", &TensorHandle::Guarded<&TensorHandle::Detach>),
          InstanceMethod("_to", &TensorHandle::Guarded<&TensorHandle::To>),
          InstanceMethod("_copyFrom", &TensorHandle::Guarded<&TensorHandle::CopyFrom>),
          InstanceMethod("_fill", &TensorHandle::Guarded<&TensorHandle::Fill>),
          InstanceMethod("_item", &TensorHandle::Guarded<&TensorHandle::Item>),
          InstanceMethod("_toArray", &TensorHandle::Guarded<&TensorHandle::ToArray>),
          InstanceMethod("_shape", &TensorHandle::Guarded<&TensorHandle::Shape>),
          InstanceMethod("_dtype", &TensorHandle::Guarded<&TensorHandle::DType>),
          InstanceMethod("_device", &TensorHandle::Guarded<&TensorHandle::Device>),
          InstanceMethod("_numel", &TensorHandle::Guarded<&TensorHandle::Numel>),
          InstanceMethod("_requiresGrad", &TensorHandle::Guarded<&TensorHandle::RequiresGrad>),
          InstanceMethod("_setRequiresGrad", &TensorHandle::Guarded<&TensorHandle::SetRequiresGrad>),
          InstanceMethod("_grad", &TensorHandle::Guarded<&TensorHandle::Grad>),
          InstanceMethod("_zeroGrad", &TensorHandle::Guarded<&TensorHandle::ZeroGrad>),
          InstanceMethod("_backward", &TensorHandle::Guarded<&TensorHandle::Backward>),
          InstanceMethod("dispose", &TensorHandle::Guarded<&TensorHandle::DisposeJs>),
          InstanceMethod("_isDisposed", &TensorHandle::Guarded<&TensorHandle::IsDisposed>),
          InstanceMethod("_keep", &TensorHandle::Guarded<&TensorHandle::Keep>),
      });
}

Napi::Value TensorHandle::Unary(const Napi::CallbackInfo& info) {
  const auto& op = Lookup(kUnary, info[0], "unary op");
  return WrapTensor(info.Env(), op.fn(Get()));
}

Napi::Value TensorHandle::Binary(const Napi::CallbackInfo& info) {
  const auto& op = Lookup(kBinary, info[0], "binary op");
  at::Tensor& a = Get();
  return WrapTensor(info.Env(), op.fn(a, Operand(info[1], "other")));
}

Napi::Value TensorHandle::BinaryInplace(const Napi::CallbackInfo& info) {
  const auto& op = Lookup(kBinary, info[0], "binary op");
  if (op.inplace == nullptr) ThrowArg(std::string(op.name) + " has no in-place form");
  op.inplace(Get(), Operand(info[1], "other"));
  return info.This();
}

Napi::Value TensorHandle::Axpy(const Napi::CallbackInfo& info) {
  // this + alpha * other in one kernel (the ODE solvers' stage sums use it).
  return WrapTensor(info.Env(), at::add(Get(), UnwrapTensor(info[0], "other"), GetNumber(info[1], "alpha")));
}

Napi::Value TensorHandle::Reduce(const Napi::CallbackInfo& info) {
  const auto& op = Lookup(kReduce, info[0], "reduction");
  at::Tensor& a = Get();
  auto dims = OptDims(info[1], "dims");
  bool keep = info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
  std::vector<int64_t> all;
  if (!dims) {
    all.resize(a.dim());
    for (int64_t i = 0; i < a.dim(); ++i) all[i] = i;
  }
  return WrapTensor(info.Env(), op.fn(a, dims ? at::IntArrayRef(*dims) : at::IntArrayRef(all), keep));
}

Napi::Value TensorHandle::Norm(const Napi::CallbackInfo& info) {
  at::Tensor& a = Get();
  double p = GetNumber(info[0], "p");
  auto dims = OptDims(info[1], "dims");
  bool keep = info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
  if (!dims) return WrapTensor(info.Env(), keep ? a.norm(p, c10::IntArrayRef(std::vector<int64_t>()), true) : a.norm(p));
  return WrapTensor(info.Env(), a.norm(p, *dims, keep));
}

Napi::Value TensorHandle::Clamp(const Napi::CallbackInfo& info) {
  c10::optional<at::Scalar> lo, hi;
  if (info[0].IsNumber()) lo = info[0].As<Napi::Number>().DoubleValue();
  if (info[1].IsNumber()) hi = info[1].As<Napi::Number>().DoubleValue();
  return WrapTensor(info.Env(), Get().clamp(lo, hi));
}

Napi::Value TensorHandle::Matmul(const Napi::CallbackInfo& info) {
  return WrapTensor(info.Env(), Get().matmul(UnwrapTensor(info[0], "other")));
}

Napi::Value TensorHandle::Softmax(const Napi::CallbackInfo& info) {
  int64_t dim = GetInt(info[0], "dim");
  bool log = info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
  return WrapTensor(info.Env(), log ? Get().log_softmax(dim) : Get().softmax(dim));
}

Napi::Value TensorHandle::Reshape(const Napi::CallbackInfo& info) {
  return WrapTensor(info.Env(), Get().reshape(GetIntList(info[0], "shape")));
}
Napi::Value TensorHandle::View(const Napi::CallbackInfo& info) {
  return WrapTensor(info.Env(), Get().view(GetIntList(info[0], "shape")));
}
Napi::Value TensorHandle::Expand(const Napi::CallbackInfo& info) {
  return WrapTensor(info.Env(), Get().expand(GetIntList(info[0], "shape")));
}
Napi::Value TensorHandle::Permute(const Napi::CallbackInfo& info) {
  return WrapTensor(info.Env(), Get().permute(GetIntList(info[0], "dims")));
}
Napi::Value TensorHandle::Transpose(const Napi::CallbackInfo& info) {
  return WrapTensor(info.Env(), Get().transpose(GetInt(info[0], "dim0"), GetInt(info[1], "dim1")));
}
Napi::Value TensorHandle::Flatten(const Napi::CallbackInfo& info) {
  return WrapTensor(info.Env(), Get().flatten(GetInt(info[0], "startDim"), GetInt(info[1], "endDim")));
}
Napi::Value TensorHandle::Squeeze(const Napi::CallbackInfo& info) {
  if (info[0].IsUndefined() || info[0].IsNull()) return WrapTensor(info.Env(), Get().squeeze());
  return WrapTensor(info.Env(), Get().squeeze(GetInt(info[0], "dim")));
}
Napi::Value TensorHandle::Unsqueeze(const Napi::CallbackInfo& info) {
  return WrapTensor(info.Env(), Get().unsqueeze(GetInt(info[0], "dim")));
}
Napi::Value TensorHandle::Slice(const Napi::CallbackInfo& info) {
  c10::optional<int64_t> start, end;
  if (!info[1].IsUndefined() && !info[1].IsNull()) start = GetInt(info[1], "start");
  if (!info[2].IsUndefined() && !info[2].IsNull()) end = GetInt(info[2], "end");
  int64_t step = info[3].IsUndefined() ? 1 : GetInt(info[3], "step");
  if (step <= 0) ThrowArg("step: expected a positive integer, received " + std::to_string(step));
  return WrapTensor(info.Env(), Get().slice(GetInt(info[0], "dim"), start, end, step));
}
Napi::Value TensorHandle::Select(const Napi::CallbackInfo& info) {
  return WrapTensor(info.Env(), Get().select(GetInt(info[0], "dim"), GetInt(info[1], "index")));
}
Napi::Value TensorHandle::IndexSelect(const Napi::CallbackInfo& info) {
  return WrapTensor(info.Env(), Get().index_select(GetInt(info[0], "dim"), UnwrapTensor(info[1], "index")));
}
Napi::Value TensorHandle::Flip(const Napi::CallbackInfo& info) {
  return WrapTensor(info.Env(), Get().flip(GetIntList(info[0], "dims")));
}
Napi::Value TensorHandle::Repeat(const Napi::CallbackInfo& info) {
  return WrapTensor(info.Env(), Get().repeat(GetIntList(info[0], "repeats")));
}
Napi::Value TensorHandle::Chunk(const Napi::CallbackInfo& info) {
  return WrapTensorList(info.Env(), Get().chunk(GetInt(info[0], "chunks"), GetInt(info[1], "dim")));
}
Napi::Value TensorHandle::Contiguous(const Napi::CallbackInfo& info) {
  return WrapTensor(info.Env(), Get().contiguous());
}
Napi::Value TensorHandle::Clone(const Napi::CallbackInfo& info) { return WrapTensor(info.Env(), Get().clone()); }
Napi::Value TensorHandle::Detach(const Napi::CallbackInfo& info) { return WrapTensor(info.Env(), Get().detach()); }

Napi::Value TensorHandle::To(const Napi::CallbackInfo& info) {
  at::Tensor& a = Get();
  c10::Device dev = info[0].IsString() ? GetDevice(info[0], "device") : a.device();
  at::ScalarType dt = info[1].IsString() ? GetDType(info[1], "dtype") : a.scalar_type();
  return WrapTensor(info.Env(), a.to(dev, dt));
}

Napi::Value TensorHandle::CopyFrom(const Napi::CallbackInfo& info) {
  at::NoGradGuard no_grad;  // loading weights into parameters must not be recorded
  Get().copy_(UnwrapTensor(info[0], "source"));
  return info.This();
}

Napi::Value TensorHandle::Fill(const Napi::CallbackInfo& info) {
  at::NoGradGuard no_grad;
  Get().fill_(GetNumber(info[0], "value"));
  return info.This();
}

Napi::Value TensorHandle::Item(const Napi::CallbackInfo& info) {
  at::Tensor& a = Get();
  if (a.numel() != 1) ThrowArg("item(): expected a tensor with one element, received " + std::to_string(a.numel()));
  if (a.scalar_type() == at::kBool) return Napi::Boolean::New(info.Env(), a.item<bool>());
  return Napi::Number::New(info.Env(), a.item<double>());
}

Napi::Value TensorHandle::ToArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor c = Get().detach().to(at::kCPU).contiguous();
  size_t n = static_cast<size_t>(c.numel());
  size_t bytes = n * c.element_size();
  auto ab = Napi::ArrayBuffer::New(env, bytes);
  if (bytes) std::memcpy(ab.Data(), c.data_ptr(), bytes);
  switch (c.scalar_type()) {
    case at::kFloat: return Napi::Float32Array::New(env, n, ab, 0);
    case at::kDouble: return Napi::Float64Array::New(env, n, ab, 0);
    case at::kLong: return Napi::BigInt64Array::New(env, n, ab, 0);
    case at::kInt: return Napi::Int32Array::New(env, n, ab, 0);
    case at::kShort: return Napi::Int16Array::New(env, n, ab, 0);
    case at::kChar: return Napi::Int8Array::New(env, n, ab, 0);
    case at::kHalf: case at::kBFloat16: return Napi::Uint16Array::New(env, n, ab, 0);
    default: return Napi::Uint8Array::New(env, n, ab, 0);
  }
}

Napi::Value TensorHandle::Shape(const Napi::CallbackInfo& info) {
  auto sizes = Get().sizes();
  auto arr = Napi::Array::New(info.Env(), sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(sizes[i])));
  return arr;
}
Napi::Value TensorHandle::DType(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), DTypeName(Get().scalar_type()));
}
Napi::Value TensorHandle::Device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), DeviceName(Get().device()));
}
Napi::Value TensorHandle::Numel(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(Get().numel()));
}
Napi::Value TensorHandle::RequiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), Get().requires_grad());
}
Napi::Value TensorHandle::SetRequiresGrad(const Napi::CallbackInfo& info) {
  Get().set_requires_grad(GetBool(info[0], "requiresGrad"));
  return info.This();
}
Napi::Value TensorHandle::Grad(const Napi::CallbackInfo& info) { return WrapTensor(info.Env(), Get().grad()); }
Napi::Value TensorHandle::ZeroGrad(const Napi::CallbackInfo& info) {
  Get().mutable_grad().reset();
  return info.Env().Undefined();
}

Napi::Value TensorHandle::Backward(const Napi::CallbackInfo& info) {
  at::Tensor& a = Get();
  at::Tensor g;
  if (!info[0].IsUndefined() && !info[0].IsNull()) g = UnwrapTensor(info[0], "gradient");
  bool retain = info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
  bool create = info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
  a.backward(g, retain, create);
  return info.Env().Undefined();
}

Napi::Value TensorHandle::DisposeJs(const Napi::CallbackInfo& info) {
  ScopeRemove(this);
  Dispose();
  return info.Env().Undefined();
}
Napi::Value TensorHandle::IsDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), disposed_); }
Napi::Value TensorHandle::Keep(const Napi::CallbackInfo& info) {
  Get();
  ScopeRemove(this);
  return info.This();
}

// ---------------------------------------------------------------------------------------------------
// Free functions: creation, joins, autograd, scopes, accounting.

struct Creation { at::ScalarType dtype; c10::Device device; };
static Creation Opts(const Napi::Value& dtype, const Napi::Value& device, at::ScalarType def = at::kFloat) {
  Creation c{def, c10::Device(c10::kCPU)};
  if (dtype.IsString()) c.dtype = GetDType(dtype, "dtype");
  if (device.IsString()) c.device = GetDevice(device, "device");
  return c;
}
static at::TensorOptions ToOptions(const Creation& c) { return at::TensorOptions().dtype(c.dtype).device(c.device); }

// fromBuffer(typedArray, shape, dtype, device): copies, so the JS buffer may be reused afterwards.
static Napi::Value FromBuffer(const Napi::CallbackInfo& info) {
  if (!info[0].IsTypedArray()) ThrowArg("data: expected a typed array");
  auto ta = info[0].As<Napi::TypedArray>();
  auto shape = GetIntList(info[1], "shape");
  Creation c = Opts(info[2], info[3]);
  // Bound for a GPU: staged in pinned memory, so the upload does not block the host (ToDeviceNonBlocking).
  at::Tensor cpu = at::empty(shape, at::TensorOptions().dtype(c.dtype).pinned_memory(c.device.is_cuda()));
  size_t want = static_cast<size_t>(cpu.numel()) * cpu.element_size();
  if (want != ta.ByteLength())
    ThrowArg("data: expected " + std::to_string(want) + " bytes for shape and dtype " + DTypeName(c.dtype) +
             ", received " + std::to_string(ta.ByteLength()));
  if (want) std::memcpy(cpu.data_ptr(), static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset(), want);
  return WrapTensor(info.Env(), ToDeviceNonBlocking(cpu, c.device));
}

static Napi::Value Full(const Napi::CallbackInfo& info) {
  auto shape = GetIntList(info[0], "shape");
  double v = GetNumber(info[1], "value");
  return WrapTensor(info.Env(), at::full(shape, v, ToOptions(Opts(info[2], info[3]))));
}

static Napi::Value Arange(const Napi::CallbackInfo& info) {
  return WrapTensor(info.Env(), at::arange(GetNumber(info[0], "start"), GetNumber(info[1], "end"),
                                           GetNumber(info[2], "step"), ToOptions(Opts(info[3], info[4]))));
}

static Napi::Value Linspace(const Napi::CallbackInfo& info) {
  return WrapTensor(info.Env(), at::linspace(GetNumber(info[0], "start"), GetNumber(info[1], "end"),
                                             GetInt(info[2], "steps"), ToOptions(Opts(info[3], info[4]))));
}

static Napi::Value Cat(const Napi::CallbackInfo& info) {
  return WrapTensor(info.Env(), at::cat(UnwrapTensorList(info[0], "tensors"), GetInt(info[1], "dim")));
}
static Napi::Value Stack(const Napi::CallbackInfo& info) {
  return WrapTensor(info.Env(), at::stack(UnwrapTensorList(info[0], "tensors"), GetInt(info[1], "dim")));
}
static Napi::Value Where(const Napi::CallbackInfo& info) {
  at::Tensor cond = UnwrapTensor(info[0], "condition");
  at::Tensor a = Operand(info[1], "a");
  at::Tensor b = Operand(info[2], "b");
  return WrapTensor(info.Env(), at::where(cond.to(at::kBool), a, b));
}

// autogradGrad(outputs, inputs, gradOutputs|null, retainGraph, createGraph, allowUnused)
static Napi::Value AutogradGrad(const Napi::CallbackInfo& info) {
  auto outputs = UnwrapTensorList(info[0], "outputs");
  auto inputs = UnwrapTensorList(info[1], "inputs");
  std::vector<at::Tensor> grad_outputs;
  if (info[2].IsArray()) grad_outputs = UnwrapTensorList(info[2], "gradOutputs");
  bool create = info[4].IsBoolean() && info[4].As<Napi::Boolean>().Value();
  c10::optional<bool> retain;
  if (info[3].IsBoolean()) retain = info[3].As<Napi::Boolean>().Value();
  bool allow_unused = info[5].IsBoolean() && info[5].As<Napi::Boolean>().Value();
  auto grads = torch::autograd::grad(outputs, inputs, grad_outputs, retain, create, allow_unused);
  return WrapTensorList(info.Env(), grads);
}

static Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  bool prev = at::GradMode::is_enabled();
  at::GradMode::set_enabled(GetBool(info[0], "enabled"));
  return Napi::Boolean::New(info.Env(), prev);
}
static Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled());
}

static Napi::Value ScopeEnter(const Napi::CallbackInfo& info) {
  g_scopes.emplace_back();
  return Napi::Number::New(info.Env(), static_cast<double>(g_scopes.size()));
}

// scopeExit(keep: Tensor[]): disposes what the innermost scope created, except `keep`, which moves to
// the enclosing scope (so nested tidy() returns values outward).
static Napi::Value ScopeExit(const Napi::CallbackInfo& info) {
  if (g_scopes.empty()) ThrowArg("scopeExit: no scope is open");
  std::vector<TensorHandle*> escaping;
  if (info[0].IsArray()) {
    auto arr = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      TensorHandle* h = UnwrapHandle(arr.Get(i), "keep");
      h->escaping = true;
      escaping.push_back(h);
    }
  }
  std::vector<TensorHandle*> members = std::move(g_scopes.back());
  g_scopes.pop_back();
  for (TensorHandle* h : members) {
    if (h == nullptr) continue;
    h->in_scope = false;
    if (!h->escaping) h->Dispose();
    else if (!g_scopes.empty()) ScopeAdd(h, g_scopes.size() - 1);
  }
  for (TensorHandle* h : escaping) h->escaping = false;
  return info.Env().Undefined();
}

static Napi::Value MemoryStats(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("liveHandles", Napi::Number::New(info.Env(), static_cast<double>(g_live_handles)));
  o.Set("liveBytes", Napi::Number::New(info.Env(), static_cast<double>(g_live_bytes)));
  o.Set("openScopes", Napi::Number::New(info.Env(), static_cast<double>(g_scopes.size())));
  return o;
}

// The TS loader registers its subclass so every new handle carries the TS methods.
static Napi::Value SetTensorClass(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) ThrowArg("setTensorClass: expected a class");
  auto cls = info[0].As<Napi::Function>();
  g_ctor->Reset(cls, 1);
  return info.Env().Undefined();
}

void InitTensor(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = TensorHandle::DefineClass(env);
  // Both references live as long as the process.
  g_ctor = new Napi::FunctionReference(Napi::Persistent(cls));
  g_base = new Napi::FunctionReference(Napi::Persistent(cls));
  exports.Set("NativeTensor", cls);
  exports.Set("unaryOps", OpNames(env, kUnary));
  exports.Set("binaryOps", OpNames(env, kBinary));
  exports.Set("reduceOps", OpNames(env, kReduce));
  ExportFn(env, exports, "setTensorClass", SetTensorClass);
  ExportFn(env, exports, "fromBuffer", FromBuffer);
  ExportFn(env, exports, "full", Full);
  ExportFn(env, exports, "arange", Arange);
  ExportFn(env, exports, "linspace", Linspace);
  ExportFn(env, exports, "cat", Cat);
  ExportFn(env, exports, "stack", Stack);
  ExportFn(env, exports, "where", Where);
  ExportFn(env, exports, "autogradGrad", AutogradGrad);
  ExportFn(env, exports, "setGradEnabled", SetGradEnabled);
  ExportFn(env, exports, "isGradEnabled", IsGradEnabled);
  ExportFn(env, exports, "scopeEnter", ScopeEnter);
  ExportFn(env, exports, "scopeExit", ScopeExit);
  ExportFn(env, exports, "memoryStats", MemoryStats);
}

}  // namespace sf
