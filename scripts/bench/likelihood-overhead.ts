/**
 * node --import ./scripts/register-ts.js scripts/bench/likelihood-overhead.ts [--batch 4] [--threads 2] [--model golden]
 * Where a likelihood evaluation's time goes outside the network: the same right-hand side (drift + Hutchinson
 * VJP at a fixed state) timed alone, next to the per-evaluation time inside an RK45 solve on a bench model,
 * with minor page faults per evaluation for both (fresh pages the allocator had given back to the system).
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { setNumThreads } from '../../src/device.js';
import { benchLikelihood } from './likelihood.js';

const args = yargs(hideBin(process.argv))
  .option('batch', { type: 'number', default: 4 })
  .option('threads', { type: 'number', default: 2 })
  .option('evaluations', { type: 'number', default: 30 })
  .option('model', { type: 'string', default: 'golden', describe: 'bench model (scripts/bench/likelihood.ts)' })
  .strict().parseSync();

setNumThreads(args.threads);
const golden = benchLikelihood(args.model);
if (!golden) throw new Error(`likelihood-overhead: no weights for the bench model '${args.model}'`);
const faults = () => process.resourceUsage().minorPageFault;
const alone = golden.rhsAlone(args.batch);
alone(); alone();
let f0 = faults(), t0 = performance.now();
for (let i = 0; i < args.evaluations; i++) alone();
const aloneMs = (performance.now() - t0) / args.evaluations, aloneFaults = (faults() - f0) / args.evaluations;
golden.run(args.batch);
f0 = faults(); t0 = performance.now();
const r = golden.run(args.batch);
const solveMs = (performance.now() - t0) / r.nfe, solveFaults = (faults() - f0) / r.nfe;
console.log(`batch ${args.batch}, ${args.threads} threads: right-hand side alone ${aloneMs.toFixed(1)} ms (${aloneFaults.toFixed(0)} minor faults); ` +
  `inside the solve ${solveMs.toFixed(1)} ms per evaluation (${solveFaults.toFixed(0)} minor faults), ${r.nfe} NFE; overhead ${((solveMs / aloneMs - 1) * 100).toFixed(1)} %`);
golden.dispose();
