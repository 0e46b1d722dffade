/**
 * npm run bench [-- --reference <score_sde_pytorch checkout>] [--threads 2,1] [--repeats N] [--channels-last]
 *   [--measures train_step,...] [--likelihood-models fmnist_quick,golden] [--likelihood-batches 4,16] [--likelihood-repeats N] [--likelihood-threads N] [--out FILE] [--no-dp]
 * Times the cifar10 DDPM++ model (batch 8, CPU fp32): forward, forward+backward, and a full training step
 * (likelihood weighting + importance sampling), and the likelihood solve on the golden model
 * (scripts/bench/likelihood.ts), at each thread count. With a reference checkout, each row alternates
 * scoreflow and the reference run by run (A B A B ..., scripts/bench/alternate.ts) and reports both medians
 * and the median per-pair ratio; the reference has no importance sampling (its step uses likelihood
 * weighting alone) and runs in its best setting (--reference-env, default OPENBLAS_NUM_THREADS=1, and the
 * wait policy scoreflow picks for the machine's load). The training step also runs with training.precision = 'bf16' (scoreflow
 * only), after the loss of both precisions on the same batch is compared. Prints the load, the BLAS mapped
 * by each side, and writes everything to bench/results/cpu-<date>.json.
 */
import { launchEnv } from './bench/launch-env.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadConfig } from '../src/config/index.js';
import { ScoreModel } from '../src/model/score-model.js';
import { sdeFromConfig } from '../src/sde/index.js';
import { getLossFn } from '../src/losses/index.js';
import { generator, rand, randn } from '../src/random.js';
import { noGrad } from '../src/autograd.js';
import { tidy } from '../src/scope.js';
import { setNumThreads, buildInfo } from '../src/device.js';
import { threadEnvDefaults } from '../src/thread-env.js';
import { likelihoodRows, likelihoodSweep, printLikelihoodHeader, likelihoodTolerances, LIKELIHOOD_MODELS } from './bench/likelihood.js';
import { benchTrainStep } from './bench/train-step.js';
import { alternate, median, seconds, type PairRow } from './bench/alternate.js';
import { ReferenceWorker } from './bench/reference-client.js';
import { machine, mappedBlas, threadEnv } from './bench/machine.js';

const list = (s: string) => s.split(',').map(Number);
const args = yargs(hideBin(process.argv))
  .option('reference', { type: 'string', describe: 'path of a yang-song/score_sde_pytorch checkout' })
  .option('python', { type: 'string', default: '/usr/bin/python3', describe: 'python with torch for the reference' })
  .option('threads', { type: 'string', default: '2,1', describe: 'thread counts, comma-separated' })
  .option('repeats', { type: 'number', default: 5, describe: 'alternated pairs per model row' })
  .option('batch', { type: 'number', default: 8 })
  .option('config', { type: 'string', default: 'score_sde_pytorch/vp/cifar10_ddpmpp_continuous' })
  .option('channels-last', { type: 'boolean', default: false, describe: 'also time forward+backward channels-last' })
  .option('bf16', { type: 'boolean', default: true, describe: 'time the bf16 training step (--no-bf16 skips it)' })
  .option('likelihood-models', { type: 'string', default: 'fmnist_quick,golden', describe: `likelihood bench models, comma-separated (${Object.keys(LIKELIHOOD_MODELS).join(', ')})` })
  .option('likelihood-batches', { type: 'string', default: '4,16', describe: 'likelihood batch sizes, comma-separated' })
  .option('likelihood-sweep', { type: 'string', default: '1,4,16,64', describe: "scoreflow-only likelihood batch sizes for the first model ('' skips)" })
  .option('likelihood-repeats', { type: 'number', default: 3, describe: 'alternated pairs per likelihood row' })
  .option('likelihood-threads', { type: 'string', describe: 'thread counts for the likelihood rows (default: --threads)' })
  .option('reference-env', { type: 'string', default: 'OPENBLAS_NUM_THREADS=1', describe: "the reference's environment on top of the launch one (KEY=VALUE,...; KEY= unsets)" })
  .option('measures', { type: 'string', describe: 'only these model rows, comma-separated (forward, forward_backward, train_step, ...)' })
  .option('out', { type: 'string', describe: 'JSON file (default bench/results/cpu-<date>.json; "" writes none)' })
  .option('dp', { type: 'boolean', default: true, describe: 'data-parallel scaling at 1 and 2 processes (--no-dp skips it)' })
  .strict().parseSync();

const threadCounts = list(args.threads);
const loadStart = machine().loadavg;
const config = loadConfig(args.config, ['training.likelihood_weighting=true', 'training.importance_weighting=true', 'model.dropout=0']);
const model = new ScoreModel(config, { seed: 0 });
const gen = generator(0);
const B = args.batch, C = config.data.num_channels, H = config.data.image_size;
const x = rand([B, C, H, H], { generator: gen }).mul(2).sub(1).keep();
const labels = rand([B], { generator: gen }).mul(999).keep();
const { step: trainStep, opt, params } = benchTrainStep(config, model, x, gen);
const loss = getLossFn(sdeFromConfig(config), config.training, { train: true });

/**
 * The reference's best setting: OpenBLAS with one thread under torch's OpenMP ops (--reference-env), and the
 * wait policy scoreflow's own rule picks for this machine now (src/thread-env.ts: spin when idle, PASSIVE under load).
 */
function referenceEnv(spec: string): NodeJS.ProcessEnv {
  const { OMP_WAIT_POLICY, GOMP_SPINCOUNT } = threadEnvDefaults(launchEnv, availableParallelism(), loadavg()[0]!);
  const env: NodeJS.ProcessEnv = { ...launchEnv, ...(OMP_WAIT_POLICY && { OMP_WAIT_POLICY }), ...(GOMP_SPINCOUNT && { GOMP_SPINCOUNT }) };
  for (const kv of spec.split(',').filter(Boolean)) {
    const i = kv.indexOf('=');
    if (i < 1) throw new Error(`--reference-env: expected KEY=VALUE pairs separated by commas, got '${kv}'`);
    const [k, v] = [kv.slice(0, i), kv.slice(i + 1)];
    if (v === '') delete env[k]; else env[k] = v;
  }
  return env;
}
const refEnv = referenceEnv(args['reference-env']);
const ref = args.reference
  ? await ReferenceWorker.start({ reference: args.reference, python: args.python, threads: threadCounts[0]!, env: refEnv })
  : undefined;
const refInfo = ref ? await ref.call<{ torch: string; blas: string[]; env: Record<string, string | null> }>('info') : undefined;
if (ref) await ref.call('train', { config, batch: B });

// bf16 against fp32 on the same batch, weights, t and z: the loss, and the gradient (norm-wise relative
// difference). The weights get + N(0, 0.02²) first, as the golden fixtures: the DDPM++ output layers start
// at zero (init_scale 0), which would make the loss independent of the network. The perturbed weights are
// what every row below times (the timings do not depend on the values).
const precisionCheck = args.bf16 ? tidy(() => {
  noGrad(() => { for (const p of params) p.copy_(p.add(randn(p.shape, { generator: gen }).mul(0.02))); });
  const t = rand([B], { generator: gen }).mul(1 - config.training.smallest_time).add(config.training.smallest_time);
  const z = randn([B, C, H, H], { generator: gen });
  const run = (precision: 'fp32' | 'bf16') => {
    model.setPrecision(precision);
    opt.zeroGrad();
    const l = loss(model.train(), x, { generator: gen, t, z }).loss;
    l.backward();
    const g = params.map((p) => p.grad!.clone());
    return { loss: l.item(), g };
  };
  const a = run('fp32'), b = run('bf16');
  model.setPrecision('fp32');
  opt.zeroGrad();
  const sq = (gs: typeof a.g) => Math.sqrt(gs.reduce((s, g) => s + g.square().sum().item(), 0));
  return { fp32: a.loss, bf16: b.loss, grad: sq(b.g.map((g, i) => g.sub(a.g[i]!))) / sq(a.g) };
}) : undefined;

const measures: Record<string, () => void> = {
  forward: () => tidy(() => noGrad(() => { model.eval().forward(x, labels); })),
  forward_backward: () => { tidy(() => { model.train().forward(x, labels).square().mean().backward(); }); opt.zeroGrad(); },
  train_step: trainStep,
};
const refMeasures = new Set(['forward', 'forward_backward', 'train_step']);
if (args['channels-last']) {
  measures.forward_backward_channels_last = () => {
    tidy(() => { model.train().forward(x, labels, { channelsLast: true }).square().mean().backward(); });
    opt.zeroGrad();
  };
}
if (args.bf16) {
  // CPU bf16: channels-last (model.channels_last 'auto'; src/precision.ts resolveChannelsLast).
  measures.train_step_bf16 = () => { model.setPrecision('bf16'); try { trainStep(); } finally { model.setPrecision('fp32'); } };
}

const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;
console.log(`${args.config}: ${model.numParameters().toLocaleString()} parameters, batch ${B}, CPU fp32, libtorch ${buildInfo().torchVersion}; ` +
  `${machine().cpu}, ${machine().cores} CPUs, load average ${loadStart.map((v) => v.toFixed(2)).join(' ')}`);
console.log(`scoreflow: BLAS ${mappedBlas().join(', ') || 'none mapped'}; ${JSON.stringify(threadEnv(process.env))}`);
if (refInfo) console.log(`reference: torch ${refInfo.torch}, BLAS ${refInfo.blas.join(', ')}; best setting ${JSON.stringify(refInfo.env)} (--reference-env)`);
console.log(`alternated A B pairs: ${args.repeats} per row after one warm-up run of each side; ratio = median over pairs of reference / scoreflow time`);
console.log('measure                         threads  scoreflow     reference     pair ratio  load');
const chosen = args.measures?.split(',').filter(Boolean); // '' : none (the likelihood rows alone)
const unknown = chosen?.filter((m) => !(m in measures));
if (unknown?.length) throw new Error(`--measures: unknown ${unknown.join(', ')}; expected some of ${Object.keys(measures).join(', ')}`);
const rows: PairRow[] = [];
for (const threads of threadCounts) {
  setNumThreads(threads);
  for (const [name, fn] of Object.entries(measures).filter(([m]) => !chosen || chosen.includes(m))) {
    const refRun = ref && refMeasures.has(name) ? async () => (await ref.call<{ seconds: number }>('time', { measure: name, threads })).seconds : undefined;
    const r = await alternate(name, threads, B, args.repeats, () => seconds(fn), refRun);
    rows.push(r);
    const refText = r.medianReference !== null ? ms(r.medianReference).padEnd(14) + `${r.pairRatio!.toFixed(2)}x`.padEnd(12)
      : (refMeasures.has(r.measure) ? 'n/a (pass --reference PATH)' : 'n/a').padEnd(26);
    console.log(r.measure.padEnd(32) + String(r.threads).padEnd(9) + ms(r.medianScoreflow).padEnd(14) + refText + median(r.load).toFixed(1));
  }
}
for (const threads of threadCounts) {
  const f = rows.find((r) => r.measure === 'train_step' && r.threads === threads), b = rows.find((r) => r.measure === 'train_step_bf16' && r.threads === threads);
  if (f && b) console.log(`train_step bf16 / fp32 (${threads} threads): ${(b.medianScoreflow / f.medianScoreflow).toFixed(2)}x`);
}
if (precisionCheck) {
  const { fp32, bf16, grad } = precisionCheck;
  console.log(`loss on one batch (same weights, t, z): fp32 ${fp32.toPrecision(8)}, bf16 ${bf16.toPrecision(8)}, ` +
    `|Δ| ${Math.abs(bf16 - fp32).toExponential(2)} (relative ${(Math.abs(bf16 - fp32) / Math.abs(fp32)).toExponential(2)}); ` +
    `gradient ‖Δ‖/‖g‖ ${grad.toExponential(2)}`);
}
model.dispose();

const likelihood = [];
const likelihoodModels = args['likelihood-models'].split(',').filter(Boolean);
for (const name of likelihoodModels) {
  if (!(name in LIKELIHOOD_MODELS)) throw new Error(`--likelihood-models: unknown '${name}'; expected some of ${Object.keys(LIKELIHOOD_MODELS).join(', ')}`);
}
for (const name of process.env.SCOREFLOW_BENCH_LIKELIHOOD === '0' ? [] : likelihoodModels) {
  printLikelihoodHeader(name);
  for (const threads of list(args['likelihood-threads'] ?? args.threads)) {
    likelihood.push(...(await likelihoodRows(name, list(args['likelihood-batches']), threads, args['likelihood-repeats'], ref) ?? []));
  }
}
const sweep = process.env.SCOREFLOW_BENCH_LIKELIHOOD === '0' || !likelihoodModels.length ? null
  : likelihoodSweep(likelihoodModels[0]!, args['likelihood-sweep'] ? list(args['likelihood-sweep']) : [], threadCounts[0]!);
ref?.close();
const loadEnd = machine().loadavg;
console.log(`\nload average (1, 5, 15 min): ${loadStart.map((v) => v.toFixed(2)).join(' ')} at the start, ${loadEnd.map((v) => v.toFixed(2)).join(' ')} at the end` +
  (loadEnd[0]! > machine().cores * 0.75 || loadStart[0]! > machine().cores * 0.75 ? ' — the machine was busy: the figures were taken under load' : ''));

const out = args.out ?? join(new URL('../bench/results/', import.meta.url).pathname, `cpu-${new Date().toISOString().replace(/[:]/g, '-').slice(0, 16)}.json`);
if (out) {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({
    date: new Date().toISOString(), argv: process.argv.slice(2), machine: { ...machine(), loadStart, loadEnd },
    scoreflow: { libtorch: buildInfo().torchVersion, blas: mappedBlas(), env: threadEnv(process.env) },
    reference: refInfo ? { path: args.reference, torch: refInfo.torch, blas: refInfo.blas, env: refInfo.env, setting: args['reference-env'] } : null,
    likelihoodTolerances: Object.fromEntries(likelihoodModels.map((m) => [m, likelihoodTolerances(m)])), precisionCheck: precisionCheck ?? null, rows, likelihood, likelihoodSweep: sweep,
  }, null, 2) + '\n');
  console.log(`wrote ${out}`);
}
(await import('./bench/gpu.js')).benchGpu({ reference: args.reference, python: args.python }); // GPU rows when CUDA is usable (scripts/bench/gpu.ts)
if (args.dp) await (await import('./bench/data-parallel.js')).benchDataParallel(); // 1 vs 2 processes (scripts/bench/data-parallel.ts)
