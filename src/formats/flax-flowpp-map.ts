/**
 * Name map between score_flow's flax Flow++ dequantizer parameters (spec §8) and our FlowppModule state
 * dict. The native module names its submodules after the reference's flax modules and splits a flax leaf
 * name at each layer boundary, so one rule maps every key:
 *
 *   'MixLogisticAttnCoupling_0.block0_conv.c1.weight'  ↔  'MixLogisticAttnCoupling_0/block0_conv_c1_W'
 *   'DeepProcessor_0.dqattn3.proj1.W'                  ↔  'DeepProcessor_0/dqattn3_proj1_W'
 *
 * (first component = the top-level flax module, the rest joined by '_', `weight`/`bias` → `W`/`b`).
 * Layouts: the CIFAR-10 conv2d kernels (`weight`) are HWIO but the reference applies them over NWHC-read
 * input, so their first spatial axis runs along the image width: torch [o, i, kh, kw] = flax[kw, kh, i, o].
 * The ImageNet32 weight-normalised `V` is a plain HWIO kernel read NHWC. Layer-norm g/b are [1, 1, 1, C] in
 * flax and [C] here; everything else is unchanged.
 */
import type { HostTensor } from '../host-tensor.js';
import { formatError } from './errors.js';
import { flaxGet } from './flax.js';
import { isHostTensor, permute } from './tensor-util.js';

interface LeafRule {
  /** flax layout → ours */
  toNative(t: HostTensor, nativeShape: readonly number[]): HostTensor;
  /** ours → flax layout */
  toFlax(t: HostTensor): HostTensor;
}

const reshape = (t: HostTensor, shape: readonly number[]): HostTensor => ({ ...t, shape: [...shape] });

const RULES: Record<'identity' | 'conv_nwhc' | 'conv_nhwc' | 'layernorm', LeafRule> = {
  identity: { toNative: (t) => t, toFlax: (t) => t },
  conv_nwhc: { toNative: (t) => permute(t, [3, 2, 1, 0]), toFlax: (t) => permute(t, [3, 2, 1, 0]) },
  conv_nhwc: { toNative: (t) => permute(t, [3, 2, 0, 1]), toFlax: (t) => permute(t, [2, 3, 1, 0]) },
  layernorm: { toNative: (t, shape) => reshape(t, shape), toFlax: (t) => reshape(t, [1, 1, 1, ...t.shape]) },
};
export type FlowppLeafConversion = keyof typeof RULES;

export interface FlowppLeafMapping { nativeKey: string; nativeShape: number[]; flaxPath: string; convert: FlowppLeafConversion }

const LN_RE = /(^|_)(ln\d*|dqln\d+)$/; // block0_ln1, ln3, dqln3

/** The flax path and layout conversion of one of our state-dict keys. */
export function flowppLeafMapping(nativeKey: string, nativeShape: readonly number[]): FlowppLeafMapping {
  const parts = nativeKey.split('.');
  if (parts.length < 2) throw formatError(`flowpp: unexpected state-dict key '${nativeKey}'`);
  const leaf = parts[parts.length - 1]!;
  const owner = parts.length > 2 ? parts[parts.length - 2]! : '';
  const flaxLeaf = leaf === 'weight' ? 'W' : leaf === 'bias' ? 'b' : leaf;
  const flaxPath = `${parts[0]}/${[...parts.slice(1, -1), flaxLeaf].join('_')}`;
  let convert: FlowppLeafConversion = 'identity';
  if (leaf === 'weight' && nativeShape.length === 4) convert = 'conv_nwhc';
  else if (leaf === 'V' && nativeShape.length === 4) convert = 'conv_nhwc';
  else if ((leaf === 'g' || leaf === 'b') && nativeShape.length === 1 && LN_RE.test(owner)) convert = 'layernorm';
  return { nativeKey, nativeShape: [...nativeShape], flaxPath, convert };
}

export function buildFlowppMap(keys: Iterable<readonly [string, readonly number[]]>): FlowppLeafMapping[] {
  return [...keys].map(([k, s]) => flowppLeafMapping(k, s));
}

/** Our state dict from a flax params tree (nested Maps / objects with HostTensor leaves). */
export function flaxFlowppToNative(params: unknown, mapping: readonly FlowppLeafMapping[]): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const m of mapping) {
    const leaf = flaxGet(params, m.flaxPath);
    if (!isHostTensor(leaf)) throw formatError(`flax dequantizer tree has no array at '${m.flaxPath}' (for ${m.nativeKey})`);
    const t = RULES[m.convert].toNative(leaf, m.nativeShape);
    if (t.shape.length !== m.nativeShape.length || t.shape.some((d, i) => d !== m.nativeShape[i])) {
      throw formatError(`shape mismatch for ${m.nativeKey}: flax '${m.flaxPath}' gives [${leaf.shape.join(', ')}], ` +
        `expected [${m.nativeShape.join(', ')}] (ours) — is the dequantizer config (variant, filters, components, blocks) the checkpoint's?`);
    }
    out.set(m.nativeKey, t);
  }
  return out;
}

/** A flax params tree (nested Maps) from our state dict: the inverse of `flaxFlowppToNative`. */
export function nativeFlowppToFlax(sd: ReadonlyMap<string, HostTensor>, mapping: readonly FlowppLeafMapping[]): Map<string, unknown> {
  const root = new Map<string, unknown>();
  for (const m of mapping) {
    const t = sd.get(m.nativeKey);
    if (!t) throw formatError(`state dict has no '${m.nativeKey}'`);
    const [top, leaf] = m.flaxPath.split('/') as [string, string];
    if (!root.has(top)) root.set(top, new Map<string, unknown>());
    (root.get(top) as Map<string, unknown>).set(leaf, RULES[m.convert].toFlax(t));
  }
  return root;
}
