/**
 * node --import ./scripts/register-ts.js scripts/bench/likelihood-split.ts [--model fmnist_quick] [--batches 4,16,64] [--threads 2]
 * The likelihood's right-hand side with its network calls whole against split into one slice a thread
 * (eval.ode_workers, src/likelihood/workers.ts), alternated in one process (whole, split, whole, ...), ms per
 * evaluation: the measurement behind the eval.ode_workers = 0 rule.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { setNumThreads } from '../../src/device.js';
import { benchLikelihood } from './likelihood.js';

const args = yargs(hideBin(process.argv))
  .option('model', { type: 'string', default: 'fmnist_quick', describe: 'bench model (scripts/bench/likelihood.ts)' })
  .option('batches', { type: 'string', default: '4,16,64' })
  .option('threads', { type: 'number', default: 2 })
  .option('rounds', { type: 'number', default: 3, describe: 'alternations per batch size' })
  .option('evaluations', { type: 'number', default: 6, describe: 'evaluations timed per side and round' })
  .strict().parseSync();

setNumThreads(args.threads);
const m = benchLikelihood(args.model);
if (!m) throw new Error(`likelihood-split: no weights for the bench model '${args.model}'`);
const msPerEvaluation = (rhs: () => void): number => {
  rhs();
  const t0 = performance.now();
  for (let i = 0; i < args.evaluations; i++) rhs();
  return (performance.now() - t0) / args.evaluations;
};
console.log(`${args.model}, ${args.threads} threads: ms per evaluation, whole call vs ${args.threads} slices at once`);
for (const batch of args.batches.split(',').map(Number)) {
  const whole = m.rhsAlone(batch, 1), split = m.rhsAlone(batch, args.threads);
  const pairs: string[] = [];
  for (let r = 0; r < args.rounds; r++) pairs.push(`${msPerEvaluation(whole).toFixed(1)} vs ${msPerEvaluation(split).toFixed(1)}`);
  console.log(`batch ${batch}: ${pairs.join(', ')}`);
}
m.dispose();
