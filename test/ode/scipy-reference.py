"""Reference numbers for test/ode/solve.test.ts, produced with Debian's python3-scipy (solve_ivp, RK45).
Run: /usr/bin/python3 test/ode/scipy-reference.py > test/ode/scipy-reference.json"""
import json
import numpy as np
import scipy
from scipy.linalg import expm
from scipy.integrate import solve_ivp

A = np.array([[-1.0, 2.0, 0.0], [-2.0, -1.0, 0.5], [0.0, -0.5, -0.3]])
y0 = np.array([1.0, -0.5, 2.0])
cases = []
for (t0, t1, rtol, atol) in [(0.0, 2.0, 1e-3, 1e-6), (0.0, 2.0, 1e-6, 1e-9), (0.0, 2.0, 1e-5, 1e-5), (2.0, -1.0, 1e-5, 1e-5)]:
    s = solve_ivp(lambda t, y: A @ y, (t0, t1), y0, method='RK45', rtol=rtol, atol=atol)
    cases.append(dict(problem='linear', t0=t0, t1=t1, rtol=rtol, atol=atol, nfev=int(s.nfev),
                      nsteps=int(len(s.t) - 1), y=s.y[:, -1].tolist(), ts=s.t.tolist(),
                      exact=(expm(A * (t1 - t0)) @ y0).tolist()))
# logistic growth y' = r y (1 - y/K), y(0) = 0.1 per component, r = [1, 2, 3], K = 1
r = np.array([1.0, 2.0, 3.0])
for (t0, t1, rtol, atol) in [(0.0, 5.0, 1e-5, 1e-5), (5.0, 0.0, 1e-6, 1e-8)]:
    yi = 0.1 / (0.1 + 0.9 * np.exp(-r * t0))
    s = solve_ivp(lambda t, y: r * y * (1 - y), (t0, t1), yi, method='RK45', rtol=rtol, atol=atol)
    cases.append(dict(problem='logistic', t0=t0, t1=t1, rtol=rtol, atol=atol, nfev=int(s.nfev),
                      nsteps=int(len(s.t) - 1), y0=yi.tolist(), y=s.y[:, -1].tolist(), ts=s.t.tolist()))
print(json.dumps(dict(scipy=scipy.__version__, A=A.tolist(), y0=y0.tolist(), r=r.tolist(), cases=cases), indent=1))
