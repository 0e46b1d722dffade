/**
 * npm run bench [-- --reference <score_sde_pytorch checkout>] [--threads N] [--repeats N] [--channels-last] [--no-dp]
 * Times the cifar10 DDPM++ model (batch 8, CPU fp32): forward, forward+backward, and a full training step
 * (likelihood weighting + importance sampling), next to the PyTorch reference measured in the same run
 * when a checkout of it is given (the reference has no importance sampling: its step uses likelihood
 * weighting alone). The training step also runs with training.precision = 'bf16' (autocast around the
 * network; float32 weights, Adam, EMA and loss), after the loss of both precisions on the same batch
 * (same weights, same t and z) is compared. --channels-last adds forward+backward with a channels-last
 * input (what model.channels_last = true does) and the bf16 step in NCHW.
 */
import { spawnSync } from 'node:child_process';
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
import { runLikelihoodBench } from './bench/likelihood.js';
import { benchTrainStep } from './bench/train-step.js';

const args = yargs(hideBin(process.argv))
  .option('reference', { type: 'string', describe: 'path of a yang-song/score_sde_pytorch checkout' })
  .option('python', { type: 'string', default: '/usr/bin/python3', describe: 'python with torch for the reference' })
  .option('threads', { type: 'number', default: 2 })
  .option('repeats', { type: 'number', default: 3 })
  .option('batch', { type: 'number', default: 8 })
  .option('config', { type: 'string', default: 'score_sde_pytorch/vp/cifar10_ddpmpp_continuous' })
  .option('channels-last', { type: 'boolean', default: false, describe: 'also time forward+backward channels-last' })
  .option('bf16', { type: 'boolean', default: true, describe: 'time the bf16 training step (--no-bf16 skips it)' })
  .option('dp', { type: 'boolean', default: true, describe: 'data-parallel scaling at 1 and 2 processes (--no-dp skips it)' })
  .strict().parseSync();

function median(fn: () => void, repeats: number): number {
  fn();
  const ts: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    fn();
    ts.push((performance.now() - t0) / 1000);
  }
  return ts.sort((a, b) => a - b)[Math.floor(ts.length / 2)]!;
}

setNumThreads(args.threads);
const config = loadConfig(args.config, ['training.likelihood_weighting=true', 'training.importance_weighting=true', 'model.dropout=0']);
const model = new ScoreModel(config, { seed: 0 });
const gen = generator(0);
const B = args.batch, C = config.data.num_channels, H = config.data.image_size;
const x = rand([B, C, H, H], { generator: gen }).mul(2).sub(1).keep();
const labels = rand([B], { generator: gen }).mul(999).keep();
const { step: trainStep, opt, params } = benchTrainStep(config, model, x, gen);
const loss = getLossFn(sdeFromConfig(config), config.training, { train: true });

// bf16 against fp32 on the same batch, weights, t and z: the loss, and the gradient (norm-wise relative
// difference). The weights get + N(0, 0.02²) first, as the golden fixtures: the DDPM++ output layers start
// at zero (init_scale 0), which would make the loss independent of the network.
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

const ours: Record<string, number> = {
  forward: median(() => tidy(() => noGrad(() => { model.eval().forward(x, labels); })), args.repeats),
  forward_backward: median(() => {
    tidy(() => { model.train().forward(x, labels).square().mean().backward(); });
    opt.zeroGrad();
  }, args.repeats),
};
if (args['channels-last']) {
  ours.forward_backward_channels_last = median(() => {
    tidy(() => { model.train().forward(x, labels, { channelsLast: true }).square().mean().backward(); });
    opt.zeroGrad();
  }, args.repeats);
}
ours.train_step = median(trainStep, args.repeats);
if (args.bf16) {
  model.setPrecision('bf16'); // CPU: channels-last (model.channels_last 'auto'; src/precision.ts resolveChannelsLast)
  ours.train_step_bf16 = median(trainStep, args.repeats);
  if (args['channels-last']) {
    model.setChannelsLast(false);
    ours.train_step_bf16_nchw = median(trainStep, args.repeats);
    model.setChannelsLast('auto');
  }
  model.setPrecision('fp32');
}

let reference: Record<string, number> | undefined;
if (args.reference) {
  const job = { reference: args.reference, threads: args.threads, repeats: args.repeats, batch: B, config, likelihood_weighting: true };
  const r = spawnSync(args.python, [new URL('./bench/reference.py', import.meta.url).pathname], { input: JSON.stringify(job), encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`reference run failed:\n${r.stderr}`);
  reference = JSON.parse(r.stdout.trim().split('\n').pop()!);
}

console.log(`${args.config}: ${model.numParameters().toLocaleString()} parameters, batch ${B}, CPU fp32, ${args.threads} threads, libtorch ${buildInfo().torchVersion}`);
console.log('measure                          scoreflow     reference     ratio (reference / scoreflow)');
for (const [k, v] of Object.entries(ours)) {
  const ref = reference?.[k];
  const refText = ref ? `${(ref * 1000).toFixed(1)} ms`.padEnd(14) + `${(ref / v).toFixed(2)}x`
    : /_(bf16|nchw|channels_last)$/.test(k) ? 'n/a' : 'n/a (pass --reference PATH)';
  console.log(k.padEnd(33) + `${(v * 1000).toFixed(1)} ms`.padEnd(14) + refText);
}
if (ours.train_step_bf16) console.log(`train_step bf16 / fp32: ${(ours.train_step_bf16 / ours.train_step).toFixed(2)}x`);
if (precisionCheck) {
  const { fp32, bf16, grad } = precisionCheck;
  console.log(`loss on one batch (same weights, t, z): fp32 ${fp32.toPrecision(8)}, bf16 ${bf16.toPrecision(8)}, ` +
    `|Δ| ${Math.abs(bf16 - fp32).toExponential(2)} (relative ${(Math.abs(bf16 - fp32) / Math.abs(fp32)).toExponential(2)}); ` +
    `gradient ‖Δ‖/‖g‖ ${grad.toExponential(2)}`);
}

runLikelihoodBench({ reference: args.reference, python: args.python, threads: args.threads }); // likelihood section (scripts/bench/likelihood.ts)
(await import('./bench/gpu.js')).benchGpu({ reference: args.reference, python: args.python }); // GPU rows when CUDA is usable (scripts/bench/gpu.ts)
if (args.dp) await (await import('./bench/data-parallel.js')).benchDataParallel(); // 1 vs 2 processes (scripts/bench/data-parallel.ts)
