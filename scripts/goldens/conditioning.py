"""Conditioning check for gradient goldens of piecewise-linear networks (torch only).

A golden gradient is only reproducible if no input of a kink nonlinearity (relu, leaky relu, abs, clamp,
ELU with alpha != 1, ...) lies so close to its kink that float32 rounding can move it across: the slope
there (1 or 0.2 for a leaky relu) then depends on the summation order (threads, BLAS, CPU ISA), and the
vector-Jacobian product changes by far more than any sensible tolerance while the forward output does not.

`check_conditioning` runs a module twice on the same inputs, in float32 and in float64, records the input
of every call of a kink nonlinearity (every call separately, in order: one activation instance is often
reused across a whole network), and compares:

    noise  = max |x32 - x64|           over the elements of that call's input (the float32 rounding noise
                                        accumulated up to that layer on this machine)
    margin = min |x64 - kink|          over the elements and the kink points of that call (float64)
    ratio  = margin / noise

A call passes when ratio >= min_ratio (default 100) and margin >= min_margin (default 1e-4). A golden
passes when every call passes.

Kinks are seen in two ways: forward pre-hooks on modules of the given kink types (nn.ReLU, nn.LeakyReLU,
...), and a TorchFunctionMode that sees functional calls (F.relu, torch.abs, Tensor.clamp, torch.maximum,
...) made outside those modules. The float64 run also promotes tensors that the model's code creates in
float32 on purpose (`torch.arange(..., dtype=torch.float32)`, `.float()`, `torch.tensor(numpy float32)`),
so that it is a float64 run of the whole computation and not only of the parameters.

This module never imports any reference code: the caller builds the model (with the reference checkout of
their own) and passes it in. See README.md next to this file.

    python3 -m scripts.goldens.conditioning --self-test      # runs a small built-in example
"""
from __future__ import annotations

import copy
import math
import os
import platform
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

DEFAULT_MIN_RATIO = 100.0
DEFAULT_MIN_MARGIN = 1e-4

Point = Union[float, torch.Tensor]

# ---------------------------------------------------------------------------------------------------------
# Kink points of modules and functions. Each returns the kink points of the call, or None when the call
# has no kink in its first derivative (ELU/CELU with alpha = 1 are C1; leaky relu with slope 1 is linear).


def _arg(args: Sequence[Any], kwargs: Mapping[str, Any], i: int, name: str, default: Any) -> Any:
    if len(args) > i:
        return args[i]
    return kwargs.get(name, default)


def _leaky_points(slope: float) -> Optional[List[Point]]:
    return None if float(slope) == 1.0 else [0.0]


def _elu_points(alpha: float) -> Optional[List[Point]]:
    return None if float(alpha) == 1.0 else [0.0]


MODULE_KINKS: Dict[type, Callable[[nn.Module], Optional[List[Point]]]] = {
    nn.ReLU: lambda m: [0.0],
    nn.LeakyReLU: lambda m: _leaky_points(m.negative_slope),
    nn.PReLU: lambda m: [0.0],
    nn.RReLU: lambda m: [0.0],
    nn.ELU: lambda m: _elu_points(m.alpha),
    nn.SELU: lambda m: [0.0],
    nn.ReLU6: lambda m: [0.0, 6.0],
    nn.Hardtanh: lambda m: [float(m.min_val), float(m.max_val)],
    nn.Hardswish: lambda m: [-3.0, 3.0],
    nn.Hardsigmoid: lambda m: [-3.0, 3.0],
    nn.Threshold: lambda m: [float(m.threshold)],
    nn.Hardshrink: lambda m: [-float(m.lambd), float(m.lambd)],
    nn.Softshrink: lambda m: [-float(m.lambd), float(m.lambd)],
}
# nn.CELU is C1 for every alpha; nn.SiLU / GELU / Softplus / Tanh / Sigmoid are smooth.
DEFAULT_KINK_MODULES: Tuple[type, ...] = tuple(MODULE_KINKS)


def _clamp_points(args, kwargs) -> List[Point]:
    lo = _arg(args, kwargs, 1, 'min', None)
    hi = _arg(args, kwargs, 2, 'max', None)
    return [p for p in (lo, hi) if p is not None]


# func -> (x, points) extractor: x is the tensor whose distance to the points is the margin.
_FN: Dict[Any, Callable[[Sequence[Any], Mapping[str, Any]], Optional[Tuple[torch.Tensor, List[Point]]]]] = {}


def _reg(funcs: Iterable[Any], extractor) -> None:
    for f in funcs:
        if f is not None:
            _FN[f] = extractor


def _g(obj: Any, name: str) -> Any:
    return getattr(obj, name, None)


_T = torch.Tensor
_reg([F.relu, _g(F, 'relu_'), torch.relu, _g(torch, 'relu_'), _T.relu, _g(_T, 'relu_'), F.prelu, F.rrelu,
      _g(F, 'rrelu_'), F.selu, _g(F, 'selu_'), torch.abs, _g(torch, 'absolute'), _T.abs, _g(_T, 'abs_'),
      _g(_T, 'absolute'), _g(torch, 'abs_')],
     lambda a, k: (a[0], [0.0]))
_reg([F.leaky_relu, _g(F, 'leaky_relu_')],
     lambda a, k: (lambda p: None if p is None else (a[0], p))(_leaky_points(_arg(a, k, 1, 'negative_slope', 0.01))))
_reg([F.elu, _g(F, 'elu_')],
     lambda a, k: (lambda p: None if p is None else (a[0], p))(_elu_points(_arg(a, k, 1, 'alpha', 1.0))))
_reg([F.relu6], lambda a, k: (a[0], [0.0, 6.0]))
_reg([F.hardtanh, _g(F, 'hardtanh_')],
     lambda a, k: (a[0], [float(_arg(a, k, 1, 'min_val', -1.0)), float(_arg(a, k, 2, 'max_val', 1.0))]))
_reg([F.hardswish, F.hardsigmoid], lambda a, k: (a[0], [-3.0, 3.0]))
_reg([F.threshold, _g(F, 'threshold_')], lambda a, k: (a[0], [float(_arg(a, k, 1, 'threshold', 0.0))]))
_reg([F.hardshrink, _g(F, 'softshrink'), _g(torch, 'hardshrink'), _g(_T, 'hardshrink')],
     lambda a, k: (a[0], [-float(_arg(a, k, 1, 'lambd', 0.5)), float(_arg(a, k, 1, 'lambd', 0.5))]))
_reg([torch.clamp, _g(torch, 'clip'), _T.clamp, _g(_T, 'clamp_'), _g(_T, 'clip'), _g(_T, 'clip_'),
      _g(torch, 'clamp_')],
     lambda a, k: (a[0], _clamp_points(a, k)))
_reg([_g(torch, 'clamp_min'), _g(_T, 'clamp_min'), _g(_T, 'clamp_min_')],
     lambda a, k: (a[0], [_arg(a, k, 1, 'min', 0.0)]))
_reg([_g(torch, 'clamp_max'), _g(_T, 'clamp_max'), _g(_T, 'clamp_max_')],
     lambda a, k: (a[0], [_arg(a, k, 1, 'max', 0.0)]))


def _binary(a, k):
    # maximum/minimum(a, b) and max/min(a, b): the kink is a == b, so the margin is |a - b|.
    if len(a) >= 2 and isinstance(a[0], torch.Tensor) and isinstance(a[1], torch.Tensor):
        return (a[0] - a[1], [0.0])
    other = k.get('other')
    if len(a) >= 1 and isinstance(a[0], torch.Tensor) and isinstance(other, torch.Tensor):
        return (a[0] - other, [0.0])
    return None  # reductions (max over a dim) are not pointwise kinks


_reg([torch.maximum, torch.minimum, _g(torch, 'fmax'), _g(torch, 'fmin'), _T.maximum, _T.minimum,
      torch.max, torch.min, _T.max, _T.min], _binary)
FUNCTIONAL_KINKS = _FN

# ---------------------------------------------------------------------------------------------------------
# Recording


@dataclass
class KinkCall:
    index: int          # order of the call in the forward pass
    kind: str           # module class or function name
    site: str           # qualified name of the enclosing module (the one whose forward made the call)
    module: str         # qualified name of the kink module ('' for functional calls)
    after: str          # the last module that finished before this call (usually the producer of x)
    shape: List[int]
    points: List[Point]
    x: torch.Tensor     # a float64 copy of the input (detached unless the graph is kept)


def _points_desc(points: List[Point]) -> List[Union[float, str]]:
    return [float(p) if not isinstance(p, torch.Tensor) else 'tensor%s' % list(p.shape) for p in points]


class _Recorder(TorchFunctionMode):
    """Records kink calls; with promote=True also turns float32 requests and results into float64."""

    def __init__(self, names: Dict[int, str], kink_modules: Mapping[type, Callable], functional: bool,
                 promote: bool, keep_graph: bool = False):
        super().__init__()
        self.keep_graph = keep_graph
        self.names = names
        self.kink_modules = kink_modules
        self.functional = functional
        self.promote = promote
        self.calls: List[KinkCall] = []
        self.c1_skipped: Dict[str, int] = {}   # kink-type calls without a first-derivative kink (ELU alpha=1)
        self.stack: List[str] = []
        self.last_done = ''
        self.inside_kink = 0
        self.handles: List[Any] = []

    # -- module hooks ------------------------------------------------------------------------------------
    def attach(self, model: nn.Module) -> None:
        for mod in {id(m): m for m in model.modules()}.values():
            self.handles.append(mod.register_forward_pre_hook(self._pre))
            self.handles.append(mod.register_forward_hook(self._post))

    def detach(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []

    def _kink_fn(self, mod: nn.Module) -> Optional[Callable]:
        for t in type(mod).__mro__:
            if t in self.kink_modules:
                return self.kink_modules[t]
        return None

    def _pre(self, mod: nn.Module, inputs: Tuple[Any, ...]) -> None:
        name = self.names.get(id(mod), type(mod).__name__)
        fn = self._kink_fn(mod)
        if fn is not None:
            points = fn(mod)
            if points is None:
                self.c1_skipped[type(mod).__name__] = self.c1_skipped.get(type(mod).__name__, 0) + 1
            elif inputs and isinstance(inputs[0], torch.Tensor):
                self._record(type(mod).__name__, name, inputs[0], points)
            self.inside_kink += 1
        self.stack.append(name)

    def _post(self, mod: nn.Module, inputs: Tuple[Any, ...], output: Any) -> None:
        self.stack.pop()
        if self._kink_fn(mod) is not None:
            self.inside_kink -= 1
        else:
            self.last_done = self.names.get(id(mod), type(mod).__name__)

    def _record(self, kind: str, module: str, x: torch.Tensor, points: List[Point]) -> None:
        site = self.stack[-1] if self.stack else '<top>'
        pts = [p.detach().to(torch.float64).clone() if isinstance(p, torch.Tensor) else float(p) for p in points]
        xs = x.to(torch.float64).clone() if self.keep_graph else x.detach().to(torch.float64).clone()
        self.calls.append(KinkCall(len(self.calls), kind, site, module, self.last_done, list(x.shape), pts, xs))

    # -- functional calls and float64 promotion ---------------------------------------------------------
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if self.promote:
            func, args, kwargs = _promote_call(func, args, kwargs)
        if self.functional and self.inside_kink == 0 and func in FUNCTIONAL_KINKS:
            got = FUNCTIONAL_KINKS[func](args, kwargs)
            fname = getattr(func, '__name__', str(func))
            if got is None and func in (F.elu, getattr(F, 'elu_', None), F.leaky_relu, getattr(F, 'leaky_relu_', None)):
                self.c1_skipped[fname] = self.c1_skipped.get(fname, 0) + 1
            if got is not None and isinstance(got[0], torch.Tensor) and got[0].is_floating_point() and got[1]:
                self._record(fname, '', got[0], got[1])
        out = func(*args, **kwargs)
        if self.promote:
            out = _tree(out, _to64)
        return out


def _to64(v: Any) -> Any:
    if isinstance(v, torch.Tensor) and v.dtype in (torch.float32, torch.float16, torch.bfloat16):
        return v.to(torch.float64)
    if v is torch.float32 or v is torch.float16 or v is torch.bfloat16:
        return torch.float64
    return v


def _tree(v: Any, fn: Callable[[Any], Any]) -> Any:
    """Apply fn to the leaves of tuples/lists/dicts; containers without a changed leaf are returned as they are
    (torch.Size and structseq results keep their type)."""
    if isinstance(v, (tuple, list)):
        new = [_tree(e, fn) for e in v]
        if all(a is b for a, b in zip(new, v)):
            return v
        if type(v) in (tuple, list):
            return type(v)(new)
        try:
            return type(v)(new)
        except TypeError:
            return tuple(new)
    if isinstance(v, dict):
        return {k: _tree(e, fn) for k, e in v.items()}
    return fn(v)


_DOWNCASTS = {getattr(torch.Tensor, n) for n in ('float', 'half', 'bfloat16') if hasattr(torch.Tensor, n)}


def _promote_call(func, args, kwargs):
    """float32 dtype requests -> float64, .float() -> .double(), float32 tensor arguments (constants created
    outside the mode) -> float64; in-place calls keep their tensor arguments (they must write in place)."""
    if func in _DOWNCASTS:
        return torch.Tensor.double, args, kwargs
    inplace = getattr(func, '__name__', '').endswith('_') or kwargs.get('inplace', False) is True
    args = tuple(a if isinstance(a, torch.Tensor) and inplace else _to64(a) for a in args)
    if 'dtype' in kwargs:
        kwargs['dtype'] = _to64(kwargs['dtype'])
    return func, args, kwargs


# ---------------------------------------------------------------------------------------------------------
# Result


@dataclass
class CallResult:
    index: int
    kind: str
    site: str
    module: str
    after: str
    shape: List[int]
    points: List[Union[float, str]]
    elements: int
    margin: float        # min |x64 - kink| (float64)
    noise: float         # max |x32 - x64|
    ratio: float         # margin / noise (inf when noise == 0)
    argmin: List[int]    # element of the smallest margin
    x64_at_argmin: float
    x32_at_argmin: float
    within_ratio: int    # elements with |x64 - kink| < min_ratio * noise
    within_margin: int   # elements with |x64 - kink| < min_margin
    passed: bool

    def label(self) -> str:
        who = self.module or self.kind
        return f'#{self.index} {self.site} {who}({self.after})'


@dataclass
class ConditioningResult:
    min_ratio: float
    min_margin: float
    calls: List[CallResult]
    output_noise: float
    environment: Dict[str, Any] = field(default_factory=dict)
    c1_skipped: Dict[str, int] = field(default_factory=dict)   # calls of kink types that are C1 here

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.calls)

    @property
    def worst_margin(self) -> Optional[CallResult]:
        return min(self.calls, key=lambda c: c.margin) if self.calls else None

    @property
    def worst_ratio(self) -> Optional[CallResult]:
        return min(self.calls, key=lambda c: c.ratio) if self.calls else None

    def failures(self) -> List[CallResult]:
        return [c for c in self.calls if not c.passed]

    def to_json(self, per_call: bool = True) -> Dict[str, Any]:
        """A JSON-serialisable record (floats rounded to 4 significant digits; inf written as null)."""
        def num(v: float) -> Optional[float]:
            return None if not math.isfinite(v) else float('%.4g' % v)

        by_kind: Dict[str, Dict[str, Any]] = {}
        for c in self.calls:
            k = by_kind.setdefault(c.kind, {'calls': 0, 'elements': 0, 'min_margin': math.inf, 'max_noise': 0.0,
                                            'min_ratio': math.inf})
            k['calls'] += 1
            k['elements'] += c.elements
            k['min_margin'] = min(k['min_margin'], c.margin)
            k['max_noise'] = max(k['max_noise'], c.noise)
            k['min_ratio'] = min(k['min_ratio'], c.ratio)
        wm, wr = self.worst_margin, self.worst_ratio
        rec: Dict[str, Any] = {
            'rule': ('every input element of every kink-nonlinearity call is at least max(min_ratio * noise, '
                     'min_margin) from its kink, in float64; noise = max |x32 - x64| over that call\'s input '
                     'between a float32 and a float64 run of the same model and inputs'),
            'thresholds': {'min_ratio': self.min_ratio, 'min_margin_float64': self.min_margin},
            'passed': self.passed,
            'kink_calls': len(self.calls),
            'kink_elements': sum(c.elements for c in self.calls),
            'min_margin': num(wm.margin) if wm else None,
            'min_margin_at': wm.label() if wm else None,
            'min_ratio': num(wr.ratio) if wr else None,
            'min_ratio_at': wr.label() if wr else None,
            'noise_at_min_ratio': num(wr.noise) if wr else None,
            'max_noise': num(max((c.noise for c in self.calls), default=0.0)),
            'output_noise': num(self.output_noise),
            'c1_calls_not_checked': dict(self.c1_skipped),
            'by_kind': {k: {'calls': v['calls'], 'elements': v['elements'], 'min_margin': num(v['min_margin']),
                            'max_noise': num(v['max_noise']), 'min_ratio': num(v['min_ratio'])}
                        for k, v in by_kind.items()},
        }
        if per_call:
            rec['layers'] = [{'call': c.index, 'site': c.site, 'kind': c.kind, 'after': c.after,
                              'elements': c.elements, 'min_margin': num(c.margin), 'noise': num(c.noise),
                              'ratio': num(c.ratio), 'passed': c.passed} for c in self.calls]
        if self.environment:
            rec['environment'] = self.environment
        return rec

    def report(self) -> str:
        lines = [f'{"call":>4} {"margin":>10} {"noise":>10} {"ratio":>10}  pass  site / module(after)']
        for c in self.calls:
            lines.append(f'{c.index:>4} {c.margin:10.3e} {c.noise:10.3e} {c.ratio:10.3e}  '
                         f'{"ok  " if c.passed else "FAIL"}  {c.site} {c.module or c.kind}({c.after})')
        wm, wr = self.worst_margin, self.worst_ratio
        if wm is not None and wr is not None:
            lines.append(f'min margin {wm.margin:.3e} at {wm.label()}; min ratio {wr.ratio:.3e} at {wr.label()}; '
                         f'output noise {self.output_noise:.3e}')
        lines.append(f'{"PASSED" if self.passed else "FAILED"} (min_ratio {self.min_ratio:g}, '
                     f'min_margin {self.min_margin:g}; {len(self.calls)} kink calls)')
        return '\n'.join(lines)


# ---------------------------------------------------------------------------------------------------------
# Entry point


def _kink_map(kink_modules: Union[None, Iterable[type], Mapping[type, Callable]]) -> Dict[type, Callable]:
    if kink_modules is None:
        return dict(MODULE_KINKS)
    if isinstance(kink_modules, Mapping):
        return dict(kink_modules)
    out: Dict[type, Callable] = {}
    for t in kink_modules:
        fn = None
        for base in t.__mro__:
            if base in MODULE_KINKS:
                fn = MODULE_KINKS[base]
                break
        if fn is None:
            raise ValueError(f'no kink points known for {t.__name__}: pass a mapping {{type: fn(module) -> points}}')
        out[t] = fn
    return out


def _run(model: nn.Module, inputs: Tuple[Any, ...], kinks: Dict[type, Callable], functional: bool,
         promote: bool, forward: Optional[Callable], keep_graph: bool = False) -> Tuple[Any, List[KinkCall]]:
    names = {}
    for name, mod in model.named_modules():
        names.setdefault(id(mod), name or '<model>')
    rec = _Recorder(names, kinks, functional, promote, keep_graph)
    rec.attach(model)
    old_default = torch.get_default_dtype()
    try:
        if promote:
            torch.set_default_dtype(torch.float64)
        with torch.set_grad_enabled(keep_graph), rec:
            out = forward(model, *inputs) if forward is not None else model(*inputs)
    finally:
        torch.set_default_dtype(old_default)
        rec.detach()
    return out, rec.calls, rec.c1_skipped


def _first_tensor(v: Any) -> Optional[torch.Tensor]:
    if isinstance(v, torch.Tensor):
        return v
    if isinstance(v, (tuple, list)):
        for e in v:
            t = _first_tensor(e)
            if t is not None:
                return t
    if isinstance(v, dict):
        return _first_tensor(list(v.values()))
    return None


def check_conditioning(model: nn.Module, inputs: Sequence[Any],
                       kink_modules: Union[None, Iterable[type], Mapping[type, Callable]] = None, *,
                       min_ratio: float = DEFAULT_MIN_RATIO, min_margin: float = DEFAULT_MIN_MARGIN,
                       functional: bool = True, promote: bool = True,
                       forward: Optional[Callable] = None, record_environment: bool = True) -> ConditioningResult:
    """Run `model(*inputs)` in float32 and in float64 and measure how close every kink input comes to its kink.

    model:        a float32 module in eval mode (dropout would draw different masks in the two runs). It is
                  not modified: the float64 run uses a deep copy.
    inputs:       the golden's inputs as given to the model (float tensors are cast to float64 for the
                  float64 run; integer tensors and other values are passed unchanged).
    kink_modules: module types whose calls are checked: None = every type in MODULE_KINKS; or an iterable of
                  types (known ones or subclasses); or a mapping {type: fn(module) -> list of kink points or
                  None}.
    functional:   also check functional kink calls (F.relu, torch.abs, clamp, maximum, ...) that happen
                  outside the hooked modules.
    promote:      in the float64 run, turn dtype=float32 requests, .float() and float32 results into float64
                  (for code that hard-codes float32 constants, such as a sinusoidal embedding).
    forward:      optional fn(model, *inputs) used instead of model(*inputs).
    """
    if model.training:
        raise ValueError('check_conditioning: put the model in eval mode (model.eval()) first')
    kinks = _kink_map(kink_modules)
    inputs = tuple(inputs)
    out32, calls32, skipped = _run(model, inputs, kinks, functional, False, forward)
    model64 = copy.deepcopy(model).double()
    inputs64 = _tree(inputs, lambda v: v.detach().to(torch.float64)
                     if isinstance(v, torch.Tensor) and v.is_floating_point() else v)
    out64, calls64, _ = _run(model64, inputs64, kinks, functional, promote, forward)
    if len(calls32) != len(calls64):
        raise RuntimeError(f'float32 run made {len(calls32)} kink calls, float64 run {len(calls64)}: '
                           'the two runs took different paths')
    results: List[CallResult] = []
    for a, b in zip(calls32, calls64):
        if (a.kind, a.site, a.module, a.shape) != (b.kind, b.site, b.module, b.shape):
            raise RuntimeError(f'kink call {a.index} differs between the runs: {a.kind} at {a.site} {a.shape} '
                               f'vs {b.kind} at {b.site} {b.shape}')
        x32, x64 = a.x, b.x
        noise = float((x32 - x64).abs().max()) if x64.numel() else 0.0
        signed = _signed_distance(x64, b.points)
        if signed is None or signed.numel() == 0:
            continue
        dist = signed.abs()
        flat = int(dist.argmin())
        margin = float(dist.reshape(-1)[flat])
        idx = [int(i) for i in _unravel(flat, list(dist.shape))]
        ratio = margin / noise if noise > 0 else math.inf
        ok = margin >= min_margin and margin >= min_ratio * noise
        results.append(CallResult(
            index=len(results), kind=b.kind, site=b.site, module=b.module, after=b.after, shape=b.shape,
            points=_points_desc(b.points), elements=int(x64.numel()), margin=margin, noise=noise, ratio=ratio,
            argmin=idx, x64_at_argmin=float(x64.reshape(-1)[flat]), x32_at_argmin=float(x32.reshape(-1)[flat]),
            within_ratio=int((dist < min_ratio * noise).sum()), within_margin=int((dist < min_margin).sum()),
            passed=ok))
    t32, t64 = _first_tensor(out32), _first_tensor(out64)
    out_noise = float((t32.double() - t64.double()).abs().max()) if t32 is not None and t64 is not None else math.nan
    env = environment() if record_environment else {}
    return ConditioningResult(min_ratio, min_margin, results, out_noise, env, skipped)


def _signed_distance(x: torch.Tensor, points: List[Point]) -> Optional[torch.Tensor]:
    """x - (the nearest kink point), elementwise (differentiable in x)."""
    best = None
    for p in points:
        d = x - (p.to(x.dtype) if isinstance(p, torch.Tensor) else float(p))
        d = d.expand_as(x) if d.shape != x.shape else d
        best = d if best is None else torch.where(d.abs() < best.abs(), d, best)
    return best


def _unravel(flat: int, shape: List[int]) -> List[int]:
    idx = []
    for s in reversed(shape):
        idx.append(flat % s)
        flat //= s
    return list(reversed(idx))


# ---------------------------------------------------------------------------------------------------------
# Making well-conditioned inputs


@dataclass
class PushResult:
    x: torch.Tensor                 # the corrected input (dtype of the original)
    result: ConditioningResult      # the conditioning of the corrected inputs
    iterations: int
    max_abs_change: float           # max |x - x_start|
    history: List[Dict[str, Any]]


def push_from_kinks(model: nn.Module, inputs: Sequence[Any], wrt: int = 0,
                    kink_modules: Union[None, Iterable[type], Mapping[type, Callable]] = None, *,
                    min_ratio: float = DEFAULT_MIN_RATIO, min_margin: float = DEFAULT_MIN_MARGIN,
                    safety: float = 3.0, max_iter: int = 30, bounds: Optional[Tuple[float, float]] = None,
                    functional: bool = True, promote: bool = True, forward: Optional[Callable] = None,
                    log: Optional[Callable[[str], None]] = None) -> PushResult:
    """Move inputs[wrt] by a small amount so that every kink input is at least `safety` times the required
    distance (max(min_ratio * noise, min_margin)) from its kink.

    With tens of thousands of activation elements, some always fall within ~1e-4 of a kink for random inputs
    (a normalised pre-activation has density ~0.4 at 0), so searching seeds does not work. Instead: the
    elements that are too close get a target on their own side of the kink, and the input moves by the
    minimum-norm step that meets all targets to first order (Gauss-Newton on the float64 model); repeated
    until the check passes with the safety factor. Elements that do not depend on inputs[wrt] (for example
    the time embedding's activations, which depend on the labels only) cannot be moved: a ValueError names
    them. The returned input is rounded to the original dtype and checked again.
    """
    inputs = list(inputs)
    x_start = inputs[wrt].detach().clone()
    kinks = _kink_map(kink_modules)
    model64 = copy.deepcopy(model).double()
    history: List[Dict[str, Any]] = []
    say = log or (lambda s: None)
    for it in range(max_iter + 1):
        res = check_conditioning(model, inputs, kinks, min_ratio=min_ratio, min_margin=min_margin,
                                 functional=functional, promote=promote, forward=forward, record_environment=False)
        need = [max(min_ratio * c.noise, min_margin) for c in res.calls]
        short = [c for c, n in zip(res.calls, need) if c.margin < safety * n]
        history.append({'iteration': it, 'passed': res.passed, 'calls_short': len(short),
                        'min_margin': res.worst_margin.margin if res.calls else None,
                        'min_ratio': res.worst_ratio.ratio if res.calls else None})
        say(f'push_from_kinks: iteration {it}: {len(short)} calls short of {safety:g}x the required margin, '
            f'min margin {history[-1]["min_margin"]}, min ratio {history[-1]["min_ratio"]}')
        if not short:
            x = inputs[wrt].detach()
            res.environment = environment()
            return PushResult(x, res, it, float((x.double() - x_start.double()).abs().max()), history)
        if it == max_iter:
            break
        x64 = inputs[wrt].detach().to(torch.float64).requires_grad_()
        inp64 = [v.detach().to(torch.float64) if isinstance(v, torch.Tensor) and v.is_floating_point() else v
                 for v in inputs]
        inp64[wrt] = x64
        _, calls, _ = _run(model64, tuple(inp64), kinks, functional, promote, forward, keep_graph=True)
        kept = [c for c in calls if _signed_distance(c.x, c.points) is not None and c.x.numel()]
        assert len(kept) == len(res.calls)
        rows, deltas, stuck = [], [], []
        for c_res, c, n in zip(res.calls, kept, need):
            band = safety * n
            d = _signed_distance(c.x, c.points).reshape(-1)
            close = (d.detach().abs() < band).nonzero().reshape(-1).tolist()
            for i in close:
                (g,) = torch.autograd.grad(d[i], x64, retain_graph=True, allow_unused=True)
                if g is None or float(g.abs().max()) < 1e-12:
                    stuck.append(f'{c_res.label()} element {_unravel(i, c_res.shape)}')
                    continue
                di = float(d[i].detach())
                rows.append(g.reshape(-1))
                deltas.append((1.0 if di >= 0 else -1.0) * 1.25 * band - di)
        if stuck:
            raise ValueError('push_from_kinks: these kink inputs do not depend on input %d: %s' % (wrt, '; '.join(stuck[:10])))
        G = torch.stack(rows)
        delta = torch.tensor(deltas, dtype=torch.float64)
        gram = G @ G.T
        gram += torch.eye(len(rows), dtype=torch.float64) * (1e-10 * float(gram.diagonal().mean()))
        step = G.T @ torch.linalg.solve(gram, delta)
        x_new = x64.detach() + step.reshape(x64.shape)
        if bounds is not None:
            x_new = x_new.clamp(bounds[0], bounds[1])
        say(f'push_from_kinks:   {len(rows)} elements moved, max |step| {float(step.abs().max()):.3e}')
        inputs[wrt] = x_new.to(x_start.dtype)
    raise RuntimeError(f'push_from_kinks: not converged after {max_iter} iterations: {history[-1]}')


# ---------------------------------------------------------------------------------------------------------
# Environment record: what decides the float32 summation order.


def _loaded_libraries(patterns: Sequence[str]) -> List[str]:
    found = []
    try:
        with open('/proc/self/maps') as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and parts[-1].startswith('/'):
                    base = os.path.basename(parts[-1])
                    if any(re.search(p, base) for p in patterns):
                        real = os.path.realpath(parts[-1])
                        if real not in found:
                            found.append(real)
    except OSError:
        pass
    return found


def _cpu_flags() -> Dict[str, Any]:
    flags: set = set()
    model = platform.processor()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    flags = set(line.split(':', 1)[1].split())
                elif line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                if flags and model:
                    break
    except OSError:
        pass
    return {'model': model, 'avx2': 'avx2' in flags, 'avx512f': 'avx512f' in flags,
            'avx512_vnni': 'avx512_vnni' in flags, 'fma': 'fma' in flags}


def _torch_distribution() -> Optional[str]:
    """Where this torch comes from: the Debian package and its version, or the pip distribution's version."""
    path = os.path.realpath(torch.__file__)
    if path.startswith('/usr/lib/python3/dist-packages/'):
        try:
            import subprocess
            v = subprocess.run(['dpkg-query', '-W', '-f=${Version}', 'python3-torch'], capture_output=True,
                               text=True, timeout=10).stdout.strip()
            if v:
                return f'Debian python3-torch {v}'
        except (OSError, subprocess.SubprocessError):
            pass
    try:
        from importlib import metadata
        return f'{metadata.version("torch")} ({os.path.dirname(os.path.dirname(path))})'
    except Exception:
        return None


def environment() -> Dict[str, Any]:
    """Torch version, threads, BLAS / oneDNN libraries, CPU ISA: everything that sets the float32 summation order."""
    cfg = torch.__config__.show()
    m = re.search(r'CPU capability usage: (\S+)', cfg)
    capability = m.group(1) if m else None
    get_cap = getattr(getattr(torch.backends, 'cpu', None), 'get_cpu_capability', None)
    if get_cap is not None:
        try:
            capability = get_cap()
        except Exception:  # pragma: no cover
            pass
    blas_info = re.search(r'BLAS_INFO=([^,\s]+)', cfg)
    dnnl = re.search(r'(?:MKL-DNN|oneDNN) v(\S+)', cfg)
    return {
        'torch': torch.__version__,
        'torch_distribution': _torch_distribution(),
        'python': platform.python_version(),
        'threads': torch.get_num_threads(),
        'interop_threads': torch.get_num_interop_threads(),
        'blas_build': blas_info.group(1) if blas_info else None,
        'blas_loaded': _loaded_libraries([r'blas', r'mkl_rt', r'libmkl', r'blis', r'libflexiblas']),
        'mkldnn': {'available': torch.backends.mkldnn.is_available(), 'enabled': torch.backends.mkldnn.enabled,
                   'version': dnnl.group(1) if dnnl else None},
        'cpu_capability': capability,
        'cpu': _cpu_flags(),
        'env': {k: os.environ[k] for k in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS',
                                            'DNNL_MAX_CPU_ISA', 'ONEDNN_MAX_CPU_ISA', 'ATEN_CPU_CAPABILITY')
                if k in os.environ},
    }


# ---------------------------------------------------------------------------------------------------------


def _self_test() -> int:
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.act = nn.LeakyReLU(0.2)
            self.elu = nn.ELU()                      # alpha = 1: C1, counted but not checked
            self.relu_ = nn.ReLU(inplace=True)       # the pre-hook copies the input before it is overwritten
            self.l0 = nn.Linear(4, 64)
            self.l1 = nn.Linear(64, 64)
            self.l2 = nn.Linear(64, 1)

        def forward(self, x):
            h = self.act(self.l0(x))
            h = self.act(self.l1(h))                 # the same instance, a second call
            h = self.elu(h) + F.relu(h - 0.5) + self.relu_(h * 2)
            e = torch.arange(4, dtype=torch.float32) # hard-coded float32: promoted in the float64 run
            return self.l2(torch.clamp(h, min=-1.0, max=1.0)).abs() + e.sum()

    net = Net().eval()
    x = torch.randn(8, 4)
    res = check_conditioning(net, (x,))
    print(res.report())
    kinds = [c.kind for c in res.calls]
    assert kinds == ['LeakyReLU', 'LeakyReLU', 'relu', 'ReLU', 'clamp', 'abs'], kinds
    assert res.c1_skipped == {'ELU': 1}, res.c1_skipped
    assert [c.site for c in res.calls][:2] == ['<model>', '<model>'] and res.calls[1].after == 'l1'
    # an input sitting on the kink must fail, and push_from_kinks must repair it by moving x
    with torch.no_grad():
        net.l0.bias[0] -= net.l0(x)[0, 0]
    bad = check_conditioning(net, (x,))
    assert not bad.passed and not bad.calls[0].passed, bad.report()
    fixed = push_from_kinks(net, [x], 0)
    assert fixed.result.passed and fixed.max_abs_change < 1e-2, fixed
    print(f'push_from_kinks: max |dx| {fixed.max_abs_change:.2e} after {fixed.iterations} iterations')
    print('self-test ok')
    return 0


if __name__ == '__main__':
    if '--self-test' in sys.argv:
        sys.exit(_self_test())
    print(__doc__)
