/**
 * npm run bench [-- --reference <score_sde_pytorch checkout>] [--threads N] [--repeats N]
 * Times the cifar10 DDPM++ model (batch 8, CPU fp32): forward, forward+backward, and a full training step
 * (likelihood weighting + importance sampling), next to the PyTorch reference measured in the same run
 * when a checkout of it is given (the reference has no importance sampling: its step uses likelihood
 * weighting alone).
 */
import { spawnSync } from 'node:child_process';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadConfig } from '../src/config/index.js';
import { ScoreModel } from '../src/model/score-model.js';
import { Ema } from '../src/model/ema.js';
import { Optimizer } from '../src/train/optimizer.js';
import { sdeFromConfig } from '../src/sde/index.js';
import { getLossFn } from '../src/losses/index.js';
import { generator, rand } from '../src/random.js';
import { noGrad } from '../src/autograd.js';
import { tidy } from '../src/scope.js';
import { setNumThreads, buildInfo } from '../src/device.js';
import { runLikelihoodBench } from './bench/likelihood.js';

const args = yargs(hideBin(process.argv))
  .option('reference', { type: 'string', describe: 'path of a yang-song/score_sde_pytorch checkout' })
  .option('python', { type: 'string', default: '/usr/bin/python3', describe: 'python with torch for the reference' })
  .option('threads', { type: 'number', default: 2 })
  .option('repeats', { type: 'number', default: 3 })
  .option('batch', { type: 'number', default: 8 })
  .option('config', { type: 'string', default: 'score_sde_pytorch/vp/cifar10_ddpmpp_continuous' })
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
const params = model.parameters();
const ema = new Ema(params, config.model.ema_rate);
const opt = new Optimizer(params, config.optim);
const loss = getLossFn(sdeFromConfig(config), config.training, { train: true });
let step = 0;

const ours = {
  forward: median(() => tidy(() => noGrad(() => { model.eval().forward(x, labels); })), args.repeats),
  forward_backward: median(() => {
    tidy(() => { model.train().forward(x, labels).square().mean().backward(); });
    opt.zeroGrad();
  }, args.repeats),
  train_step: median(() => {
    tidy(() => {
      loss(model.train(), x, { generator: gen }).loss.backward();
      opt.step(step++).gradNorm.dispose();
    });
    opt.zeroGrad();
    ema.update(params);
  }, args.repeats),
};

let reference: Record<string, number> | undefined;
if (args.reference) {
  const job = { reference: args.reference, threads: args.threads, repeats: args.repeats, batch: B, config, likelihood_weighting: true };
  const r = spawnSync(args.python, [new URL('./bench/reference.py', import.meta.url).pathname], { input: JSON.stringify(job), encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`reference run failed:\n${r.stderr}`);
  reference = JSON.parse(r.stdout.trim().split('\n').pop()!);
}

console.log(`${args.config}: ${model.numParameters().toLocaleString()} parameters, batch ${B}, CPU fp32, ${args.threads} threads, libtorch ${buildInfo().torchVersion}`);
console.log('measure              scoreflow     reference     ratio (reference / scoreflow)');
for (const [k, v] of Object.entries(ours)) {
  const ref = reference?.[k];
  console.log(k.padEnd(21) + `${(v * 1000).toFixed(1)} ms`.padEnd(14) + (ref ? `${(ref * 1000).toFixed(1)} ms`.padEnd(14) + `${(ref / v).toFixed(2)}x` : 'n/a (pass --reference PATH)'));
}

runLikelihoodBench({ reference: args.reference, python: args.python, threads: args.threads }); // likelihood section (scripts/bench/likelihood.ts)
