/**
 * `inspect` of flax checkpoints: a score_sde / score_flow State (step, optimizer {target, state}, lr,
 * ema_rate, params_ema, rng, model_state) or a bare params tree. The decoded tree is walked through
 * `children` only, which takes Maps and plain objects alike: the msgpack decoder may hand back either.
 */
import { numel, type HostTensor } from '../host-tensor.js';
import { FormatError } from '../formats/errors.js';
import { flaxGet } from '../formats/flax.js';
import { locateFlaxParams } from '../formats/flax-params.js';
import { isHostTensor, toNumbers } from '../formats/tensor-util.js';
import { summarise, type InspectReport, type KeyInfo } from './inspect-report.js';
import type { ReadFile } from './inspect-torch.js';

/** The entries of an inner node of the tree; undefined for a leaf (tensor, scalar, bytes, list). */
function children(node: unknown): [string, unknown][] | undefined {
  if (node instanceof Map) return [...node].map(([k, v]) => [String(k), v]);
  if (node === null || typeof node !== 'object' || isHostTensor(node) || ArrayBuffer.isView(node) || Array.isArray(node)) return undefined;
  return Object.entries(node);
}

/** Every tensor leaf under `node`, with its '/'-joined path. */
function tensorLeaves(node: unknown, prefix = ''): [string, HostTensor][] {
  if (isHostTensor(node)) return [[prefix, node]];
  return (children(node) ?? []).flatMap(([k, v]) => tensorLeaves(v, prefix ? `${prefix}/${k}` : k));
}

/** A number stored as a JS number, a bigint or a one-element array. */
function scalar(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (isHostTensor(v) && numel(v.shape) === 1) return toNumbers(v)[0];
  return undefined;
}

/** The params tree `convert` would take (EMA first), or undefined for a tree that holds none. */
function paramsTree(tree: unknown): unknown {
  try {
    const { raw, ema } = locateFlaxParams(tree);
    return (ema ?? raw)?.tree;
  } catch (e) {
    if (e instanceof FormatError) return undefined; // not a params tree: inspect shows what it is instead
    throw e;
  }
}

export function describeFlax(f: ReadFile): InspectReport {
  const tree = f.value;
  const keys: KeyInfo[] = tensorLeaves(tree).map(([name, t]) => ({ name, shape: [...t.shape], dtype: t.dtype }));
  const state = flaxGet(tree, 'optimizer') !== undefined && flaxGet(tree, 'params_ema') !== undefined;
  const params = paramsTree(tree);
  const report: InspectReport = {
    file: f.file,
    format: f.format,
    content: state ? 'flax State (score_sde / score_flow training checkpoint)' : 'flax params tree',
    tensors: summarise(keys),
    keys,
    ...(params !== undefined ? { parameters: tensorLeaves(params).reduce((a, [, t]) => a + numel(t.shape), 0) } : {}),
    groups: (children(tree) ?? []).map(([name, v]) => {
      const leaves = tensorLeaves(v);
      const value = children(v) === undefined && !isHostTensor(v) ? scalar(v) : undefined;
      return { name, tensors: leaves.length, elements: leaves.reduce((a, [, t]) => a + numel(t.shape), 0), ...(value !== undefined ? { value } : {}) };
    }),
  };
  const step = scalar(flaxGet(tree, 'step')) ?? scalar(flaxGet(tree, 'optimizer/state/step'));
  if (step !== undefined) report.step = step;
  const emaRate = scalar(flaxGet(tree, 'ema_rate'));
  if (emaRate !== undefined) report.emaRate = emaRate;
  const lr = scalar(flaxGet(tree, 'lr'));
  if (lr !== undefined) report.lr = lr;
  return report;
}
