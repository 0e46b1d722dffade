/** `scoreflow convert <in> <out>`: any supported checkpoint → our state dict (.pth) or .safetensors. */
import { ScoreflowError } from '../errors.js';
import { readInputFile } from '../formats/input-file.js';
import { detectFormat } from '../formats/registry.js';
import { saveTorch, stateDict } from '../formats/torch-save.js';
import { writeSafetensors } from '../formats/safetensors.js';
import { writeFileAtomic } from '../train/atomic.js';
import { modelKeysOf, weightsFrom, type WeightChoice } from './weights.js';
import { flaxDequantizerWeights } from '../dequant/convert.js';

export async function run(args: Record<string, unknown>, overrides: string[]): Promise<void> {
  const input = String(args.input);
  const output = String(args.output);
  const choice = (args.weights ?? 'ema') as WeightChoice;
  const bytes = readInputFile(input);
  if (!args.config && detectFormat(bytes, input) === 'flax-msgpack') {
    throw new ScoreflowError('ERR_ARG', `--config: ${input} is a flax checkpoint, which holds no torch parameter names; ` +
      'name the model config it was trained with (e.g. --config score_flow/vp/cifar10_ddpmpp_continuous)');
  }
  // score_flow's dequantizer checkpoints (flowpp_dequantizer/checkpoints/checkpoint_<N>) are flax too.
  const deq = args.config && detectFormat(bytes, input) === 'flax-msgpack'
    ? await flaxDequantizerWeights(bytes, input, choice, String(args.config), overrides) : undefined;
  const model = args.config && !deq ? await modelKeysOf(String(args.config), overrides) : undefined;
  const { weights, kind } = deq ? { weights: deq, kind: `flax Flow++ dequantizer, ${choice} weights` } : weightsFrom(bytes, input, choice, model);
  const encoded = output.endsWith('.safetensors')
    ? writeSafetensors(weights, { format: 'pt', source: input })
    : saveTorch(stateDict(weights));
  writeFileAtomic(output, encoded);
  console.log(`scoreflow convert: ${input} (${kind}) → ${output}: ${weights.size} tensors`);
}
