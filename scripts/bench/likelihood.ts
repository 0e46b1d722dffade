/**
 * Likelihood section of `npm run bench`: bits/dim of the probability-flow ODE (RK45, float64 state, fixed
 * Rademacher probe) for the four images of test/data/eval/reference_inputs.npz on the golden DDPM++ model
 * (test/data/reference/a_ddpmpp.pth, VP continuous), CPU fp32: images/s and NFE per image, next to
 * score_sde_pytorch's likelihood.py on the same inputs when a checkout is given (scripts/bench/reference_likelihood.py).
 * Environment: SCOREFLOW_BENCH_LIKELIHOOD=0 skips it; SCOREFLOW_BENCH_LIKELIHOOD_EPS / _TOL change eps and
 * rtol = atol (default 1e-5 both, the references' defaults: ~1270 NFE; the reference then needs ~12 min on 2 cores).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readNpzFile } from '../../src/formats/npz.js';
import { loadTorchFile, asStateDict } from '../../src/formats/torch-load.js';
import { configFromObject } from '../../src/config/index.js';
import { ScoreModel } from '../../src/model/score-model.js';
import { sdeFromConfig, getScoreFn } from '../../src/sde/index.js';
import { odeLikelihood, registerProbe } from '../../src/likelihood/index.js';
import { fromHost } from '../../src/tensor.js';
import { tidy } from '../../src/scope.js';
import { generator } from '../../src/random.js';

export interface LikelihoodBenchArgs { reference?: string; python: string; threads: number; fixtures?: string }

export function runLikelihoodBench(args: LikelihoodBenchArgs): void {
  if (process.env.SCOREFLOW_BENCH_LIKELIHOOD === '0') return;
  const fix = args.fixtures ?? new URL('../../test/data/reference/', import.meta.url).pathname;
  const inputsPath = new URL('../../test/data/eval/reference_inputs.npz', import.meta.url).pathname;
  if (!existsSync(fix + 'a_ddpmpp.pth')) { console.log(`\nlikelihood: skipped (no golden model at ${fix}a_ddpmpp.pth)`); return; }
  const eps = Number(process.env.SCOREFLOW_BENCH_LIKELIHOOD_EPS ?? 1e-5);
  const tol = Number(process.env.SCOREFLOW_BENCH_LIKELIHOOD_TOL ?? 1e-5);
  const meta = JSON.parse(readFileSync(fix + 'a_ddpmpp.json', 'utf8'));
  const config = configFromObject({ model: meta.config.model, data: meta.config.data, training: { sde: 'vpsde', continuous: true } });
  const model = new ScoreModel(config, { seed: 0 });
  model.loadStateDict(asStateDict(loadTorchFile(fix + 'a_ddpmpp.pth')));
  model.eval();
  const io = readNpzFile(inputsPath);
  const images = io.get('images')!, probe = io.get('probe')!;
  const B = images.shape[0]!;
  registerProbe('bench-fixed', () => fromHost({ dtype: 'float32', shape: probe.shape, data: Float32Array.from(probe.data as Int8Array) }));
  const u8 = images.data as Uint8Array;
  const data = new Float32Array(u8.length);
  for (let i = 0; i < u8.length; i++) data[i] = ((u8[i]! + 0.5) / 256) * 2 - 1;
  const t0 = performance.now();
  const ours = tidy(() => {
    const sde = sdeFromConfig(config);
    const r = odeLikelihood(getScoreFn(sde, model, { continuous: true }), sde, fromHost({ dtype: 'float32', shape: images.shape, data }), {
      eps, rtol: tol, atol: tol, hutchinson: 'bench-fixed', generator: generator(0), offset: 'centered',
    });
    return { nfe: r.nfe, bpd: Array.from(r.bpd.toArray() as Float64Array) };
  });
  const seconds = (performance.now() - t0) / 1000;
  model.dispose();

  let ref: { seconds: number; nfe: number; bpd: number[] } | undefined;
  if (args.reference) {
    const job = { reference: args.reference, threads: args.threads, config: meta.config, weights: fix + 'a_ddpmpp.pth', inputs: inputsPath, eps, tol };
    // src/native.ts sets OPENBLAS_NUM_THREADS=1 in this process; the reference's BLAS gets the same thread count as
    // its torch (this also changes its float rounding, and for this untrained model its bits/dim by up to ~0.02).
    const env = { ...process.env, OPENBLAS_NUM_THREADS: String(args.threads) };
    const r = spawnSync(args.python, [new URL('./reference_likelihood.py', import.meta.url).pathname], { input: JSON.stringify(job), encoding: 'utf8', maxBuffer: 1 << 24, env });
    if (r.status !== 0) throw new Error(`reference likelihood run failed:\n${r.stderr}`);
    ref = JSON.parse(r.stdout.trim().split('\n').pop()!);
  }
  const fmt = (b: number[]) => b.map((v) => v.toFixed(5)).join(' ');
  console.log(`\nlikelihood: golden a_ddpmpp (VP, 32x32x3), ${B} images, probability-flow ODE RK45 eps ${eps} rtol=atol ${tol}, fixed Rademacher probe, CPU fp32, ${args.threads} threads`);
  console.log('measure              scoreflow     reference     ratio (reference / scoreflow time)');
  console.log('images/s'.padEnd(21) + (B / seconds).toFixed(4).padEnd(14) + (ref ? (B / ref.seconds).toFixed(4).padEnd(14) + `${(ref.seconds / seconds).toFixed(2)}x` : 'n/a (pass --reference PATH)'));
  console.log('NFE/image'.padEnd(21) + String(ours.nfe).padEnd(14) + (ref ? String(ref.nfe) : 'n/a') + '   (one batched solve: every evaluation covers all images)');
  console.log('seconds'.padEnd(21) + seconds.toFixed(1).padEnd(14) + (ref ? ref.seconds.toFixed(1) : 'n/a'));
  console.log(`bits/dim scoreflow  ${fmt(ours.bpd)}`);
  if (ref) console.log(`bits/dim reference  ${fmt(ref.bpd)}   (max |diff| ${Math.max(...ours.bpd.map((v, i) => Math.abs(v - ref!.bpd[i]!))).toExponential(2)})`);
}
