/** `scoreflow convert <in> <out>`: any supported checkpoint → our state dict (.pth) or .safetensors. */
import { saveTorch, stateDict } from '../formats/torch-save.js';
import { writeSafetensors } from '../formats/safetensors.js';
import { writeFileAtomic } from '../train/atomic.js';
import { loadWeights, modelKeysOf, type WeightChoice } from './weights.js';

export async function run(args: Record<string, unknown>, overrides: string[]): Promise<void> {
  const input = String(args.input);
  const output = String(args.output);
  const choice = (args.weights ?? 'ema') as WeightChoice;
  const model = args.config ? await modelKeysOf(String(args.config), overrides) : undefined;
  const { weights, kind } = loadWeights(input, choice, model);
  const bytes = output.endsWith('.safetensors')
    ? writeSafetensors(weights, { format: 'pt', source: input })
    : saveTorch(stateDict(weights));
  writeFileAtomic(output, bytes);
  console.log(`scoreflow convert: ${input} (${kind}) → ${output}: ${weights.size} tensors`);
}
