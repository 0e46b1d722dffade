"""Reference runs of the references' probability-flow ODE pipelines with scipy (solve_ivp RK45 on the
flattened float64 state, as score_sde_pytorch likelihood.py / sampling.py), for Gaussian data N(mu, diag
sigma0^2) whose marginal score is known in closed form under the VP SDE (beta 0.1..20).
Run: /usr/bin/python3 test/likelihood/scipy-ode-likelihood.py > test/likelihood/scipy-ode-likelihood.json"""
import json
import numpy as np
from scipy.integrate import solve_ivp

b0, b1 = 0.1, 20.0
mu = np.array([0.3, -0.2, 0.1, 0.0])
s0 = np.array([0.5, 1.0, 1.5, 0.8])
D = mu.size


def beta(t): return b0 + t * (b1 - b0)
def lmc(t): return -0.25 * t * t * (b1 - b0) - 0.5 * t * b0
def mean_coef(t): return np.exp(lmc(t))
def std(t): return np.sqrt(-np.expm1(2 * lmc(t)))
def var(t): return mean_coef(t) ** 2 * s0 ** 2 + std(t) ** 2
def score(x, t): return -(x - mean_coef(t) * mu) / var(t)
def pf_drift(x, t): return -0.5 * beta(t) * x - 0.5 * beta(t) * score(x, t)
def pf_div(t): return np.sum(-0.5 * beta(t) + 0.5 * beta(t) / var(t))  # exact trace, per example


x = np.array([[0.2, -0.5, 1.3, 0.4], [0.9, 0.1, -2.0, -0.7]])
B = x.shape[0]


def ode_func(t, y):
    xs = y[:B * D].reshape(B, D)
    return np.concatenate([pf_drift(xs, t).reshape(-1), np.full(B, pf_div(t))])


eps = 1e-5
sol = solve_ivp(ode_func, (eps, 1.0), np.concatenate([x.reshape(-1), np.zeros(B)]), rtol=1e-5, atol=1e-5, method='RK45')
z = sol.y[:B * D, -1].reshape(B, D)
delta = sol.y[B * D:, -1]
prior = -D / 2 * np.log(2 * np.pi) - 0.5 * np.sum(z ** 2, axis=1)
bpd = -(prior + delta) / (D * np.log(2))  # no dequantisation offset

latent = np.array([[0.1, -0.3, 1.5, -0.8], [1.2, 0.7, -0.4, 0.0]])
samp = solve_ivp(lambda t, y: pf_drift(y.reshape(B, D), t).reshape(-1), (1.0, 1e-3), latent.reshape(-1),
                 rtol=1e-5, atol=1e-5, method='RK45')
print(json.dumps(dict(
    mu=mu.tolist(), sigma0=s0.tolist(), x=x.tolist(),
    likelihood=dict(eps=eps, nfev=int(sol.nfev), nsteps=int(len(sol.t) - 1), bpd=bpd.tolist(), z=z.tolist(), delta=delta.tolist()),
    sampler=dict(eps=1e-3, latent=latent.tolist(), nfev=int(samp.nfev), x=samp.y[:, -1].reshape(B, D).tolist()),
), indent=1))
