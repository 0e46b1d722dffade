# Times the PyTorch reference (a score_sde_pytorch checkout given by the user; never vendored here) on the same
# work as scripts/bench/gpu.ts, on the job's device: the training step (likelihood weighting; the reference has
# no importance sampling) in fp32 and bf16 (torch.autocast around the step's forward, as our bf16), median of
# `repeats` after `warmup`, synchronised, with the peak allocated memory; and likelihood.py's RK45 bits/dim
# on the golden model for each batch (the four reference images and probe tiled). Reads JSON on stdin,
# prints JSON {"train": {precision: row}, "likelihood": {batch: row}}.
import json, sys, time

import torch

from reference_env import Cfg, likelihood_weighted_step, prepare

job = json.load(sys.stdin)
prepare(job)
import numpy as np  # noqa: E402

from models import ncsnpp  # noqa: E402,F401  (registers the model)
from models import utils as mutils  # noqa: E402
import likelihood, sde_lib  # noqa: E402

device = torch.device(job["device"])
cuda = device.type == "cuda"


def sync():
    if cuda:
        torch.cuda.synchronize(device)


def reset_peak():
    if cuda:
        sync()
        torch.cuda.reset_peak_memory_stats(device)


def peak():
    if cuda:
        sync()
        return torch.cuda.max_memory_allocated(device)
    return None


def timeit(fn):
    for _ in range(job["warmup"]):
        fn()
    ts = []
    for _ in range(job["repeats"]):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        ts.append(time.perf_counter() - t0)
    return sorted(ts)[len(ts) // 2]


out = {"train": {}, "likelihood": {}}
for item in job["train"]:
    p = item["precision"]
    try:
        config = Cfg(item["config"])
        config.device = device
        config.training.likelihood_weighting = True
        torch.manual_seed(0)
        model = ncsnpp.NCSNpp(config).to(device)
        if p == "bf16":
            # Autocast around the network only, float32 out (what training.precision = 'bf16' does).
            def forward(*a, _f=model.forward, **k):
                with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
                    return _f(*a, **k).float()
            model.forward = forward
        B, C, H = job["batch"], config.data.num_channels, config.data.image_size
        x = (torch.rand(B, C, H, H) * 2 - 1).to(device)
        state, step_fn = likelihood_weighted_step(config, model)
        reset_peak()
        seconds = timeit(lambda: step_fn(state, x))
        out["train"][p] = {"seconds": seconds, "peakBytes": peak()}
        del model, state
        if cuda:
            torch.cuda.empty_cache()
    except Exception as e:  # noqa: BLE001
        out["train"][p] = {"status": f"failed: {type(e).__name__}: {e}"}

lk = job.get("likelihood")
if lk:
    config = Cfg(lk["config"])
    config.device = device
    model = ncsnpp.NCSNpp(config)
    model.load_state_dict(torch.load(lk["weights"], map_location="cpu"))
    model = model.to(device).eval()
    inputs = np.load(lk["inputs"])
    images, probe = inputs["images"], inputs["probe"]
    sde = sde_lib.VPSDE(beta_min=config.model.beta_min, beta_max=config.model.beta_max, N=config.model.num_scales)
    fn = likelihood.get_likelihood_fn(sde, lambda v: (v + 1.) / 2., hutchinson_type="Rademacher",
                                      rtol=lk["tol"], atol=lk["tol"], method="RK45", eps=lk["eps"])
    for n in lk["batches"]:
        reps = -(-n // images.shape[0])
        imgs = np.concatenate([images] * reps)[:n]
        prb = np.concatenate([probe] * reps)[:n]
        data = torch.from_numpy(((imgs.astype(np.float32) + 0.5) / 256.0) * 2 - 1).to(device)
        fixed = torch.from_numpy((prb.astype(np.float32) + 1) / 2)
        # likelihood.py draws its probe with torch.randint_like(data, 0, 2) * 2 - 1: hand it the fixed one.
        torch.randint_like = lambda t, *a, _p=fixed, **k: _p.to(device=t.device, dtype=t.dtype)
        reset_peak()
        sync()
        t0 = time.perf_counter()
        bpd, _, nfe = fn(model, data)
        sync()
        s = time.perf_counter() - t0
        out["likelihood"][str(n)] = {"seconds": s, "imagesPerSecond": n / s, "nfePerImage": int(nfe), "peakBytes": peak()}

print(json.dumps(out))
