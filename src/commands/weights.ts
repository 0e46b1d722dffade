/** Model weights from any supported checkpoint file, with the key list of the model they belong to. */
import type { HostTensor } from '../host-tensor.js';
import { readInputFile } from '../formats/input-file.js';
import { readStateDict } from '../formats/state-dict.js';
import { detectFormat, type FileFormat } from '../formats/registry.js';

export type WeightChoice = 'ema' | 'raw';

export interface ModelKeys {
  /** (name, shape) of every state-dict entry, in order. */
  stateDict: [string, number[]][];
  /** State-dict entries the EMA does not track (buffers such as `sigmas`, the frozen Fourier `W`). */
  untracked: string[];
  /** Their values, for formats that do not store them (flax). */
  extras: Map<string, HostTensor>;
}

/** Without a model at hand: the NCSN++ buffer and the frozen Fourier projection of the references. */
const DEFAULT_UNTRACKED = ['sigmas', 'all_modules.0.W'];

export interface Weights {
  weights: Map<string, HostTensor>;
  format: FileFormat;
  /** Which weights were asked for (files without EMA weights give their only ones). */
  choice: WeightChoice;
  /** For messages: 'torch-zip, ema weights'. */
  kind: string;
}

export function loadWeights(file: string, choice: WeightChoice, model?: ModelKeys): Weights {
  return weightsFrom(readInputFile(file), file, choice, model);
}

/** As `loadWeights`, from the bytes of `file`. */
export function weightsFrom(bytes: Uint8Array, file: string, choice: WeightChoice, model?: ModelKeys): Weights {
  const sd = readStateDict(bytes, file, {
    ema: choice === 'ema',
    torchKeys: model?.stateDict,
    bufferKeys: model?.untracked ?? DEFAULT_UNTRACKED,
  });
  const format = detectFormat(bytes, file)!; // readStateDict has read it
  const described = { format, choice, kind: `${format}, ${choice} weights` };
  if (format === 'flax-msgpack' && model) {
    // flax trees hold no buffers: take them from the model, in its order.
    const ordered = new Map<string, HostTensor>();
    for (const [k] of model.stateDict) {
      const t = sd.get(k) ?? model.extras.get(k);
      if (t) ordered.set(k, t);
    }
    return { weights: ordered, ...described };
  }
  return { weights: sd, ...described };
}

/** The key list of the model a config builds (a throwaway instance; ~1 s for the cifar10 models). */
export async function modelKeysOf(configRef: string, overrides: string[] = []): Promise<ModelKeys> {
  const { loadConfig } = await import('../config/index.js');
  const { ScoreModel } = await import('../model/score-model.js');
  const m = new ScoreModel(loadConfig(configRef, overrides), { seed: 0 });
  try {
    const sd = m.stateDict();
    const tracked = new Set(m.namedParameters().map(([n]) => n).filter((n) => n !== 'all_modules.0.W' || !isFourier(sd.get(n)!.shape)));
    const keys: ModelKeys = { stateDict: [], untracked: [], extras: new Map() };
    for (const [k, t] of sd) {
      keys.stateDict.push([k, t.shape]);
      if (!tracked.has(k)) {
        keys.untracked.push(k);
        keys.extras.set(k, t.toHost());
      }
      t.dispose();
    }
    return keys;
  } finally {
    m.dispose();
  }
}

/** The Gaussian Fourier projection's W is 1-D (the first Linear's weight is 2-D). */
function isFourier(shape: number[]): boolean { return shape.length === 1; }
