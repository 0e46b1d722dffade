# The PyTorch reference side of `npm run bench` (a score_sde_pytorch checkout given by the user; never vendored
# here), kept alive for the whole run so that the bench can alternate it with scoreflow (A B A B ...) instead of
# running one side after the other. Protocol: one JSON request per stdin line, one JSON reply per stdout line.
#   {"op": "info"}                                  -> torch version, threads, BLAS mapped, wait-policy env
#   {"op": "train", "config": ..., "batch": B}      -> builds the model, x, labels, optimizer, EMA, step_fn
#   {"op": "time", "measure": m, "threads": n}      -> {"seconds": s} for one run of forward | forward_backward | train_step
#   {"op": "likelihood_setup", "config", "weights", "inputs", "eps", "tol"}
#   {"op": "likelihood", "batch": B, "threads": n}  -> {"seconds", "nfe", "bpd", "voluntary_switches"} (images tiled to B)
import json, resource, sys, time, os

import torch

from reference_env import Cfg, likelihood_weighted_step, prepare

first = json.loads(sys.stdin.readline())
prepare(first)
import numpy as np  # noqa: E402

from models import ncsnpp  # noqa: E402
import likelihood, sde_lib  # noqa: E402

state = {}


def mapped_blas():
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in os.path.basename(line.split()[-1]).lower()
                and os.path.basename(line.split()[-1]).startswith("lib")}
    return sorted(os.path.realpath(p) for p in libs)


def info(_):
    env = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    return {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": mapped_blas(), "env": env}


def train(req):
    config = Cfg(req["config"])
    config.device = torch.device("cpu")
    config.training.likelihood_weighting = True
    torch.manual_seed(0)
    model = ncsnpp.NCSNpp(config)
    B, C, H = req["batch"], config.data.num_channels, config.data.image_size
    x = torch.rand(B, C, H, H) * 2 - 1
    labels = torch.rand(B) * 999
    st, step_fn = likelihood_weighted_step(config, model)
    optimizer = st["optimizer"]

    def fwd():
        with torch.no_grad():
            model.eval()(x, labels)

    def fwd_bwd():
        model.train()
        model(x, labels).square().mean().backward()
        optimizer.zero_grad()

    state["measures"] = {"forward": fwd, "forward_backward": fwd_bwd, "train_step": lambda: step_fn(st, x)}
    return {"parameters": sum(p.numel() for p in model.parameters())}


def timed(req):
    torch.set_num_threads(req["threads"])
    fn = state["measures"][req["measure"]]
    t0 = time.perf_counter()
    fn()
    return {"seconds": time.perf_counter() - t0}


def likelihood_setup(req):
    config = Cfg(req["config"])
    config.device = torch.device("cpu")
    weights = torch.load(req["weights"])
    if config.model.num_scales < 1000 and not config.model.scale_by_sigma:
        # NCSNpp indexes its sigmas buffer (num_scales entries) with the continuous label t*999 even when it
        # does not scale by sigma, so a model trained with fewer scales (fmnist_quick: 100) crashes it. The
        # buffer enters nothing else: build it with 1000 scales and keep the fixture's other weights.
        config.model.num_scales = 1000
        weights["sigmas"] = torch.tensor(ncsnpp.utils.get_sigmas(config))
    model = ncsnpp.NCSNpp(config)
    model.load_state_dict(weights)
    model.eval()
    inputs = np.load(req["inputs"])
    sde = sde_lib.VPSDE(beta_min=config.model.beta_min, beta_max=config.model.beta_max, N=config.model.num_scales)
    fn = likelihood.get_likelihood_fn(sde, lambda v: (v + 1.) / 2., hutchinson_type="Rademacher",
                                      rtol=req["tol"], atol=req["tol"], method="RK45", eps=req["eps"])
    state["likelihood"] = (model, inputs["images"], inputs["probe"], fn)
    return {}


def likelihood_run(req):
    torch.set_num_threads(req["threads"])
    model, images, probe, fn = state["likelihood"]
    n = req["batch"]
    reps = -(-n // images.shape[0])
    imgs, prb = np.concatenate([images] * reps)[:n], np.concatenate([probe] * reps)[:n]
    data = torch.from_numpy(((imgs.astype(np.float32) + 0.5) / 256.0) * 2 - 1)  # midpoint dequantization, centered
    fixed = torch.from_numpy((prb.astype(np.float32) + 1) / 2)
    # likelihood.py draws its Rademacher probe with torch.randint_like(data, 0, 2) * 2 - 1: hand it the fixed one.
    torch.randint_like = lambda t, *a, **k: fixed.to(t.dtype)
    switches = resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw
    t0 = time.perf_counter()
    bpd, _, nfe = fn(model, data)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "nfe": int(nfe), "bpd": [float(v) for v in bpd.tolist()],
            "voluntary_switches": resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw - switches}


OPS = {"info": info, "train": train, "time": timed, "likelihood_setup": likelihood_setup, "likelihood": likelihood_run}

print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    try:
        print(json.dumps(OPS[req["op"]](req)), flush=True)
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
