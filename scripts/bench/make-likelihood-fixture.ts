/**
 * node --import ./scripts/register-ts.js scripts/bench/make-likelihood-fixture.ts --workdir runs/fmnist_quick
 *   [--ckpt 1] [--images 16] [--out bench/fixtures/fmnist_quick]
 * Writes a trained likelihood-bench model from a training run: `weights.pth` (the EMA weights as a plain state
 * dict, what score_sde_pytorch's `load_state_dict` takes), `inputs.npz` (the first N test images, uint8 NCHW, and
 * a Rademacher probe, int8 ±1, seed 0) and `meta.json` (the run's resolved config in the references' layout, and
 * where the data came from). The golden model's ODE (random weights) is chaotic: two correct solvers at the same
 * NFE differ by 0.1 bits/dim at tolerance 1e-3, so agreement is checked on a trained model.
 */
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { weightsFrom } from '../../src/commands/weights.js';
import { saveTorch, stateDict } from '../../src/formats/torch-save.js';
import { writeNpzFile } from '../../src/formats/npz.js';
import { datasetFromConfig } from '../../src/data/index.js';
import { generator, rademacher } from '../../src/random.js';
import '../../src/tensor.js'; // the Tensor methods (toArray) on the addon's tensors

const args = yargs(hideBin(process.argv))
  .option('workdir', { type: 'string', demandOption: true, describe: 'a finished `scoreflow train` run' })
  .option('ckpt', { type: 'number', default: 1, describe: 'checkpoints/checkpoint_<N>.pth' })
  .option('images', { type: 'number', default: 16 })
  .option('out', { type: 'string', default: 'bench/fixtures/fmnist_quick' })
  .option('config-name', { type: 'string', default: 'fmnist_quick', describe: 'the config the run was trained with (for meta.json)' })
  .strict().parseSync();

const ckptFile = join(args.workdir, 'checkpoints', `checkpoint_${args.ckpt}.pth`);
const config = JSON.parse(readFileSync(join(args.workdir, 'config.json'), 'utf8'));
const ckptBytes = readFileSync(ckptFile);
const w = weightsFrom(ckptBytes, ckptFile, 'ema');
mkdirSync(args.out, { recursive: true });
writeFileSync(join(args.out, 'weights.pth'), saveTorch(stateDict(w.weights)));

const test = datasetFromConfig(config.data, 'test');
const per = test.channels * test.height * test.width;
const images = new Uint8Array(args.images * per);
for (let i = 0; i < args.images; i++) test.readImage(i, images, i * per);
const shape = [args.images, test.channels, test.height, test.width];
const probe = rademacher(shape, { dtype: 'float32', generator: generator(0) });
const probeData = Int8Array.from(probe.toArray() as Float32Array);
probe.dispose();
writeNpzFile(join(args.out, 'inputs.npz'), { images: { dtype: 'uint8', shape, data: images }, probe: { dtype: 'int8', shape, data: probeData } });

const step = (JSON.parse(readFileSync(join(args.workdir, 'metrics.jsonl'), 'utf8').trim().split('\n').at(-1)!) as { step?: number }).step;
writeFileSync(join(args.out, 'meta.json'), JSON.stringify({
  description: `the README main job's model (scoreflow train --config ${args['config-name']}), EMA weights of checkpoint_${args.ckpt} (step ${step ?? '?'})`,
  images: `the first ${args.images} ${test.name} test images (${test.source}), uint8 NCHW; probe: Rademacher ±1, int8, seed 0`,
  weights: 'weights.pth: the EMA weights as a plain state dict (torch zip, OrderedDict)',
  config,
}, null, 2) + '\n');
console.log(`wrote ${args.out}: ${w.weights.size} tensors, ${args.images} images ${shape.join('x')}`);
