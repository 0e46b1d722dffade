#include "pch.h"
#include "common.h"
#include "nn/batch_split.h"

#if AT_PARALLEL_OPENMP && !defined(_OPENMP)
#error "nn/batch_split.cc must be compiled with -fopenmp when libtorch uses OpenMP (CMakeLists.txt and binding.gyp add it): at::parallel_for would run the slices one after another"
#endif

namespace sf {
namespace {

struct Slice {
  int64_t start, length;
};

// As even as possible: the first n % k slices are one example longer.
std::vector<Slice> Slices(int64_t n, int64_t k) {
  std::vector<Slice> out;
  int64_t start = 0;
  for (int64_t i = 0; i < k; ++i) {
    const int64_t len = n / k + (i < n % k ? 1 : 0);
    out.push_back({start, len});
    start += len;
  }
  return out;
}

// body(i) for every slice at once, on the intra-op thread team itself (at::parallel_for, one slice per
// thread): ATen and oneDNN run nested parallel work serially, so each slice is a one-thread call, and no
// other thread competes with the team's spinning waits. Each body runs with the caller's thread-local state
// (grad mode, autocast, inference mode), which team threads do not inherit. Rethrows the first slice's error.
void ForEachSlice(size_t k, const std::function<void(size_t)>& body) {
  const at::ThreadLocalState caller;
  std::vector<std::exception_ptr> errors(k);
  at::parallel_for(0, static_cast<int64_t>(k), 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      try {
        at::ThreadLocalStateGuard state(caller);
        body(static_cast<size_t>(i));
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  });
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

at::Tensor LabelSlice(const at::Tensor& labels, int64_t batch, const Slice& s) {
  return labels.dim() > 0 && labels.size(0) == batch ? labels.narrow(0, s.start, s.length) : labels;
}

// fn on each slice at once. With `leaves`, each slice of x enters as a fresh leaf requiring grad, recorded
// under grad mode (Function::apply runs forward without it), and the leaves are returned there.
std::vector<at::Tensor> SliceOutputs(const BatchFn& fn, const at::Tensor& x, const at::Tensor& labels, int64_t k,
                                     std::vector<at::Tensor>* leaves) {
  const auto slices = Slices(x.size(0), k);
  std::vector<at::Tensor> outputs(slices.size());
  if (leaves) leaves->assign(slices.size(), at::Tensor());
  ForEachSlice(slices.size(), [&](size_t i) {
    at::Tensor xs = x.narrow(0, slices[i].start, slices[i].length);
    std::optional<at::AutoGradMode> record;
    if (leaves) {
      record.emplace(true);
      xs = (*leaves)[i] = xs.detach().requires_grad_(true);
    }
    outputs[i] = fn(xs, LabelSlice(labels, x.size(0), slices[i]));
  });
  return outputs;
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Each slice keeps its own graph (in ctx->saved_data, from a detached leaf slice of x); backward runs the
// slices' VJPs at once. The graphs are retained, so a caller may differentiate the result more than once
// (the exact divergence takes one VJP per dimension); they go with this node.
class BatchSplitFn : public torch::autograd::Function<BatchSplitFn> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& labels, const BatchFn& fn,
                            int64_t workers) {
    std::vector<at::Tensor> inputs;
    std::vector<at::Tensor> outputs = SliceOutputs(fn, x, labels, workers, &inputs);
    std::vector<at::Tensor> values;
    for (const auto& o : outputs) values.push_back(o.detach());
    ctx->saved_data["inputs"] = inputs;
    ctx->saved_data["outputs"] = outputs;
    return at::cat(values, 0);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    if (at::GradMode::is_enabled())
      throw CodedError("ERR_ARG", "forward with opts.workers > 1: higher-order gradients are not supported (use workers: 1)");
    const auto inputs = ctx->saved_data["inputs"].toTensorVector();
    const auto outputs = ctx->saved_data["outputs"].toTensorVector();
    const auto slices = Slices(grads[0].size(0), static_cast<int64_t>(inputs.size()));
    std::vector<at::Tensor> dx(inputs.size());
    ForEachSlice(inputs.size(), [&](size_t i) {
      at::Tensor g = grads[0].narrow(0, slices[i].start, slices[i].length);
      dx[i] = torch::autograd::grad({outputs[i]}, {inputs[i]}, {g}, /*retain_graph=*/true, /*create_graph=*/false,
                                    /*allow_unused=*/true)[0];
      if (!dx[i].defined()) dx[i] = at::zeros_like(inputs[i]);
    });
    return {at::cat(dx, 0), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor BatchSplitCall(const BatchFn& fn, const at::Tensor& x, const at::Tensor& labels, int64_t workers,
                          bool params_require_grad) {
  const int64_t k = std::min<int64_t>(workers, x.size(0));
  if (k <= 1 || !x.device().is_cpu()) return fn(x, labels);
  const bool grad = at::GradMode::is_enabled();
  if (grad && x.requires_grad()) return BatchSplitFn::apply(x, labels, fn, k);
  if (grad && params_require_grad)
    ThrowArg("forward with opts.workers > 1 differentiates to x only, but here only the parameters require grad "
             "(a training step?): use workers: 1, or run under noGrad");
  return at::cat(SliceOutputs(fn, x, labels, k, nullptr), 0);
}

}  // namespace sf
