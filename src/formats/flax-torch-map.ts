/**
 * Name map between the JAX references' flax parameter trees and our (PyTorch-layout) NCSN++/DDPM++ state
 * dict, per spec §4.7.
 *
 * flax auto-names submodules `<Class>_<k>` with one counter per class in creation order, and the torch
 * model's `all_modules` list is in the same construction order. So: group the torch keys by
 * `all_modules.<i>`, classify each module from its key set and shapes, and give it the next index of the
 * matching flax class. Parameter-free flax modules (e.g. a pyramid Upsample without conv) still advance
 * flax's counters but leave no torch keys; when the actual flax tree is at hand, pass its top-level names
 * and the k-th torch module of a class is paired with the k-th present flax name of that class instead.
 *
 * Leaf conversions: Conv kernel [kh,kw,in,out] → weight [out,in,kh,kw]; Dense kernel [in,out] → weight
 * [out,in]; GroupNorm scale → weight; NIN W/b and Fourier W unchanged; FIR Conv2d weight like a conv.
 */
import type { HostTensor } from '../host-tensor.js';
import { formatError } from './errors.js';
import { flaxGet } from './flax.js';
import { isHostTensor, permute } from './tensor-util.js';

export type FlaxModuleClass =
  | 'Dense' | 'Conv' | 'GroupNorm' | 'GaussianFourierProjection' | 'ResnetBlockBigGANpp' | 'ResnetBlockDDPMpp'
  | 'AttnBlockpp' | 'Combine' | 'Downsample' | 'Upsample';

export interface TorchModuleInfo {
  /** Index in `all_modules`. */
  index: number;
  flaxClass: FlaxModuleClass;
  /** Local parameter names ('Conv_0.weight') → shapes. */
  params: Map<string, number[]>;
}

export type LeafConversion = 'identity' | 'conv' | 'dense';

export interface LeafMapping {
  /** torch state-dict key, plain-module naming ('all_modules.3.Conv_0.weight'). */
  torchKey: string;
  torchShape: number[];
  /** flax path below the params root ('ResnetBlockBigGANpp_0/Conv_0/kernel'). */
  flaxPath: string;
  convert: LeafConversion;
}

export interface FlaxMapOptions {
  /** Resnet block flavour when no block reveals it (a NIN_0 shortcut means DDPM++); default BigGAN. */
  resblock?: 'biggan' | 'ddpm';
  /** Top-level names of the flax params tree; pairs modules with the names actually present. */
  flaxNames?: Iterable<string>;
}

const MODULE_RE = /^all_modules\.(\d+)\.(.+)$/;

/** Groups `all_modules.<i>.*` keys (optionally 'module.'-prefixed) and classifies each module. */
export function classifyTorchModules(keys: Iterable<readonly [string, readonly number[]]>, options: FlaxMapOptions = {}): TorchModuleInfo[] {
  const groups = new Map<number, Map<string, number[]>>();
  for (const [rawKey, shape] of keys) {
    const key = rawKey.startsWith('module.') ? rawKey.slice(7) : rawKey;
    const m = MODULE_RE.exec(key);
    if (!m) continue; // buffers such as 'sigmas'
    const i = Number(m[1]);
    if (!groups.has(i)) groups.set(i, new Map());
    groups.get(i)!.set(m[2]!, [...shape]);
  }
  const indices = [...groups.keys()].sort((a, b) => a - b);
  const anyNin0 = indices.some((i) => isResblock(groups.get(i)!) && groups.get(i)!.has('NIN_0.W'));
  const resblock: FlaxModuleClass = anyNin0 || options.resblock === 'ddpm' ? 'ResnetBlockDDPMpp' : 'ResnetBlockBigGANpp';
  // Resamplers are told apart by position: the first resblock whose input is wider than its output reads
  // the concatenation [h, skip], i.e. starts the up path.
  let upStart = Infinity;
  for (const i of indices) {
    const p = groups.get(i)!;
    const w = p.get('Conv_0.weight');
    if (isResblock(p) && w && w[1]! > w[0]!) { upStart = i; break; }
  }
  return indices.map((index) => {
    const params = groups.get(index)!;
    return { index, params, flaxClass: classify(index, params, resblock, upStart) };
  });
}

function isResblock(p: Map<string, number[]>): boolean {
  return p.has('GroupNorm_0.weight') && p.has('Conv_0.weight') && p.has('GroupNorm_1.weight') && p.has('Conv_1.weight');
}

function classify(index: number, p: Map<string, number[]>, resblock: FlaxModuleClass, upStart: number): FlaxModuleClass {
  const names = [...p.keys()].sort().join(',');
  if (names === 'bias,weight') {
    const nd = p.get('weight')!.length;
    if (nd === 2) return 'Dense';
    if (nd === 4) return 'Conv';
    if (nd === 1) return 'GroupNorm';
  }
  if (names === 'W') return 'GaussianFourierProjection';
  if (isResblock(p)) return resblock;
  if (p.has('GroupNorm_0.weight') && ['NIN_0.W', 'NIN_1.W', 'NIN_2.W', 'NIN_3.W'].every((k) => p.has(k))) return 'AttnBlockpp';
  if (names === 'Conv_0.bias,Conv_0.weight') {
    const w = p.get('Conv_0.weight')!;
    if (w.length === 4 && w[2] === 1 && w[3] === 1) return 'Combine';
    return index < upStart ? 'Downsample' : 'Upsample';
  }
  if (names === 'Conv2d_0.bias,Conv2d_0.weight' || names === 'Conv2d_0.weight') return index < upStart ? 'Downsample' : 'Upsample';
  throw formatError(`cannot classify all_modules.${index} from its parameters {${names}}`);
}

/** torch module index → flax top-level module name. */
export function flaxModuleNames(modules: readonly TorchModuleInfo[], flaxNames?: Iterable<string>): Map<number, string> {
  const present = new Map<string, string[]>();
  const names = flaxNames && [...flaxNames];
  if (names) {
    for (const n of names) {
      const m = /^(.+)_(\d+)$/.exec(n);
      if (!m) continue;
      if (!present.has(m[1]!)) present.set(m[1]!, []);
      present.get(m[1]!)!.push(n);
    }
    for (const list of present.values()) list.sort((a, b) => Number(a.slice(a.lastIndexOf('_') + 1)) - Number(b.slice(b.lastIndexOf('_') + 1)));
  }
  const counters = new Map<string, number>();
  const out = new Map<number, string>();
  for (const m of modules) {
    const k = counters.get(m.flaxClass) ?? 0;
    counters.set(m.flaxClass, k + 1);
    if (names) {
      const name = present.get(m.flaxClass)?.[k];
      if (!name) {
        const found = `${names.slice(0, 8).join(', ')}${names.length > 8 ? `, … (${names.length})` : ''}`;
        throw formatError(`flax tree has no ${m.flaxClass} #${k} for torch all_modules.${m.index} (expected flax's '<Class>_<k>' module names; its top-level names: ${found})`);
      }
      out.set(m.index, name);
    } else out.set(m.index, `${m.flaxClass}_${k}`);
  }
  return out;
}

/** flax leaf name + conversion for one torch parameter of a (sub)module. */
function leafRule(sub: string, leaf: string): { flax: string; convert: LeafConversion } {
  const kind = sub.replace(/_\d+$/, '');
  if (kind === 'Conv' || kind === '') {
    if (leaf === 'weight') return { flax: 'kernel', convert: 'conv' };
    if (leaf === 'bias') return { flax: 'bias', convert: 'identity' };
  }
  if (kind === 'Dense') {
    if (leaf === 'weight') return { flax: 'kernel', convert: 'dense' };
    if (leaf === 'bias') return { flax: 'bias', convert: 'identity' };
  }
  if (kind === 'GroupNorm') {
    if (leaf === 'weight') return { flax: 'scale', convert: 'identity' };
    if (leaf === 'bias') return { flax: 'bias', convert: 'identity' };
  }
  if (kind === 'NIN' && (leaf === 'W' || leaf === 'b')) return { flax: leaf, convert: 'identity' };
  if (kind === 'Conv2d') {
    if (leaf === 'weight') return { flax: 'weight', convert: 'conv' };
    if (leaf === 'bias') return { flax: 'bias', convert: 'identity' };
  }
  throw formatError(`no flax equivalent for parameter '${sub ? sub + '.' : ''}${leaf}'`);
}

/** Every torch parameter of `all_modules` with its flax path and layout conversion. */
export function buildFlaxToTorchMap(keys: Iterable<readonly [string, readonly number[]]>, options: FlaxMapOptions = {}): LeafMapping[] {
  const modules = classifyTorchModules(keys, options);
  const names = flaxModuleNames(modules, options.flaxNames);
  const out: LeafMapping[] = [];
  for (const m of modules) {
    const top = names.get(m.index)!;
    for (const [local, shape] of m.params) {
      const torchKey = `all_modules.${m.index}.${local}`;
      if (m.flaxClass === 'GaussianFourierProjection') {
        out.push({ torchKey, torchShape: shape, flaxPath: `${top}/W`, convert: 'identity' });
        continue;
      }
      const dot = local.lastIndexOf('.');
      const sub = dot < 0 ? '' : local.slice(0, dot);
      const leaf = local.slice(dot + 1);
      // Plain top-level modules: the flax class decides the leaf rule.
      const rule = sub === '' ? leafRule(m.flaxClass, leaf) : leafRule(sub, leaf);
      out.push({ torchKey, torchShape: shape, flaxPath: sub === '' ? `${top}/${rule.flax}` : `${top}/${sub}/${rule.flax}`, convert: rule.convert });
    }
  }
  return out;
}

/** Applies a leaf conversion (flax layout → torch layout). */
export function convertLeaf(t: HostTensor, convert: LeafConversion): HostTensor {
  if (convert === 'identity') return t;
  if (convert === 'dense') {
    if (t.shape.length !== 2) throw formatError(`Dense kernel must be 2-D, got [${t.shape.join(', ')}]`);
    return permute(t, [1, 0]);
  }
  if (t.shape.length !== 4) throw formatError(`conv kernel must be 4-D, got [${t.shape.join(', ')}]`);
  return permute(t, [3, 2, 0, 1]);
}

/** Inverse of `convertLeaf` (torch layout → flax layout), for writing flax checkpoints. */
export function unconvertLeaf(t: HostTensor, convert: LeafConversion): HostTensor {
  if (convert === 'identity') return t;
  if (convert === 'dense') return permute(t, [1, 0]);
  return permute(t, [2, 3, 1, 0]);
}

/**
 * Converts a flax params tree (nested Maps with HostTensor leaves) into an ordered torch state dict
 * following `mapping`. Missing leaves and shape mismatches are ERR_FORMAT errors.
 */
export function flaxParamsToTorch(params: unknown, mapping: readonly LeafMapping[]): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const m of mapping) {
    const leaf = flaxGet(params, m.flaxPath);
    if (!isHostTensor(leaf)) throw formatError(`flax tree has no array at '${m.flaxPath}' (for ${m.torchKey})`);
    const t = convertLeaf(leaf, m.convert);
    if (t.shape.length !== m.torchShape.length || t.shape.some((d, i) => d !== m.torchShape[i])) {
      throw formatError(`shape mismatch for ${m.torchKey}: flax '${m.flaxPath}' gives [${t.shape.join(', ')}], expected [${m.torchShape.join(', ')}]`);
    }
    out.set(m.torchKey, t);
  }
  return out;
}

/** The inverse of `flaxParamsToTorch`: a nested flax params tree (Maps) from a torch state dict. */
export function torchToFlaxParams(sd: ReadonlyMap<string, HostTensor>, mapping: readonly LeafMapping[]): Map<string, unknown> {
  const root = new Map<string, unknown>();
  for (const m of mapping) {
    const t = sd.get(m.torchKey) ?? sd.get(`module.${m.torchKey}`);
    if (!t) throw formatError(`state dict has no '${m.torchKey}'`);
    const parts = m.flaxPath.split('/');
    let node = root;
    for (const p of parts.slice(0, -1)) {
      if (!node.has(p)) node.set(p, new Map<string, unknown>());
      node = node.get(p) as Map<string, unknown>;
    }
    node.set(parts[parts.length - 1]!, unconvertLeaf(t, m.convert));
  }
  return root;
}

/** Top-level names of a params tree (Map or object). */
export function topLevelNames(params: unknown): string[] {
  if (params instanceof Map) return [...params.keys()].map(String);
  if (params !== null && typeof params === 'object') return Object.keys(params);
  return [];
}
