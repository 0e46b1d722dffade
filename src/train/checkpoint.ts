/**
 * Training checkpoints in score_sde_pytorch's layout ({optimizer, model ('module.' keys), ema, step}), so
 * the reference can resume from ours and we from theirs, plus a `scoreflow` entry with what exact
 * resumption needs (random-stream states, data position, config). Written atomically.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { AnyTensor } from '../model/load-state-dict.js';
import type { Ema } from '../model/ema.js';
import type { Optimizer } from './optimizer.js';
import { saveTorch } from '../formats/torch-save.js';
import { loadTorch } from '../formats/torch-load.js';
import { interpretReferenceCheckpoint, toReferenceCheckpoint, type ReferenceCheckpoint } from '../formats/reference-checkpoint.js';
import { dictGet } from '../formats/py-values.js';
import type { HostTensor } from '../host-tensor.js';
import { fromHost, type Tensor } from '../tensor.js';
import { writeFileAtomic } from './atomic.js';
import { ScoreflowError } from '../errors.js';

/** What a checkpoint needs of a network (the score model, the Flow++ dequantizer). */
export interface CheckpointedModel {
  stateDict(): Map<string, Tensor>;
  parameters(): Tensor[];
  loadStateDict(sd: Map<string, AnyTensor>, opts: { strict?: boolean }): unknown;
}

export interface TrainingState<M extends CheckpointedModel = CheckpointedModel> {
  step: number;
  model: M;
  ema: Ema;
  optimizer: Optimizer;
}

/** JSON-serialisable resumption data plus named byte blobs (generator states). */
export interface CheckpointExtras {
  json: Record<string, unknown>;
  blobs: Record<string, Uint8Array>;
}

function host(ts: Tensor[]): HostTensor[] {
  return ts.map((t) => t.toHost());
}

export function captureCheckpoint(s: TrainingState): ReferenceCheckpoint {
  const sd = s.model.stateDict();
  const opt = s.optimizer.state();
  try {
    const n = opt.step.length;
    return {
      model: new Map([...sd].map(([k, t]) => [k, t.toHost()])),
      ema: { decay: s.ema.rate, numUpdates: s.ema.numUpdates, shadowParams: host(s.ema.shadow) },
      optimizer: {
        step: opt.step,
        expAvg: host(opt.expAvg),
        expAvgSq: host(opt.expAvgSq),
        paramGroups: [{
          lr: s.optimizer.learningRate(Math.max(0, s.step - 1)),
          betas: [s.optimizer.config.beta1, 0.999], eps: s.optimizer.config.eps,
          weightDecay: s.optimizer.config.weight_decay, amsgrad: false,
          params: Array.from({ length: n }, (_, i) => i), raw: new Map<unknown, unknown>([['maximize', false], ['foreach', null]]),
        }],
      },
      step: s.step,
    };
  } finally {
    for (const t of sd.values()) t.dispose();
    for (const t of [...opt.expAvg, ...opt.expAvgSq]) t.dispose();
  }
}

/** The bytes of a checkpoint (torch zip) of a captured state, with our extras under `scoreflow`. */
export function serializeCheckpoint(ck: ReferenceCheckpoint, extras?: CheckpointExtras): Uint8Array {
  const value = toReferenceCheckpoint(ck);
  if (extras) {
    const blobs = new Map<string, HostTensor>(Object.entries(extras.blobs).map(([k, b]) => [k, { dtype: 'uint8', shape: [b.length], data: b }]));
    value.set('scoreflow', new Map<string, unknown>([['json', JSON.stringify(extras.json)], ['blobs', blobs]]));
  }
  return saveTorch(value);
}

export function saveCheckpoint(path: string, s: TrainingState, extras?: CheckpointExtras): void {
  writeFileAtomic(path, serializeCheckpoint(captureCheckpoint(s), extras));
}

/** Our `scoreflow` entry of a loaded checkpoint value (undefined in the references' checkpoints). */
export function readExtras(value: unknown): CheckpointExtras | undefined {
  const sf = dictGet(value, 'scoreflow');
  if (sf === undefined) return undefined;
  const json = JSON.parse(String(dictGet(sf, 'json'))) as Record<string, unknown>;
  const blobs: Record<string, Uint8Array> = {};
  const b = dictGet(sf, 'blobs');
  if (b instanceof Map) for (const [k, t] of b) blobs[String(k)] = (t as HostTensor).data as Uint8Array;
  return { json, blobs };
}

export interface LoadedCheckpoint { checkpoint: ReferenceCheckpoint; extras: CheckpointExtras | undefined }

/** Reads and parses `path` (ours or a score_sde_pytorch checkpoint) without touching any state. */
export function readCheckpoint(path: string): LoadedCheckpoint {
  if (!existsSync(path)) throw new ScoreflowError('ERR_FORMAT', `checkpoint not found: ${path}`);
  return parseCheckpoint(readFileSync(path));
}

/** Parses checkpoint bytes (e.g. a state another rank sent). */
export function parseCheckpoint(bytes: Uint8Array): LoadedCheckpoint {
  const value = loadTorch(bytes);
  return { checkpoint: interpretReferenceCheckpoint(value), extras: readExtras(value) };
}

/** Loads model, EMA, optimizer moments and step into `s`. Throws ERR_STATE_DICT naming what does not fit. */
export function applyCheckpoint(ck: ReferenceCheckpoint, s: TrainingState): void {
  s.model.loadStateDict(ck.model, { strict: true });
  const params = s.model.parameters();
  if (ck.ema.shadowParams.length !== params.length) {
    throw new ScoreflowError('ERR_STATE_DICT', `checkpoint EMA has ${ck.ema.shadowParams.length} tensors, the model ${params.length} parameters`);
  }
  const shadow = ck.ema.shadowParams.map((h) => fromHost(h));
  s.ema.load(shadow, ck.ema.numUpdates);
  const moments = (xs: (HostTensor | null)[]) => xs.map((h, i) => (h ? fromHost(h) : fromHost({ dtype: 'float32', shape: params[i]!.shape, data: new Float32Array(params[i]!.numel) })));
  const expAvg = moments(ck.optimizer.expAvg);
  const expAvgSq = moments(ck.optimizer.expAvgSq);
  try {
    s.optimizer.setState({ step: ck.optimizer.step.map((v) => v ?? 0), expAvg, expAvgSq });
  } finally {
    for (const t of [...shadow, ...expAvg, ...expAvgSq]) t.dispose();
  }
  s.step = ck.step;
}

/** Restores `s` from `path` (readCheckpoint + applyCheckpoint); returns our extras when present. */
export function restoreCheckpoint(path: string, s: TrainingState): CheckpointExtras | undefined {
  const { checkpoint, extras } = readCheckpoint(path);
  applyCheckpoint(checkpoint, s);
  return extras;
}
