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


def likelihood_weighted_step(config, model):
    """The reference's own training step (losses.get_step_fn, VP continuous, likelihood weighting, no importance
    sampling) with its Adam and EMA, as both timers run it: returns (state, step_fn); step_fn(state, x) is one step.
    Imports the checkout's modules, so it runs after prepare()."""
    import losses, sde_lib
    from models import ema as ema_lib
    sde = sde_lib.VPSDE(beta_min=config.model.beta_min, beta_max=config.model.beta_max, N=config.model.num_scales)
    optimizer = losses.get_optimizer(config, model.parameters())
    ema = ema_lib.ExponentialMovingAverage(model.parameters(), decay=config.model.ema_rate)
    state = dict(optimizer=optimizer, model=model, ema=ema, step=0)
    step_fn = losses.get_step_fn(sde, train=True, optimize_fn=losses.optimization_manager(config), reduce_mean=True,
                                 continuous=True, likelihood_weighting=True)
    return state, step_fn
