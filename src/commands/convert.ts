/** `scoreflow convert <in> <out>`: any supported checkpoint → our state dict (.pth) or .safetensors. */
import { basename, isAbsolute } from 'node:path';
import { ScoreflowError } from '../errors.js';
import { readInputFile } from '../formats/input-file.js';
import { detectFormat } from '../formats/registry.js';
import { saveTorch, stateDict } from '../formats/torch-save.js';
import { writeSafetensors } from '../formats/safetensors.js';
import { writeFileAtomic } from '../train/atomic.js';
import { VERSION } from '../version.js';
import { modelKeysOf, weightsFrom, type WeightChoice, type Weights } from './weights.js';
import { flaxDequantizerWeights } from '../dequant/convert.js';

/**
 * The safetensors `__metadata__` of a conversion. Files get shared: no local paths (they name users and
 * machines), only the input's file name and a config's name (a bundled name, or a config file's name).
 */
export function conversionMetadata(input: string, w: Weights, config?: string): Record<string, string> {
  return {
    format: 'pt', // safetensors' convention: the tensors are in torch's layout and naming
    source: basename(input),
    source_format: w.format,
    weights: w.choice,
    ...(config !== undefined ? { config: isConfigPath(config) ? basename(config) : config } : {}),
    scoreflow_version: VERSION,
  };
}

/** A config given as a file (as src/config/load.ts tells paths from names), not a bundled name. */
const isConfigPath = (c: string) => isAbsolute(c) || c.startsWith('./') || c.startsWith('../') || c.endsWith('.json');

export async function run(args: Record<string, unknown>, overrides: string[]): Promise<void> {
  const input = String(args.input);
  const output = String(args.output);
  const choice = (args.weights ?? 'ema') as WeightChoice;
  const config = args.config === undefined ? undefined : String(args.config);
  const bytes = readInputFile(input);
  if (config === undefined && detectFormat(bytes, input) === 'flax-msgpack') {
    throw new ScoreflowError('ERR_ARG', `--config: ${input} is a flax checkpoint, which holds no torch parameter names; ` +
      'name the model config it was trained with (e.g. --config score_flow/vp/cifar10_ddpmpp_continuous)');
  }
  // score_flow's dequantizer checkpoints (flowpp_dequantizer/checkpoints/checkpoint_<N>) are flax too.
  const deq = config !== undefined && detectFormat(bytes, input) === 'flax-msgpack'
    ? await flaxDequantizerWeights(bytes, input, choice, config, overrides) : undefined;
  const model = config !== undefined && !deq ? await modelKeysOf(config, overrides) : undefined;
  const w: Weights = deq
    ? { weights: deq, format: 'flax-msgpack', choice, kind: `flax Flow++ dequantizer, ${choice} weights` }
    : weightsFrom(bytes, input, choice, model);
  const encoded = output.endsWith('.safetensors')
    ? writeSafetensors(w.weights, conversionMetadata(input, w, config))
    : saveTorch(stateDict(w.weights));
  writeFileAtomic(output, encoded);
  console.log(`scoreflow convert: ${input} (${w.kind}) → ${output}: ${w.weights.size} tensors`);
}
