/**
 * npm run bench's GPU rows on their own (scripts/bench/gpu.ts):
 * node --import ./scripts/register-ts.js scripts/bench-gpu.ts [--device cpu --tiny] [--reference PATH] [--python P]
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { benchGpu } from './bench/gpu.js';

const args = yargs(hideBin(process.argv))
  .option('device', { type: 'string', describe: "'cuda:N', or 'cpu' for a dry run" })
  .option('tiny', { type: 'boolean', default: false, describe: 'tiny sizes (a dry run of the code paths)' })
  .option('reference', { type: 'string', describe: 'path of a yang-song/score_sde_pytorch checkout' })
  .option('python', { type: 'string', default: '/usr/bin/python3' })
  .option('repeats', { type: 'number' })
  .option('warmup', { type: 'number' })
  .option('batch', { type: 'number' })
  .option('out', { type: 'string', describe: "JSON path ('' writes none)" })
  .strict().parseSync();
benchGpu({ ...args, device: args.device, tiny: args.tiny });
