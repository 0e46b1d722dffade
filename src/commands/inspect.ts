/** `scoreflow inspect <file>`: what a checkpoint holds and which bundled model config it matches. */
import { detectFormat, readCheckpoint } from '../formats/registry.js';
import { readInputFile } from '../formats/input-file.js';
import { listConfigs, loadConfig } from '../config/index.js';
import { numel, type HostTensor } from '../host-tensor.js';
import { weightsFrom } from './weights.js';

export async function run(args: Record<string, unknown>): Promise<void> {
  const file = String(args.file);
  const bytes = readInputFile(file);
  if (detectFormat(bytes, file) === 'flax-msgpack') {
    const tree = readCheckpoint(bytes, file).value as Map<string, unknown>;
    console.log(`${file}: flax msgpack; top-level keys: ${[...tree.keys()].join(', ')} ` +
      '(use `scoreflow convert --config <model config>` to map its names)');
    return;
  }
  const { weights, kind } = weightsFrom(bytes, file, 'raw');
  const total = [...weights.values()].reduce((a, t) => a + numel(t.shape), 0);
  const dtypes = new Map<string, number>();
  for (const t of weights.values()) dtypes.set(t.dtype, (dtypes.get(t.dtype) ?? 0) + 1);
  console.log(`${file}: ${kind}`);
  console.log(`  ${weights.size} tensors, ${total.toLocaleString()} elements; dtypes ${[...dtypes].map(([d, n]) => `${d}×${n}`).join(', ')}`);
  if (args.keys) for (const [k, t] of weights) console.log(`  ${k}\t[${t.shape.join(', ')}]\t${t.dtype}`);
  const matches = await matchingConfigs(weights);
  console.log(matches.length ? `  matches configs: ${matches.join(', ')}` : '  matches none of the bundled configs');
}

/**
 * Bundled configs whose model has exactly these names and shapes. Candidates are first filtered by the
 * element count, so only plausible models are built.
 */
async function matchingConfigs(weights: Map<string, HostTensor>): Promise<string[]> {
  const { modelKeysOf } = await import('./weights.js');
  const want = [...weights].map(([k, t]) => `${k}:${t.shape.join('x')}`).sort().join('|');
  const total = [...weights.values()].reduce((a, t) => a + numel(t.shape), 0);
  const out: string[] = [];
  const cache = new Map<string, string>();
  for (const name of listConfigs()) {
    const c = loadConfig(name);
    const key = JSON.stringify([c.model, c.data.image_size, c.data.num_channels]);
    if (!cache.has(key)) {
      const approx = estimateElements(c.model.nf, c.model.ch_mult.length, c.model.num_res_blocks);
      if (Math.abs(approx - total) / total > 0.5) { cache.set(key, ''); continue; }
      const keys = await modelKeysOf(name);
      cache.set(key, keys.stateDict.map(([k, s]) => `${k}:${s.join('x')}`).sort().join('|'));
    }
    if (cache.get(key) === want) out.push(name);
  }
  return out;
}

/** A rough size of an NCSN++ (∝ nf² · levels · blocks) used only to skip building hopeless candidates. */
function estimateElements(nf: number, levels: number, blocks: number): number {
  return 61_804_419 * (nf / 128) ** 2 * (levels / 4) * ((2 * blocks + 2) / 10);
}
