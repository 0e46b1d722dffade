/**
 * What `scoreflow inspect` found in a file, as one plain object (printed as is by `--json`), and its text
 * rendering. The describers (inspect-torch.ts, inspect-flax.ts) fill it; nothing here reads files.
 */
import { numel, type HostTensor } from '../host-tensor.js';

export interface KeyInfo { name: string; shape: number[]; dtype: string }

export interface TensorSummary {
  count: number;
  elements: number;
  /** dtype → number of tensors. */
  dtypes: Record<string, number>;
}

export interface EmaSummary { decay: number; numUpdates: number; shadowTensors: number }

export interface OptimizerSummary {
  /** 'Adam' from the stored config; else inferred from the param groups (a torch state dict stores no class name). */
  type: string;
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  paramGroups: number;
  /** Parameters the groups hold, and how many of them have Adam state (moments) yet. */
  params: number;
  stateEntries: number;
  /** Elements of the stored moments (exp_avg + exp_avg_sq). */
  stateElements: number;
  /** Adam's own step count (of the first parameter with state). */
  adamStep?: number;
}

export interface ConfigSummary {
  /** The bundled config nearest to the stored one, and the overrides that turn it into the stored one. */
  base?: string;
  overrides?: string[];
  /** Why the stored config could not be compared (an older or newer schema). */
  unreadable?: string;
  value: unknown;
}

export interface InspectReport {
  file: string;
  format: string;
  /** What the file holds: 'training checkpoint (score_sde_pytorch layout)', 'state dict', 'flax State', …. */
  content: string;
  tensors: TensorSummary;
  /** Model weights of a torch file; every array leaf of a flax tree ('/'-joined paths). */
  keys: KeyInfo[];
  /** Trainable parameter count, where the file says which tensors are the parameters. */
  parameters?: number;
  metadata?: Record<string, string>;
  step?: number;
  ema?: EmaSummary;
  /** flax State: EMA rate and learning rate as stored. */
  emaRate?: number;
  lr?: number;
  optimizer?: OptimizerSummary;
  config?: ConfigSummary;
  /** Our resumption data (data stream positions, random-generator state sizes in bytes). */
  resume?: { data: unknown; rngBytes: Record<string, number> };
  /** flax: the top-level entries with their tensor and element counts. */
  groups?: { name: string; tensors: number; elements: number; value?: unknown }[];
  /** Bundled configs whose model has exactly these weights (names and shapes). */
  matches?: string[];
}

export function keyInfo(entries: Iterable<readonly [string, HostTensor]>): KeyInfo[] {
  return [...entries].map(([name, t]) => ({ name, shape: [...t.shape], dtype: t.dtype }));
}

export function summarise(keys: readonly KeyInfo[]): TensorSummary {
  const dtypes: Record<string, number> = {};
  for (const k of keys) dtypes[k.dtype] = (dtypes[k.dtype] ?? 0) + 1;
  return { count: keys.length, elements: keys.reduce((a, k) => a + numel(k.shape), 0), dtypes };
}

const n = (x: number) => x.toLocaleString('en-US');
const GROUPS_SHOWN = 12;

/** The report as text lines; every key only with `allKeys`. */
export function renderReport(r: InspectReport, allKeys: boolean): string[] {
  const out = [`${r.file}: ${r.format}, ${r.content}`];
  const t = r.tensors;
  out.push(`  ${n(t.count)} tensors, ${n(t.elements)} elements; dtypes ${Object.entries(t.dtypes).map(([d, c]) => `${d}×${c}`).join(', ')}` +
    (r.parameters !== undefined ? `; ${n(r.parameters)} parameters` : ''));
  if (r.metadata) out.push(`  metadata: ${Object.entries(r.metadata).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  if (r.step !== undefined) out.push(`  step: ${n(r.step)}`);
  if (r.ema) out.push(`  EMA: decay ${r.ema.decay}, ${n(r.ema.numUpdates)} updates (num_updates), ${r.ema.shadowTensors} shadow tensors`);
  if (r.emaRate !== undefined) out.push(`  EMA rate: ${r.emaRate}`);
  if (r.lr !== undefined) out.push(`  learning rate: ${r.lr}`);
  const o = r.optimizer;
  if (o) {
    out.push(`  optimiser: ${o.type}, lr ${o.lr}, betas (${o.betas.join(', ')}), eps ${o.eps}, weight decay ${o.weightDecay}${o.amsgrad ? ', amsgrad' : ''}; ` +
      `${o.paramGroups} param group${o.paramGroups === 1 ? '' : 's'} of ${n(o.params)} parameters, state for ${n(o.stateEntries)} ` +
      `(${n(o.stateElements)} moment elements${o.adamStep !== undefined ? `, Adam step ${n(o.adamStep)}` : ''})`);
  }
  const c = r.config;
  if (c) {
    out.push(c.base !== undefined
      ? `  config (stored): ${c.base}${c.overrides!.length ? ` ${c.overrides!.join(' ')}` : ' (as bundled)'}`
      : `  config (stored, not comparable with this version's: ${c.unreadable}); --json prints it`);
  }
  if (r.resume) {
    const rng = Object.entries(r.resume.rngBytes).map(([k, b]) => `${k} (${b} bytes)`).join(', ');
    out.push(`  resumption data: ${JSON.stringify(r.resume.data)}${rng ? `; generator states ${rng}` : ''}`);
  }
  if (r.groups) {
    out.push('  top-level entries:');
    // A bare tree of modules has one entry per module: the first few say what it is, --keys the rest.
    const shown = allKeys ? r.groups : r.groups.slice(0, GROUPS_SHOWN);
    for (const g of shown) {
      out.push(`    ${g.name}: ${g.value !== undefined ? JSON.stringify(g.value) : `${n(g.tensors)} tensors, ${n(g.elements)} elements`}`);
    }
    if (shown.length < r.groups.length) out.push(`    … ${r.groups.length - shown.length} more`);
  }
  if (allKeys) for (const k of r.keys) out.push(`  ${k.name}\t[${k.shape.join(', ')}]\t${k.dtype}`);
  else if (r.keys.length) out.push(`  (--keys lists all ${n(r.keys.length)} keys)`);
  if (r.matches) out.push(r.matches.length ? `  matches configs: ${r.matches.join(', ')}` : '  matches none of the bundled configs');
  return out;
}
