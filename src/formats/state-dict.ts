/**
 * One entry point for "give me model weights from this file", whatever wrote it: a plain torch state dict,
 * a score_sde_pytorch training checkpoint (model or EMA weights), safetensors, npz, or a flax State
 * (needs our torch key list to map names). The result is always an ordered Map name → HostTensor with
 * plain-module names (no DataParallel 'module.' prefix).
 */
import type { HostTensor } from '../host-tensor.js';
import { formatError, inFile } from './errors.js';
import { chooseFlaxWeights } from './flax-params.js';
import { interpretFlaxState, interpretReferenceCheckpoint, stripModulePrefix } from './reference-checkpoint.js';
import { readCheckpoint, type FileFormat } from './registry.js';
import { dictGet } from './py-values.js';
import { isHostTensor } from './tensor-util.js';

export interface StateDictOptions {
  /** Use the EMA weights where the file has them (reference checkpoints, flax `params_ema`). */
  ema?: boolean;
  /** Our model's (key, shape) list in state-dict order: required for flax files, used to check others. */
  torchKeys?: readonly (readonly [string, readonly number[]])[];
  /** State-dict entries that are buffers, not parameters (absent from EMA shadow lists). Default ['sigmas']. */
  bufferKeys?: readonly string[];
}

/**
 * Copies EMA shadow params over the parameters of `model` (what the reference's `ema.copy_to` does): the
 * shadow list follows `model.parameters()` order, i.e. the state dict minus its buffers.
 */
export function applyEmaShadow(model: Map<string, HostTensor>, shadow: readonly HostTensor[], bufferKeys: readonly string[] = ['sigmas']): Map<string, HostTensor> {
  const buffers = new Set(bufferKeys);
  const params = [...model.keys()].filter((k) => !buffers.has(k));
  if (params.length !== shadow.length) {
    throw formatError(`EMA has ${shadow.length} shadow params but the model has ${params.length} parameters`);
  }
  const out = new Map(model);
  params.forEach((k, i) => {
    const s = shadow[i]!;
    const t = model.get(k)!;
    if (s.shape.length !== t.shape.length || s.shape.some((d, j) => d !== t.shape[j])) {
      throw formatError(`shape mismatch: EMA shadow #${i} is [${s.shape.join(', ')}] but '${k}' is [${t.shape.join(', ')}]`);
    }
    out.set(k, s);
  });
  return out;
}

function tensorMap(v: unknown, what: string): Map<string, HostTensor> {
  if (!(v instanceof Map)) throw formatError(`${what}: expected a dict of tensors (a state dict or a training checkpoint), found ${describeValue(v)}`);
  const out = new Map<string, HostTensor>();
  for (const [k, t] of v) {
    if (typeof k !== 'string' || !isHostTensor(t)) {
      throw formatError(`${what}: entry '${String(k)}' is ${describeValue(t)}, not a tensor; expected a dict of tensors (a state dict or a training checkpoint)`);
    }
    out.set(k, t);
  }
  return stripModulePrefix(out);
}

function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (Array.isArray(v)) return `a ${Object.isFrozen(v) ? 'tuple' : 'list'} of ${v.length}`;
  if (v instanceof Map) return `a dict of ${v.size}`;
  return typeof v === 'object' ? `a ${v.constructor?.name ?? 'object'}` : `a ${typeof v} (${String(v).slice(0, 40)})`;
}

/** Checks names and shapes against the model's key list (extra/missing keys and shape mismatches). */
export function checkStateDict(sd: Map<string, HostTensor>, torchKeys: readonly (readonly [string, readonly number[]])[]): void {
  for (const [k, shape] of torchKeys) {
    const t = sd.get(k);
    if (!t) throw formatError(`state dict is missing '${k}'`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw formatError(`shape mismatch for '${k}': file has [${t.shape.join(', ')}], model expects [${shape.join(', ')}]`);
    }
  }
  const known = new Set(torchKeys.map(([k]) => k));
  const extra = [...sd.keys()].filter((k) => !known.has(k));
  if (extra.length) throw formatError(`state dict has unexpected keys: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', …' : ''}`);
}

/** The weights in a checkpoint file's bytes; errors name the file (`name`). */
export function readStateDict(bytes: Uint8Array, name = '', options: StateDictOptions = {}): Map<string, HostTensor> {
  const { format, value } = readCheckpoint(bytes, name);
  return inFile(name, () => interpret(format, value, options));
}

function interpret(format: FileFormat, value: unknown, options: StateDictOptions): Map<string, HostTensor> {
  let sd: Map<string, HostTensor>;
  if (format === 'flax-msgpack') {
    if (!options.torchKeys) throw formatError('flax checkpoints need the model key list (torchKeys) to map names');
    const st = interpretFlaxState(value, options.torchKeys);
    sd = chooseFlaxWeights(st, options.ema ? 'ema' : 'raw');
    // Buffers (e.g. 'sigmas') do not exist in flax trees; callers recompute them.
    return sd;
  }
  if (format === 'npy') throw formatError('a single .npy array is not a state dict (expected named tensors: .npz, .safetensors, a torch checkpoint)');
  if (value instanceof Map && dictGet(value, 'model') instanceof Map && dictGet(value, 'ema') !== undefined) {
    const ck = interpretReferenceCheckpoint(value);
    sd = options.ema ? applyEmaShadow(ck.model, ck.ema.shadowParams, options.bufferKeys) : ck.model;
  } else {
    sd = tensorMap(value, format);
  }
  if (options.torchKeys) checkStateDict(sd, options.torchKeys);
  return sd;
}
