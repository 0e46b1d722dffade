/**
 * node --import ./scripts/register-ts.js scripts/bench/step-phases.ts [--config …] [--batch 8] [--threads 2] [--steps 3]
 * Where a training step's time goes: loss + backward, clipping + Adam, EMA, with minor page faults per phase
 * (fresh pages the allocator had given back to the system) — the same step `npm run bench` times.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadConfig } from '../../src/config/index.js';
import { ScoreModel } from '../../src/model/score-model.js';
import { Ema } from '../../src/model/ema.js';
import { Optimizer } from '../../src/train/optimizer.js';
import { sdeFromConfig } from '../../src/sde/index.js';
import { getLossFn } from '../../src/losses/index.js';
import { generator, rand } from '../../src/random.js';
import { tidy } from '../../src/scope.js';
import { setNumThreads } from '../../src/device.js';

const args = yargs(hideBin(process.argv))
  .option('config', { type: 'string', default: 'score_sde_pytorch/vp/cifar10_ddpmpp_continuous' })
  .option('batch', { type: 'number', default: 8 })
  .option('threads', { type: 'number', default: 2 })
  .option('steps', { type: 'number', default: 3 })
  .strict().parseSync();

setNumThreads(args.threads);
const config = loadConfig(args.config, ['training.likelihood_weighting=true', 'training.importance_weighting=true', 'model.dropout=0']);
const model = new ScoreModel(config, { seed: 0 });
const gen = generator(0);
const B = args.batch, C = config.data.num_channels, H = config.data.image_size;
const x = rand([B, C, H, H], { generator: gen }).mul(2).sub(1).keep();
const params = model.parameters();
const ema = new Ema(params, config.model.ema_rate);
const opt = new Optimizer(params, config.optim);
const loss = getLossFn(sdeFromConfig(config), config.training, { train: true });
const faults = () => process.resourceUsage().minorPageFault;
const phases: Record<string, { ms: number; faults: number }> = {};
const time = (name: string, f: () => void) => {
  const f0 = faults(), t0 = performance.now();
  f();
  const p = (phases[name] ??= { ms: 0, faults: 0 });
  p.ms += performance.now() - t0; p.faults += faults() - f0;
};
for (let i = 0; i <= args.steps; i++) {
  if (i === 1) for (const k of Object.keys(phases)) delete phases[k]; // the first step warms up
  tidy(() => {
    time('loss + backward', () => loss(model.train(), x, { generator: gen }).loss.backward());
    time('clip + Adam', () => opt.step(i).gradNorm.dispose());
  });
  time('zero grad', () => opt.zeroGrad());
  time('EMA', () => ema.update(params));
}
console.log(`${args.config}, batch ${B}, ${args.threads} threads, ${model.numParameters().toLocaleString()} parameters; per step over ${args.steps} steps:`);
for (const [k, p] of Object.entries(phases)) console.log(`  ${k.padEnd(16)} ${(p.ms / args.steps).toFixed(1).padStart(8)} ms  ${(p.faults / args.steps).toFixed(0).padStart(7)} minor faults`);
