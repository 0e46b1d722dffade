# What the reference timers need before importing a score_sde_pytorch checkout (the user's; never vendored
# here): the checkout on sys.path, the thread count, a stand-in for its CUDA-only `op` package, and an
# ml_collections-like view of our JSON config.
import sys, types

import torch


def prepare(job):
    sys.path.insert(0, job["reference"])
    torch.set_num_threads(job["threads"])
    # `op` compiles a CUDA extension at import; DDPM++ without FIR never calls it.
    op = types.ModuleType("op")
    op.upfirdn2d = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("FIR path not benchmarked"))
    sys.modules["op"] = op


class Cfg:
    """ml_collections-like attribute access over the JSON config."""

    def __init__(self, d):
        for k, v in d.items():
            setattr(self, k, Cfg(v) if isinstance(v, dict) else (tuple(v) if isinstance(v, list) else v))
