/**
 * Turns whatever a checkpoint file holds into a plain state dict with our (= score_sde_pytorch's) names:
 * a reference training checkpoint (EMA or raw weights), a state dict (with or without 'module.'), a
 * safetensors file, or a flax State (needs the model's key list for the name map).
 */
import type { HostTensor } from '../host-tensor.js';
import type { ReadResult } from '../formats/registry.js';
import { asStateDict } from '../formats/torch-load.js';
import { interpretFlaxState, interpretReferenceCheckpoint, stripModulePrefix } from '../formats/reference-checkpoint.js';
import { dictGet } from '../formats/py-values.js';
import { ScoreflowError } from '../errors.js';

export type WeightChoice = 'ema' | 'raw';

export interface ModelKeys {
  /** (name, shape) of every state-dict entry, in order. */
  stateDict: [string, number[]][];
  /** Names of the parameters the EMA tracks (trainable ones), in parameters() order. */
  trainable: string[];
  /** Buffers and other entries a flax file does not hold (e.g. `sigmas`), taken from the model. */
  extras: Map<string, HostTensor>;
}

export interface ExtractedWeights { weights: Map<string, HostTensor>; kind: string }

/** Trainable names when no model is at hand: everything but the `sigmas` buffer and the frozen Fourier W. */
function guessTrainable(sd: Map<string, HostTensor>): string[] {
  return [...sd.keys()].filter((k) => k !== 'sigmas' && !/^all_modules\.0\.W$/.test(k));
}

export function extractStateDict(read: ReadResult['value'] | ReadResult, choice: WeightChoice, model?: ModelKeys): ExtractedWeights {
  const r = (read && typeof read === 'object' && 'format' in read && 'value' in read) ? read as ReadResult : { format: 'torch-zip', value: read } as ReadResult;
  if (r.format === 'flax-msgpack') {
    if (!model) throw new ScoreflowError('ERR_ARG', 'a flax checkpoint needs --config: the torch names come from the model it was trained with');
    const st = interpretFlaxState(r.value, model.stateDict);
    const params = choice === 'ema' && st.paramsEma ? st.paramsEma : st.params;
    const weights = new Map<string, HostTensor>();
    for (const [k] of model.stateDict) {
      const t = params.get(k) ?? model.extras.get(k);
      if (t) weights.set(k, t);
    }
    return { weights, kind: `flax State at step ${st.step} (${choice === 'ema' && st.paramsEma ? 'params_ema' : 'params'})` };
  }
  if (r.format === 'safetensors' || r.format === 'npz') {
    return { weights: stripModulePrefix(r.value as Map<string, HostTensor>), kind: 'state dict' };
  }
  if (dictGet(r.value, 'model') !== undefined && dictGet(r.value, 'ema') !== undefined) {
    const ck = interpretReferenceCheckpoint(r.value);
    if (choice === 'raw') return { weights: ck.model, kind: `training checkpoint at step ${ck.step} (raw weights)` };
    const trainable = model?.trainable ?? guessTrainable(ck.model);
    if (trainable.length !== ck.ema.shadowParams.length) {
      throw new ScoreflowError('ERR_STATE_DICT', `the EMA holds ${ck.ema.shadowParams.length} tensors but ${trainable.length} ` +
        'trainable parameters were found; pass --config to name them, or --weights raw');
    }
    const weights = new Map(ck.model);
    trainable.forEach((name, i) => {
      const shadow = ck.ema.shadowParams[i]!;
      const own = ck.model.get(name);
      if (own && own.shape.join() !== shadow.shape.join()) {
        throw new ScoreflowError('ERR_STATE_DICT', `EMA tensor ${i} has shape [${shadow.shape}] but parameter ${name} has [${own.shape}]`);
      }
      weights.set(name, shadow);
    });
    return { weights, kind: `training checkpoint at step ${ck.step} (EMA weights, decay ${ck.ema.decay})` };
  }
  return { weights: stripModulePrefix(asStateDict(r.value)), kind: 'state dict' };
}

/** The key list of the model a config builds (a throwaway instance; ~1 s for the cifar10 models). */
export async function modelKeysOf(configRef: string, overrides: string[] = []): Promise<ModelKeys> {
  const { loadConfig } = await import('../config/index.js');
  const { ScoreModel } = await import('../model/score-model.js');
  const m = new ScoreModel(loadConfig(configRef, overrides), { seed: 0 });
  try {
    const sd = m.stateDict();
    const trainable = new Set(m.namedParameters().map(([n]) => n));
    const keys: ModelKeys = { stateDict: [], trainable: [], extras: new Map() };
    for (const [k, t] of sd) {
      keys.stateDict.push([k, t.shape]);
      if (trainable.has(k) && !/^all_modules\.0\.W$/.test(k)) keys.trainable.push(k);
      if (!trainable.has(k)) keys.extras.set(k, t.toHost());
      t.dispose();
    }
    return keys;
  } finally {
    m.dispose();
  }
}
