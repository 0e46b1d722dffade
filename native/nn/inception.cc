// Inception-v3 feature network for sample-quality metrics (FID / IS / KID), class `InceptionModule`.
//
// Two variants, both with torchvision's module and parameter names (= PyTorch state-dict names):
//   'fid' (default): the "FID Inception" of pytorch-fid (`fid_inception_v3`): the TF graph
//        inception-2015-12-05 (the network behind TF-Hub tfgan/eval/inception and the original TTUR FID
//        code) ported to PyTorch, weights `pt_inception-2015-12-05-6726825d.pth`. torchvision's
//        Inception3(num_classes=1008, aux_logits=False) with the TF quirks in the mixed blocks:
//          Mixed_5b/5c/5d (FIDInceptionA), Mixed_6b..6e (FIDInceptionC), Mixed_7b (FIDInceptionE_1):
//            the 3x3 average-pool branch does not count the zero padding (count_include_pad=False);
//          Mixed_7c (FIDInceptionE_2): the pool branch is a 3x3 max-pool (stride 1, pad 1).
//        Mixed_6a (InceptionB) and Mixed_7a (InceptionD) are torchvision's unchanged.
//        logits: 1008-way fc (TF's softmax layer; class 0 is "background", 1001..1007 unused).
//   'torchvision': torchvision's Inception3 (ImageNet weights `inception_v3_google-*.pth`): average
//        pools count the padding, 1000-way fc, and the AuxLogits head's parameters exist (so that
//        state dict loads whole) but are unused by forward.
//
//   new InceptionModule(options?)   options: { variant?: 'fid' | 'torchvision', numClasses?: number,
//                                   seed?: number }. Weights start random (conv: He-normal, fan_in;
//                                   fc: libtorch default; batch norm: identity statistics) — useful only
//                                   for shape tests; real use loads a state dict through the handles.
//   forward(x) -> { pool3: [N,2048] float32, logits: [N,numClasses] float32 }
//       x: [N,3,H,W] NCHW. uint8 images are mapped with (x − 127.5)/127.5 (tfgan); floating inputs
//       must already be in [−1, 1]. Any H×W ≠ 299×299 is resized bilinearly to 299×299
//       (align_corners=False, as pytorch-fid's F.interpolate). Batch norm is always in eval mode
//       (running statistics, eps 1e-3). Runs on the module's device (x is moved there); grad follows
//       the caller's grad mode. pool3 is the global average of Mixed_7c; logits = fc(pool3).
//   forwardAsync(x) -> Promise<[pool3, logits]>   the same on libuv's pool
//   namedParameters(), namedBuffers() -> [name, Tensor][]   live handles (copy weights into them)
//   stateDict() -> [name, Tensor][]   PyTorch state_dict order; stateDictKeys() -> string[]
//   to(device), device(), numParameters(), variant(), numClasses(), dispose(), isDisposed()
//
// Also exported (the linear algebra the TS metrics need and the tensor API lacks):
//   linalgEigh(a) -> [eigenvalues ascending, eigenvectors as columns]   symmetric a (lower triangle used)
#include "pch.h"
#include "common.h"
#include "async.h"
#include "module_handle.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <utility>

namespace sf {
namespace {

namespace nn = torch::nn;

// conv (no bias) -> batch norm (eps 1e-3) -> relu: torchvision's BasicConv2d.
struct BasicConvImpl : nn::Module {
  nn::Conv2d conv{nullptr};
  nn::BatchNorm2d bn{nullptr};
  BasicConvImpl(int64_t in, int64_t out, std::vector<int64_t> k, std::vector<int64_t> stride = {1, 1},
                std::vector<int64_t> pad = {0, 0}) {
    if (k.size() == 1) k.push_back(k[0]);
    if (stride.size() == 1) stride.push_back(stride[0]);
    if (pad.size() == 1) pad.push_back(pad[0]);
    conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(in, out, torch::ExpandingArray<2>(k))
                                                .stride(torch::ExpandingArray<2>(stride))
                                                .padding(torch::ExpandingArray<2>(pad))
                                                .bias(false)));
    bn = register_module("bn", nn::BatchNorm2d(nn::BatchNorm2dOptions(out).eps(0.001)));
  }
  at::Tensor forward(const at::Tensor& x) {
    // Eval-mode batch norm whatever the module's train flag: the metrics network is never trained here.
    at::Tensor y = conv->forward(x);
    y = at::batch_norm(y, bn->weight, bn->bias, bn->running_mean, bn->running_var, /*training=*/false,
                       /*momentum=*/0.0, /*eps=*/0.001, /*cudnn_enabled=*/true);
    return at::relu_(y);
  }
};
TORCH_MODULE(BasicConv);

using Ints = std::vector<int64_t>;

// 3x3 stride-1 pad-1 average pool; `tf` excludes the padding from the count (TF's SAME avg pool).
at::Tensor AvgPool3(const at::Tensor& x, bool tf) {
  return at::avg_pool2d(x, {3, 3}, {1, 1}, {1, 1}, /*ceil_mode=*/false, /*count_include_pad=*/!tf);
}

struct InceptionAImpl : nn::Module {
  BasicConv branch1x1{nullptr}, branch5x5_1{nullptr}, branch5x5_2{nullptr}, branch3x3dbl_1{nullptr},
      branch3x3dbl_2{nullptr}, branch3x3dbl_3{nullptr}, branch_pool{nullptr};
  bool tf;
  InceptionAImpl(int64_t in, int64_t pool_features, bool tf_) : tf(tf_) {
    branch1x1 = register_module("branch1x1", BasicConv(in, 64, Ints{1}));
    branch5x5_1 = register_module("branch5x5_1", BasicConv(in, 48, Ints{1}));
    branch5x5_2 = register_module("branch5x5_2", BasicConv(48, 64, Ints{5}, Ints{1}, Ints{2}));
    branch3x3dbl_1 = register_module("branch3x3dbl_1", BasicConv(in, 64, Ints{1}));
    branch3x3dbl_2 = register_module("branch3x3dbl_2", BasicConv(64, 96, Ints{3}, Ints{1}, Ints{1}));
    branch3x3dbl_3 = register_module("branch3x3dbl_3", BasicConv(96, 96, Ints{3}, Ints{1}, Ints{1}));
    branch_pool = register_module("branch_pool", BasicConv(in, pool_features, Ints{1}));
  }
  at::Tensor forward(const at::Tensor& x) {
    at::Tensor b1 = branch1x1->forward(x);
    at::Tensor b5 = branch5x5_2->forward(branch5x5_1->forward(x));
    at::Tensor b3 = branch3x3dbl_3->forward(branch3x3dbl_2->forward(branch3x3dbl_1->forward(x)));
    at::Tensor bp = branch_pool->forward(AvgPool3(x, tf));
    return at::cat({b1, b5, b3, bp}, 1);
  }
};
TORCH_MODULE(InceptionA);

struct InceptionBImpl : nn::Module {
  BasicConv branch3x3{nullptr}, branch3x3dbl_1{nullptr}, branch3x3dbl_2{nullptr}, branch3x3dbl_3{nullptr};
  explicit InceptionBImpl(int64_t in) {
    branch3x3 = register_module("branch3x3", BasicConv(in, 384, Ints{3}, Ints{2}));
    branch3x3dbl_1 = register_module("branch3x3dbl_1", BasicConv(in, 64, Ints{1}));
    branch3x3dbl_2 = register_module("branch3x3dbl_2", BasicConv(64, 96, Ints{3}, Ints{1}, Ints{1}));
    branch3x3dbl_3 = register_module("branch3x3dbl_3", BasicConv(96, 96, Ints{3}, Ints{2}));
  }
  at::Tensor forward(const at::Tensor& x) {
    at::Tensor b3 = branch3x3->forward(x);
    at::Tensor bd = branch3x3dbl_3->forward(branch3x3dbl_2->forward(branch3x3dbl_1->forward(x)));
    at::Tensor bp = at::max_pool2d(x, {3, 3}, {2, 2});
    return at::cat({b3, bd, bp}, 1);
  }
};
TORCH_MODULE(InceptionB);

struct InceptionCImpl : nn::Module {
  BasicConv branch1x1{nullptr}, branch7x7_1{nullptr}, branch7x7_2{nullptr}, branch7x7_3{nullptr},
      branch7x7dbl_1{nullptr}, branch7x7dbl_2{nullptr}, branch7x7dbl_3{nullptr}, branch7x7dbl_4{nullptr},
      branch7x7dbl_5{nullptr}, branch_pool{nullptr};
  bool tf;
  InceptionCImpl(int64_t in, int64_t c7, bool tf_) : tf(tf_) {
    const Ints k17{1, 7}, k71{7, 1}, p03{0, 3}, p30{3, 0}, s1{1, 1};
    branch1x1 = register_module("branch1x1", BasicConv(in, 192, Ints{1}));
    branch7x7_1 = register_module("branch7x7_1", BasicConv(in, c7, Ints{1}));
    branch7x7_2 = register_module("branch7x7_2", BasicConv(c7, c7, k17, s1, p03));
    branch7x7_3 = register_module("branch7x7_3", BasicConv(c7, 192, k71, s1, p30));
    branch7x7dbl_1 = register_module("branch7x7dbl_1", BasicConv(in, c7, Ints{1}));
    branch7x7dbl_2 = register_module("branch7x7dbl_2", BasicConv(c7, c7, k71, s1, p30));
    branch7x7dbl_3 = register_module("branch7x7dbl_3", BasicConv(c7, c7, k17, s1, p03));
    branch7x7dbl_4 = register_module("branch7x7dbl_4", BasicConv(c7, c7, k71, s1, p30));
    branch7x7dbl_5 = register_module("branch7x7dbl_5", BasicConv(c7, 192, k17, s1, p03));
    branch_pool = register_module("branch_pool", BasicConv(in, 192, Ints{1}));
  }
  at::Tensor forward(const at::Tensor& x) {
    at::Tensor b1 = branch1x1->forward(x);
    at::Tensor b7 = branch7x7_3->forward(branch7x7_2->forward(branch7x7_1->forward(x)));
    at::Tensor bd = branch7x7dbl_1->forward(x);
    bd = branch7x7dbl_5->forward(branch7x7dbl_4->forward(branch7x7dbl_3->forward(branch7x7dbl_2->forward(bd))));
    at::Tensor bp = branch_pool->forward(AvgPool3(x, tf));
    return at::cat({b1, b7, bd, bp}, 1);
  }
};
TORCH_MODULE(InceptionC);

struct InceptionDImpl : nn::Module {
  BasicConv branch3x3_1{nullptr}, branch3x3_2{nullptr}, branch7x7x3_1{nullptr}, branch7x7x3_2{nullptr},
      branch7x7x3_3{nullptr}, branch7x7x3_4{nullptr};
  explicit InceptionDImpl(int64_t in) {
    branch3x3_1 = register_module("branch3x3_1", BasicConv(in, 192, Ints{1}));
    branch3x3_2 = register_module("branch3x3_2", BasicConv(192, 320, Ints{3}, Ints{2}));
    branch7x7x3_1 = register_module("branch7x7x3_1", BasicConv(in, 192, Ints{1}));
    branch7x7x3_2 = register_module("branch7x7x3_2", BasicConv(192, 192, Ints{1, 7}, Ints{1}, Ints{0, 3}));
    branch7x7x3_3 = register_module("branch7x7x3_3", BasicConv(192, 192, Ints{7, 1}, Ints{1}, Ints{3, 0}));
    branch7x7x3_4 = register_module("branch7x7x3_4", BasicConv(192, 192, Ints{3}, Ints{2}));
  }
  at::Tensor forward(const at::Tensor& x) {
    at::Tensor b3 = branch3x3_2->forward(branch3x3_1->forward(x));
    at::Tensor b7 = branch7x7x3_4->forward(branch7x7x3_3->forward(branch7x7x3_2->forward(branch7x7x3_1->forward(x))));
    at::Tensor bp = at::max_pool2d(x, {3, 3}, {2, 2});
    return at::cat({b3, b7, bp}, 1);
  }
};
TORCH_MODULE(InceptionD);

// Pool branch of an E block.
enum class EPool { kAvgCountPad, kAvgTf, kMax };

struct InceptionEImpl : nn::Module {
  BasicConv branch1x1{nullptr}, branch3x3_1{nullptr}, branch3x3_2a{nullptr}, branch3x3_2b{nullptr},
      branch3x3dbl_1{nullptr}, branch3x3dbl_2{nullptr}, branch3x3dbl_3a{nullptr}, branch3x3dbl_3b{nullptr},
      branch_pool{nullptr};
  EPool pool;
  InceptionEImpl(int64_t in, EPool pool_) : pool(pool_) {
    const Ints k13{1, 3}, k31{3, 1}, p01{0, 1}, p10{1, 0}, s1{1, 1};
    branch1x1 = register_module("branch1x1", BasicConv(in, 320, Ints{1}));
    branch3x3_1 = register_module("branch3x3_1", BasicConv(in, 384, Ints{1}));
    branch3x3_2a = register_module("branch3x3_2a", BasicConv(384, 384, k13, s1, p01));
    branch3x3_2b = register_module("branch3x3_2b", BasicConv(384, 384, k31, s1, p10));
    branch3x3dbl_1 = register_module("branch3x3dbl_1", BasicConv(in, 448, Ints{1}));
    branch3x3dbl_2 = register_module("branch3x3dbl_2", BasicConv(448, 384, Ints{3}, s1, Ints{1}));
    branch3x3dbl_3a = register_module("branch3x3dbl_3a", BasicConv(384, 384, k13, s1, p01));
    branch3x3dbl_3b = register_module("branch3x3dbl_3b", BasicConv(384, 384, k31, s1, p10));
    branch_pool = register_module("branch_pool", BasicConv(in, 192, Ints{1}));
  }
  at::Tensor forward(const at::Tensor& x) {
    at::Tensor b1 = branch1x1->forward(x);
    at::Tensor b3 = branch3x3_1->forward(x);
    b3 = at::cat({branch3x3_2a->forward(b3), branch3x3_2b->forward(b3)}, 1);
    at::Tensor bd = branch3x3dbl_2->forward(branch3x3dbl_1->forward(x));
    bd = at::cat({branch3x3dbl_3a->forward(bd), branch3x3dbl_3b->forward(bd)}, 1);
    at::Tensor pooled = pool == EPool::kMax ? at::max_pool2d(x, {3, 3}, {1, 1}, {1, 1})
                                            : AvgPool3(x, pool == EPool::kAvgTf);
    at::Tensor bp = branch_pool->forward(pooled);
    return at::cat({b1, b3, bd, bp}, 1);
  }
};
TORCH_MODULE(InceptionE);

// torchvision's InceptionAux: parameters only (registered so ImageNet state dicts load whole).
struct InceptionAuxImpl : nn::Module {
  BasicConv conv0{nullptr}, conv1{nullptr};
  nn::Linear fc{nullptr};
  InceptionAuxImpl(int64_t in, int64_t num_classes) {
    conv0 = register_module("conv0", BasicConv(in, 128, Ints{1}));
    conv1 = register_module("conv1", BasicConv(128, 768, Ints{5}));
    fc = register_module("fc", nn::Linear(768, num_classes));
  }
};
TORCH_MODULE(InceptionAux);

struct InceptionOptions {
  std::string variant = "fid";
  int64_t num_classes = 0;  // 0: the variant's default (1008 / 1000)
  c10::optional<uint64_t> seed;
};

class InceptionV3 : public nn::Module {
 public:
  explicit InceptionV3(const InceptionOptions& o) : variant_(o.variant) {
    const bool fid = variant_ == "fid";
    if (!fid && variant_ != "torchvision")
      ThrowArg("InceptionModule: options.variant must be 'fid' or 'torchvision', got '" + variant_ + "'");
    num_classes_ = o.num_classes > 0 ? o.num_classes : (fid ? 1008 : 1000);
    Conv2d_1a_3x3 = register_module("Conv2d_1a_3x3", BasicConv(3, 32, Ints{3}, Ints{2}));
    Conv2d_2a_3x3 = register_module("Conv2d_2a_3x3", BasicConv(32, 32, Ints{3}));
    Conv2d_2b_3x3 = register_module("Conv2d_2b_3x3", BasicConv(32, 64, Ints{3}, Ints{1}, Ints{1}));
    Conv2d_3b_1x1 = register_module("Conv2d_3b_1x1", BasicConv(64, 80, Ints{1}));
    Conv2d_4a_3x3 = register_module("Conv2d_4a_3x3", BasicConv(80, 192, Ints{3}));
    Mixed_5b = register_module("Mixed_5b", InceptionA(192, 32, fid));
    Mixed_5c = register_module("Mixed_5c", InceptionA(256, 64, fid));
    Mixed_5d = register_module("Mixed_5d", InceptionA(288, 64, fid));
    Mixed_6a = register_module("Mixed_6a", InceptionB(288));
    Mixed_6b = register_module("Mixed_6b", InceptionC(768, 128, fid));
    Mixed_6c = register_module("Mixed_6c", InceptionC(768, 160, fid));
    Mixed_6d = register_module("Mixed_6d", InceptionC(768, 160, fid));
    Mixed_6e = register_module("Mixed_6e", InceptionC(768, 192, fid));
    // torchvision registers AuxLogits between Mixed_6e and Mixed_7a (state-dict order follows).
    if (!fid) AuxLogits = register_module("AuxLogits", InceptionAux(768, num_classes_));
    Mixed_7a = register_module("Mixed_7a", InceptionD(768));
    Mixed_7b = register_module("Mixed_7b", InceptionE(1280, fid ? EPool::kAvgTf : EPool::kAvgCountPad));
    Mixed_7c = register_module("Mixed_7c", InceptionE(2048, fid ? EPool::kMax : EPool::kAvgCountPad));
    fc = register_module("fc", nn::Linear(2048, num_classes_));
    InitWeights(o.seed);
    eval();
  }

  std::pair<at::Tensor, at::Tensor> Forward(at::Tensor x) {
    TORCH_CHECK(x.dim() == 4 && x.size(1) == 3, "InceptionModule.forward: x must be [N, 3, H, W], got ",
                x.sizes());
    const c10::Device dev = device();
    if (x.scalar_type() == at::kByte) {
      x = x.to(dev).to(at::kFloat).sub_(127.5).div_(127.5);
    } else {
      TORCH_CHECK(at::isFloatingType(x.scalar_type()),
                  "InceptionModule.forward: x must be uint8 images or floats in [-1, 1], got ", x.scalar_type());
      x = x.to(dev, at::kFloat);
    }
    if (x.size(2) != 299 || x.size(3) != 299)
      x = at::upsample_bilinear2d(x, {299, 299}, /*align_corners=*/false, c10::nullopt, c10::nullopt);
    x = Conv2d_1a_3x3->forward(x);   // 32 x 149 x 149
    x = Conv2d_2a_3x3->forward(x);   // 32 x 147 x 147
    x = Conv2d_2b_3x3->forward(x);   // 64 x 147 x 147
    x = at::max_pool2d(x, {3, 3}, {2, 2});  // 64 x 73 x 73
    x = Conv2d_3b_1x1->forward(x);   // 80 x 73 x 73
    x = Conv2d_4a_3x3->forward(x);   // 192 x 71 x 71
    x = at::max_pool2d(x, {3, 3}, {2, 2});  // 192 x 35 x 35
    x = Mixed_5b->forward(x);        // 256 x 35 x 35
    x = Mixed_5c->forward(x);        // 288
    x = Mixed_5d->forward(x);        // 288
    x = Mixed_6a->forward(x);        // 768 x 17 x 17
    x = Mixed_6b->forward(x);
    x = Mixed_6c->forward(x);
    x = Mixed_6d->forward(x);
    x = Mixed_6e->forward(x);
    x = Mixed_7a->forward(x);        // 1280 x 8 x 8
    x = Mixed_7b->forward(x);        // 2048 x 8 x 8
    x = Mixed_7c->forward(x);        // 2048 x 8 x 8
    at::Tensor pool3 = x.mean({2, 3});  // adaptive average pool to 1x1, flattened
    at::Tensor logits = fc->forward(pool3);
    return {pool3, logits};
  }

  // PyTorch state_dict order: a module's own parameters, its own buffers, then its children.
  std::vector<std::pair<std::string, at::Tensor>> StateDictEntries() const {
    std::vector<std::pair<std::string, at::Tensor>> out;
    Walk(*this, "", out);
    return out;
  }

  int64_t NumParameters() const {
    int64_t n = 0;
    for (const auto& p : parameters(true)) n += p.numel();
    return n;
  }

  c10::Device device() const { return fc->weight.device(); }
  const std::string& variant() const { return variant_; }
  int64_t num_classes() const { return num_classes_; }

 private:
  static void Walk(const nn::Module& m, const std::string& prefix,
                   std::vector<std::pair<std::string, at::Tensor>>& out) {
    for (const auto& kv : m.named_parameters(false)) out.emplace_back(prefix + kv.key(), kv.value());
    for (const auto& kv : m.named_buffers(false)) out.emplace_back(prefix + kv.key(), kv.value());
    for (const auto& kv : m.named_children()) Walk(*kv.value(), prefix + kv.key() + ".", out);
  }

  void InitWeights(c10::optional<uint64_t> seed) {
    at::Generator gen = seed ? at::make_generator<at::CPUGeneratorImpl>(*seed) : at::detail::getDefaultCPUGenerator();
    at::NoGradGuard no_grad;
    for (auto& kv : named_parameters(true)) {
      const std::string& name = kv.key();
      at::Tensor& p = kv.value();
      const bool is_conv = name.size() > 11 && name.compare(name.size() - 11, 11, "conv.weight") == 0;
      if (is_conv) {
        const double fan_in = static_cast<double>(p.numel() / p.size(0));
        p.normal_(0.0, std::sqrt(2.0 / fan_in), gen);
      } else if (p.dim() == 2) {  // fc weights
        const double bound = 1.0 / std::sqrt(static_cast<double>(p.size(1)));
        p.uniform_(-bound, bound, gen);
      } else if (name.size() > 9 && name.compare(name.size() - 9, 9, "bn.weight") == 0) {
        p.fill_(1.0);
      } else {
        p.zero_();
      }
    }
  }

  std::string variant_;
  int64_t num_classes_ = 1008;

 public:
  BasicConv Conv2d_1a_3x3{nullptr}, Conv2d_2a_3x3{nullptr}, Conv2d_2b_3x3{nullptr}, Conv2d_3b_1x1{nullptr},
      Conv2d_4a_3x3{nullptr};
  InceptionA Mixed_5b{nullptr}, Mixed_5c{nullptr}, Mixed_5d{nullptr};
  InceptionB Mixed_6a{nullptr};
  InceptionC Mixed_6b{nullptr}, Mixed_6c{nullptr}, Mixed_6d{nullptr}, Mixed_6e{nullptr};
  InceptionAux AuxLogits{nullptr};
  InceptionD Mixed_7a{nullptr};
  InceptionE Mixed_7b{nullptr}, Mixed_7c{nullptr};
  nn::Linear fc{nullptr};
};

InceptionOptions ReadOptions(const Napi::Value& v) {
  InceptionOptions o;
  if (v.IsUndefined() || v.IsNull()) return o;
  if (!v.IsObject() || v.IsArray()) ThrowArg("InceptionModule: options must be a plain object");
  Napi::Object obj = v.As<Napi::Object>();
  auto field = [&](const char* k) -> Napi::Value {
    if (!obj.Has(k)) return obj.Env().Undefined();
    return obj.Get(k);
  };
  Napi::Value variant = field("variant");
  if (!variant.IsUndefined() && !variant.IsNull()) o.variant = GetString(variant, "options.variant");
  Napi::Value nc = field("numClasses");
  if (!nc.IsUndefined() && !nc.IsNull()) {
    o.num_classes = GetInt(nc, "options.numClasses");
    if (o.num_classes < 1) ThrowArg("options.numClasses: expected a positive integer");
  }
  Napi::Value seed = field("seed");
  if (!seed.IsUndefined() && !seed.IsNull()) {
    int64_t s = GetInt(seed, "options.seed");
    if (s < 0) ThrowArg("options.seed: expected a non-negative integer");
    o.seed = static_cast<uint64_t>(s);
  }
  return o;
}

class InceptionModule : public ModuleHandle<InceptionModule, InceptionV3> {
 public:
  static constexpr const char* kName = "InceptionModule";
  static Napi::Function Define(Napi::Env env) {
    Props props = CommonMethods();
    props.push_back(InstanceMethod<&InceptionModule::Forward>("forward"));
    props.push_back(InstanceMethod<&InceptionModule::ForwardAsync>("forwardAsync"));
    props.push_back(InstanceMethod<&InceptionModule::Variant>("variant"));
    props.push_back(InstanceMethod<&InceptionModule::NumClasses>("numClasses"));
    return DefineClass(env, "InceptionModule", props);
  }

  explicit InceptionModule(const Napi::CallbackInfo& info) : ModuleHandle(info) {
    try {
      net_ = std::make_shared<InceptionV3>(ReadOptions(info[0]));
    } catch (...) {
      throw ToJsError(info.Env(), std::current_exception());
    }
  }

 private:
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      auto out = Net().Forward(UnwrapTensor(info[0], "x"));
      Napi::Object o = Napi::Object::New(info.Env());
      o.Set("pool3", WrapTensor(info.Env(), out.first));
      o.Set("logits", WrapTensor(info.Env(), out.second));
      return o;
    });
  }

  Napi::Value ForwardAsync(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      Net();
      std::shared_ptr<InceptionV3> net = net_;  // alive even if JS disposes the module meanwhile
      at::Tensor x = UnwrapTensor(info[0], "x");
      return TensorJob::Run(
          info.Env(),
          [net, x]() {
            auto out = net->Forward(x);
            return std::vector<at::Tensor>{out.first, out.second};
          },
          /*single=*/false);
    });
  }

  Napi::Value Variant(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value { return Napi::String::New(info.Env(), Net().variant()); });
  }

  Napi::Value NumClasses(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      return Napi::Number::New(info.Env(), static_cast<double>(Net().num_classes()));
    });
  }
};

Napi::Value LinalgEigh(const Napi::CallbackInfo& info) {
  const at::Tensor& a = UnwrapTensor(info[0], "a");
  if (a.dim() != 2 || a.size(0) != a.size(1)) ThrowArg("linalgEigh: a must be a square matrix");
  if (!at::isFloatingType(a.scalar_type())) ThrowArg("linalgEigh: a must be floating point");
  auto r = at::linalg_eigh(a, "L");
  return WrapTensorList(info.Env(), {std::get<0>(r), std::get<1>(r)});
}

}  // namespace

void InitInception(Napi::Env env, Napi::Object exports) {
  exports.Set("InceptionModule", InceptionModule::Define(env));
  ExportFn(env, exports, "linalgEigh", LinalgEigh);
}

}  // namespace sf
