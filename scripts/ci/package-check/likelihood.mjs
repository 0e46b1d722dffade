// Run by scripts/ci/package from a fresh project: loads every entry point and a shipped config from plain
// JS, then computes the ODE likelihood of 2 examples under a VP SDE whose data are N(0, σ0² I): the score
// is closed-form, s(x, t) = −x / v(t) with v(t) = e^{2·lmc(t)} σ0² + 1 − e^{2·lmc(t)}, and so is the
// answer: the flow maps x to z = x·√(v(1)/v(eps)) and log p_eps(x) = log N(x; 0, v(eps)) exactly; the
// likelihood puts the prior N(0, I) in place of N(0, v(1)), which shifts it by log N(z; 0, 1) − log N(z; 0, v(1)).
// Exits 1 when the bits/dim are off by more than the ODE tolerance allows.
import { VPSDE, generator, loadConfig, odeLikelihood, tensor, tidy } from 'scoreflow';

const SUBPATHS = ['formats', 'likelihood', 'sampling', 'sde', 'losses', 'metrics', 'data', 'eval', 'train', 'ode', 'config'];
for (const s of SUBPATHS) await import(`scoreflow/${s}`);
// The README's example config: configs/ ships with the package and is found from node_modules.
loadConfig('score_flow/vp/cifar10_ddpmpp_continuous');
const { default: pkg } = await import('scoreflow/package.json', { with: { type: 'json' } });

const sigma0 = 0.5;
const [betaMin, betaMax] = [0.1, 20];
const lmc = (t) => -0.25 * t * t * (betaMax - betaMin) - 0.5 * t * betaMin; // log mean coefficient of VP
const variance = (t) => Math.exp(2 * lmc(t)) * sigma0 ** 2 + 1 - Math.exp(2 * lmc(t));

const sde = new VPSDE({ betaMin, betaMax });
const score = (x, t) => {
  const m = sde.meanCoef(t);
  const v = m.square().mul(sigma0 ** 2).add(sde.marginalStd(t).square());
  return x.neg().div(v.reshape([x.shape[0], 1, 1, 1]));
};
const values = [[0.3, -0.2, 0.5, 0.1], [-0.4, 0.25, 0.05, -0.6]];
const eps = 1e-5;
const bpd = tidy(() => {
  const x = tensor(values.flat(), { dtype: 'float64', shape: [2, 1, 2, 2] });
  return [...odeLikelihood(score, sde, x, { eps, rtol: 1e-7, atol: 1e-7, generator: generator(0), offset: 'none' }).bpd.toArray()];
});
const logN = (x, v) => -0.5 * Math.log(2 * Math.PI * v) - x * x / (2 * v);
const [v0, v1] = [variance(eps), variance(1)];
const expected = values.map((xs) => {
  const logp = xs.reduce((s, x) => {
    const z = x * Math.sqrt(v1 / v0);
    return s + logN(x, v0) + logN(z, 1) - logN(z, v1);
  }, 0);
  return -logp / (xs.length * Math.LN2);
});
const ok = bpd.every((b, i) => Number.isFinite(b) && Math.abs(b - expected[i]) < 1e-6);
console.log(`scoreflow ci (package): scoreflow ${pkg.version}, ODE likelihood of 2 examples: bpd ${bpd.map((b) => b.toFixed(7)).join(', ')}; `
  + `closed form ${expected.map((b) => b.toFixed(7)).join(', ')}: ${ok ? 'ok' : 'MISMATCH'}`);
process.exit(ok ? 0 : 1);
