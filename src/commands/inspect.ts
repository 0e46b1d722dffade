/**
 * `scoreflow inspect <file> [--keys] [--json]`: what a checkpoint holds (format, keys, shapes, dtypes,
 * parameter count; step, EMA, optimiser, config and resumption data of a training checkpoint) and which
 * bundled model configs it matches.
 */
import { readCheckpoint } from '../formats/registry.js';
import { readInputFile } from '../formats/input-file.js';
import { listConfigs, loadConfig } from '../config/index.js';
import { numel } from '../host-tensor.js';
import { renderReport, type InspectReport, type KeyInfo } from './inspect-report.js';
import { describeTorch, type ReadFile } from './inspect-torch.js';
import { describeFlax } from './inspect-flax.js';

/** Describer by file format (the rest are weights or training checkpoints in torch's layout). */
const DESCRIBERS: Record<string, (f: ReadFile) => InspectReport> = { 'flax-msgpack': describeFlax };

export async function run(args: Record<string, unknown>): Promise<void> {
  const file = String(args.file);
  const bytes = readInputFile(file);
  const read = readCheckpoint(bytes, file);
  const f: ReadFile = { file, bytes, format: read.format, value: read.value, ...(read.metadata ? { metadata: read.metadata } : {}) };
  const report = (DESCRIBERS[read.format] ?? describeTorch)(f);
  // flax names are not ours: matching needs the model's name map (`convert --config`).
  if (read.format !== 'flax-msgpack') report.matches = await matchingConfigs(report.keys);
  if (args.json) console.log(JSON.stringify(report, null, 2));
  else for (const line of renderReport(report, args.keys === true)) console.log(line);
}

/**
 * Bundled configs whose model has exactly these names and shapes. Candidates are first filtered by the
 * element count, so only plausible models are built.
 */
async function matchingConfigs(weights: readonly KeyInfo[]): Promise<string[]> {
  const { modelKeysOf } = await import('./weights.js');
  const want = weights.map((k) => `${k.name}:${k.shape.join('x')}`).sort().join('|');
  const total = weights.reduce((a, k) => a + numel(k.shape), 0);
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
