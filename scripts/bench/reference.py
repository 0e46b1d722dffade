# Times the PyTorch reference (a score_sde_pytorch checkout given by the user; never vendored here) on the
# same work as scripts/bench.ts. Reads a JSON job on stdin, prints JSON timings. Needs python3 with torch.
import json, sys, time

import torch

from reference_env import Cfg, prepare

job = json.load(sys.stdin)
prepare(job)

from models import ncsnpp, utils as mutils, ema as ema_lib  # noqa: E402
import losses, sde_lib  # noqa: E402

config = Cfg(job["config"])
config.device = torch.device("cpu")
config.training.likelihood_weighting = job["likelihood_weighting"]
torch.manual_seed(0)
model = ncsnpp.NCSNpp(config)
B, C, H = job["batch"], config.data.num_channels, config.data.image_size
x = torch.rand(B, C, H, H) * 2 - 1
labels = torch.rand(B) * 999


def timeit(fn, repeats):
    fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return sorted(ts)[len(ts) // 2]


def fwd():
    with torch.no_grad():
        model.eval()(x, labels)


def fwd_bwd():
    model.train()
    model(x, labels).square().mean().backward()


sde = sde_lib.VPSDE(beta_min=config.model.beta_min, beta_max=config.model.beta_max, N=config.model.num_scales)
optimizer = losses.get_optimizer(config, model.parameters())
ema = ema_lib.ExponentialMovingAverage(model.parameters(), decay=config.model.ema_rate)
state = dict(optimizer=optimizer, model=model, ema=ema, step=0)
step_fn = losses.get_step_fn(sde, train=True, optimize_fn=losses.optimization_manager(config), reduce_mean=True,
                             continuous=True, likelihood_weighting=job["likelihood_weighting"])


def train_step():
    step_fn(state, x)


out = {"forward": timeit(fwd, job["repeats"]), "forward_backward": timeit(fwd_bwd, job["repeats"]),
       "train_step": timeit(train_step, job["repeats"])}
print(json.dumps(out))
