// A network call split over slices of its batch that run at once, one per intra-op thread, each slice
// single-threaded. In a likelihood solve one call's OpenMP team idles at its barriers (perf on fmnist_quick,
// 2 threads: the second thread sat in libgomp for 42 % of its samples at batch 4 and 23 % at batch 16 while
// the first ran serial dispatch, autograd and single-threaded BLAS); independent slices keep every core busy.
// Examples do not interact in these networks (GroupNorm is per example), so the result is the batched call's
// up to the rounding of a different kernel blocking.
#pragma once
#include <ATen/ATen.h>

#include <functional>

namespace sf {

using BatchFn = std::function<at::Tensor(const at::Tensor& x, const at::Tensor& labels)>;

// fn over `workers` (>= 1) contiguous slices of x (and of labels when it has x's batch size), concurrently; the
// outputs concatenated along dim 0. Under grad mode with x requiring grad, the result differentiates to x
// only (each slice's vector-Jacobian product again on its own thread): parameters receive no gradient, so
// `params_require_grad` with grad mode on and x not requiring grad (a training step) is refused.
at::Tensor BatchSplitCall(const BatchFn& fn, const at::Tensor& x, const at::Tensor& labels, int64_t workers,
                          bool params_require_grad);

}  // namespace sf
