# Times score_sde_pytorch's likelihood.py (a checkout given by the user; never vendored here) on the same work as
# scripts/bench/likelihood.ts: the golden DDPM++ model, four images and a fixed Rademacher probe
# (test/data/eval/reference_inputs.npz), RK45 from eps to 1. Reads a JSON job on stdin, prints JSON.
import json, sys, time

import torch

from reference_env import Cfg, prepare

job = json.load(sys.stdin)
prepare(job)
import numpy as np  # noqa: E402

from models import ncsnpp  # noqa: E402
import likelihood, sde_lib  # noqa: E402

config = Cfg(job["config"])
config.device = torch.device("cpu")
model = ncsnpp.NCSNpp(config)
model.load_state_dict(torch.load(job["weights"]))
model.eval()
inputs = np.load(job["inputs"])
images, probe = inputs["images"], inputs["probe"]
data = torch.from_numpy(((images.astype(np.float32) + 0.5) / 256.0) * 2 - 1)  # midpoint dequantization, centered
# likelihood.py draws its Rademacher probe with torch.randint_like(data, 0, 2) * 2 - 1: hand it the fixed one.
torch.randint_like = lambda t, *a, **k: torch.from_numpy((probe.astype(np.float32) + 1) / 2).to(t.dtype)
sde = sde_lib.VPSDE(beta_min=config.model.beta_min, beta_max=config.model.beta_max, N=config.model.num_scales)
fn = likelihood.get_likelihood_fn(sde, lambda v: (v + 1.) / 2., hutchinson_type="Rademacher",
                                  rtol=job["tol"], atol=job["tol"], method="RK45", eps=job["eps"])
t0 = time.perf_counter()
bpd, _, nfe = fn(model, data)
print(json.dumps({"seconds": time.perf_counter() - t0, "nfe": int(nfe), "bpd": [float(v) for v in bpd.tolist()]}))
