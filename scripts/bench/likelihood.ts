/**
 * Likelihood section of `npm run bench`: bits/dim of the probability-flow ODE (RK45, float64 state, fixed
 * Rademacher probe), CPU fp32, for a bench model's images tiled to each batch size: images/s, ms per function
 * evaluation and NFE, alternated with score_sde_pytorch's likelihood.py on the same inputs and probe
 * (scripts/bench/reference_worker.py) when a checkout is given. Models (`--likelihood-models`):
 * - fmnist_quick: the README main job's trained model (bench/fixtures/fmnist_quick, made by
 *   scripts/bench/make-likelihood-fixture.ts), 1x28x28, at rtol = atol = 1e-5 (the eval default). Its ODE is
 *   well conditioned, so the two sides' bits/dim must agree (the ± 0.005 check).
 * - golden: the golden DDPM++ (test/data/reference/a_ddpmpp.pth: random weights, 32x32x3) at 1e-3. Its ODE is
 *   chaotic: two correct solvers at the same NFE differ by ~0.1 bits/dim there, so it times, it does not check.
 * Environment: SCOREFLOW_BENCH_LIKELIHOOD=0 skips the section; SCOREFLOW_BENCH_LIKELIHOOD_EPS / _TOL replace
 * eps and rtol = atol for every model (default eps 1e-5).
 */
import { existsSync, readFileSync } from 'node:fs';
import { readNpzFile } from '../../src/formats/npz.js';
import { loadTorchFile, asStateDict } from '../../src/formats/torch-load.js';
import { configFromObject } from '../../src/config/index.js';
import { ScoreModel } from '../../src/model/score-model.js';
import { sdeFromConfig, getScoreFn } from '../../src/sde/index.js';
import { odeLikelihood, registerProbe, augmentedRhs, probabilityFlowDrift, drawProbe, likelihoodChunk, likelihoodWorkers, describeChunk, type ChunkChoice } from '../../src/likelihood/index.js';
import { cat, fromHost, zeros } from '../../src/tensor.js';
import { noGrad } from '../../src/autograd.js';
import { tidy } from '../../src/scope.js';
import { generator } from '../../src/random.js';
import { setNumThreads } from '../../src/device.js';
import { alternate, median, type PairRow } from './alternate.js';
import type { ReferenceWorker } from './reference-client.js';

const here = (rel: string) => new URL(rel, import.meta.url).pathname;

/** A bench model: weights (a plain state dict), its config (meta.json's `config`), inputs (images + probe). */
export interface LikelihoodModelSpec { weights: string; meta: string; inputs: string; tol: number; about: string }

export const LIKELIHOOD_MODELS: Record<string, LikelihoodModelSpec> = {
  fmnist_quick: {
    weights: here('../../bench/fixtures/fmnist_quick/weights.pth'), meta: here('../../bench/fixtures/fmnist_quick/meta.json'),
    inputs: here('../../bench/fixtures/fmnist_quick/inputs.npz'), tol: 1e-5, about: 'README main job, trained, VP, 1x28x28',
  },
  golden: {
    weights: here('../../test/data/reference/a_ddpmpp.pth'), meta: here('../../test/data/reference/a_ddpmpp.json'),
    inputs: here('../../test/data/eval/reference_inputs.npz'), tol: 1e-3, about: 'golden DDPM++, random weights, VP, 32x32x3',
  },
};

export interface LikelihoodRun { seconds: number; nfe: number; bpd: number[] }
export interface LikelihoodRow extends PairRow {
  model: string;
  eps: number;
  tol: number;
  nfe: number;
  referenceNfe: number | null;
  imagesPerSecond: number;
  referenceImagesPerSecond: number | null;
  msPerEvaluation: number;
  referenceMsPerEvaluation: number | null;
  /** Batch slices our network calls ran at once (eval.ode_workers = 0's rule, src/likelihood/workers.ts). */
  workers: number;
  /** Largest |bits/dim difference| between the two sides over the batch. */
  maxBpdDiff: number | null;
  bpd: number[];
}

/** eps and rtol = atol for a model (the environment overrides every model's). */
export const likelihoodTolerances = (model = 'golden') => ({
  eps: Number(process.env.SCOREFLOW_BENCH_LIKELIHOOD_EPS ?? 1e-5),
  tol: Number(process.env.SCOREFLOW_BENCH_LIKELIHOOD_TOL ?? LIKELIHOOD_MODELS[model]!.tol),
});

/** A bench model and its inputs, and a solve at any batch size (the images and probe tiled). */
export interface BenchLikelihood {
  run: (batch: number) => LikelihoodRun;
  /** One evaluation of the solve's right-hand side at the data (t = 0.5), outside any solver (`workers`: the rule's). */
  rhsAlone: (batch: number, workers?: number) => () => void;
  /** The chunk eval.ode_chunk = 0 picks for this model at `batch` on the CPU (src/likelihood/chunk.ts). */
  chunkAt: (batch: number) => ChunkChoice;
  meta: { config: object };
  spec: LikelihoodModelSpec;
  dispose: () => void;
}

export function benchLikelihood(name = 'golden'): BenchLikelihood | null {
  const spec = LIKELIHOOD_MODELS[name];
  if (!spec) throw new Error(`likelihood bench model '${name}': expected one of ${Object.keys(LIKELIHOOD_MODELS).join(', ')}`);
  if (!existsSync(spec.weights)) return null;
  const { eps, tol } = likelihoodTolerances(name);
  const meta = JSON.parse(readFileSync(spec.meta, 'utf8'));
  const config = configFromObject({ model: meta.config.model, data: meta.config.data, training: { sde: 'vpsde', continuous: true } });
  const model = new ScoreModel(config, { seed: 0 });
  model.loadStateDict(asStateDict(loadTorchFile(spec.weights)));
  model.eval();
  const io = readNpzFile(spec.inputs);
  const images = io.get('images')!, probe = io.get('probe')!;
  const n0 = images.shape[0]!, per = images.data.length / n0;
  const tile = (src: ArrayLike<number>, batch: number, f: (v: number) => number): Float32Array => {
    const out = new Float32Array(batch * per);
    for (let i = 0; i < out.length; i++) out[i] = f(src[i % (n0 * per)]!);
    return out;
  };
  registerProbe(`bench-fixed-${name}`, (shape) => fromHost({
    dtype: 'float32', shape, data: tile(probe.data as Int8Array, shape[0]!, (v) => v),
  }));
  const inputAt = (batch: number) => fromHost({
    dtype: 'float32', shape: [batch, ...images.shape.slice(1)], data: tile(images.data as Uint8Array, batch, (v) => ((v + 0.5) / 256) * 2 - 1),
  });
  // As eval runs it (eval.ode_workers = 0): batch slices at once where the rule says so.
  const net = (batch: number, workers = likelihoodWorkers(0, batch, 'cpu')) => model.withOptions({ workers });
  const run = (batch: number): LikelihoodRun => {
    const t0 = performance.now();
    const r = tidy(() => {
      const sde = sdeFromConfig(config);
      const res = odeLikelihood(getScoreFn(sde, net(batch), { continuous: true }), sde, inputAt(batch), {
        eps, rtol: tol, atol: tol, hutchinson: `bench-fixed-${name}`, generator: generator(0), offset: 'centered',
      });
      return { nfe: res.nfe, bpd: Array.from(res.bpd.toArray() as Float64Array) };
    });
    return { seconds: (performance.now() - t0) / 1000, ...r };
  };
  const rhsAlone = (batch: number, workers?: number) => {
    const sde = sdeFromConfig(config);
    const shape = [batch, ...images.shape.slice(1)];
    const probeT = drawProbe(`bench-fixed-${name}`, shape, { dtype: 'float32', device: 'cpu', generator: generator(0) }).keep();
    const rhs = augmentedRhs(probabilityFlowDrift(sde, getScoreFn(sde, net(batch, workers), { continuous: true })), shape, probeT, 'float32', 'float64', 'cpu');
    const state = cat([inputAt(batch).reshape([batch * per]), zeros([batch])]).to('float64').keep();
    return () => tidy(() => noGrad(() => { rhs(0.5, state); }));
  };
  const chunkAt = (batch: number) => tidy(() => {
    const sde = sdeFromConfig(config);
    return likelihoodChunk(getScoreFn(sde, model, { continuous: true }), sde, inputAt(batch), 'cpu');
  });
  return { run, rhsAlone, chunkAt, meta, spec, dispose: () => model.dispose() };
}

/** Alternated likelihood pairs of one bench model at each batch size (threads as given). */
export async function likelihoodRows(name: string, batches: number[], threads: number, repeats: number, ref?: ReferenceWorker): Promise<LikelihoodRow[] | null> {
  if (process.env.SCOREFLOW_BENCH_LIKELIHOOD === '0') return null;
  const golden = benchLikelihood(name);
  if (!golden) { console.log(`likelihood ${name}: skipped (no weights at ${LIKELIHOOD_MODELS[name]!.weights})`); return null; }
  const { eps, tol } = likelihoodTolerances(name);
  const spec = golden.spec;
  if (ref) await ref.call('likelihood_setup', { config: golden.meta.config, weights: spec.weights, inputs: spec.inputs, eps, tol });
  const rows: LikelihoodRow[] = [];
  for (const B of batches) {
    setNumThreads(threads);
    let ours: LikelihoodRun | undefined, theirs: LikelihoodRun | undefined;
    const pair = await alternate('likelihood', threads, B, repeats, () => { ours = golden.run(B); return ours.seconds; },
      ref && (async () => { theirs = await ref.call<LikelihoodRun>('likelihood', { batch: B, threads }); return theirs.seconds; }));
    const o = ours!, t = theirs;
    rows.push({
      ...pair, model: name, eps, tol, workers: likelihoodWorkers(0, B, 'cpu'), nfe: o.nfe, referenceNfe: t?.nfe ?? null, bpd: o.bpd,
      imagesPerSecond: B / pair.medianScoreflow, referenceImagesPerSecond: pair.medianReference ? B / pair.medianReference : null,
      msPerEvaluation: (1000 * pair.medianScoreflow) / o.nfe,
      referenceMsPerEvaluation: t && pair.medianReference ? (1000 * pair.medianReference) / t.nfe : null,
      maxBpdDiff: t ? Math.max(...o.bpd.map((v, i) => Math.abs(v - t.bpd[i]!))) : null,
    });
    printLikelihood(rows.slice(-1));
  }
  golden.dispose();
  return rows;
}

export function printLikelihoodHeader(name: string): void {
  const { eps, tol } = likelihoodTolerances(name);
  console.log(`\nlikelihood: ${name} (${LIKELIHOOD_MODELS[name]!.about}), probability-flow ODE RK45 eps ${eps} rtol=atol ${tol}, fixed Rademacher probe, CPU fp32`);
  console.log('batch threads  slices  scoreflow img/s  ms/eval  NFE   reference img/s  ms/eval  NFE   pair ratio  max|Δbpd|  load');
}

export function printLikelihood(rows: LikelihoodRow[]): void {
  for (const r of rows) {
    const ref = r.referenceImagesPerSecond === null ? 'n/a (pass --reference PATH)'
      : `${r.referenceImagesPerSecond.toFixed(4).padEnd(17)}${r.referenceMsPerEvaluation!.toFixed(1).padEnd(9)}${String(r.referenceNfe).padEnd(6)}` +
        `${r.pairRatio!.toFixed(2)}x`.padEnd(12) + r.maxBpdDiff!.toExponential(2).padEnd(11);
    console.log(`${String(r.batch).padEnd(6)}${String(r.threads).padEnd(9)}${String(r.workers).padEnd(8)}${r.imagesPerSecond.toFixed(4).padEnd(17)}${r.msPerEvaluation.toFixed(1).padEnd(9)}` +
      `${String(r.nfe).padEnd(6)}${ref}${median(r.load).toFixed(1)}`);
  }
}

export interface SweepRow { model: string; batch: number; threads: number; seconds: number; nfe: number; imagesPerSecond: number; msPerEvaluation: number }

/**
 * scoreflow alone: images/s of one solve at each batch size (after one warm-up solve at the first), and the
 * chunk the eval's memory rule picks at the largest — how throughput grows with the batch on this device.
 */
export function likelihoodSweep(name: string, batches: number[], threads: number): { rows: SweepRow[]; chunk: string } | null {
  const m = benchLikelihood(name);
  if (!m || !batches.length) return null;
  setNumThreads(threads);
  m.run(batches[0]!);
  const rows = batches.map((batch) => {
    const r = m.run(batch);
    return { model: name, batch, threads, seconds: r.seconds, nfe: r.nfe, imagesPerSecond: batch / r.seconds, msPerEvaluation: (1000 * r.seconds) / r.nfe };
  });
  const largest = Math.max(...batches);
  const chunk = `memory rule at batch ${largest}: ${describeChunk(m.chunkAt(largest), largest)}`;
  m.dispose();
  console.log(`\nlikelihood sweep, scoreflow alone: ${name}, ${threads} threads (${likelihoodTolerances(name).tol} tolerance)`);
  console.log('batch  img/s     ms/eval  NFE   seconds');
  for (const r of rows) {
    console.log(`${String(r.batch).padEnd(7)}${r.imagesPerSecond.toFixed(3).padEnd(10)}${r.msPerEvaluation.toFixed(1).padEnd(9)}${String(r.nfe).padEnd(6)}${r.seconds.toFixed(1)}`);
  }
  console.log(chunk);
  return { rows, chunk };
}
