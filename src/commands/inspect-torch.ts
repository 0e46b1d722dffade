/**
 * `inspect` of torch / safetensors / npz files: a training checkpoint in score_sde_pytorch's layout (ours
 * and the reference's: model, ema, optimizer, step, and in ours the `scoreflow` entry with the config and
 * resumption data), or plain weights.
 */
import { numel } from '../host-tensor.js';
import { dictGet } from '../formats/py-values.js';
import { interpretReferenceCheckpoint, type AdamState, type ReferenceCheckpoint } from '../formats/reference-checkpoint.js';
import { readExtras } from '../train/checkpoint.js';
import { keyInfo, summarise, type InspectReport, type OptimizerSummary } from './inspect-report.js';
import { summariseStoredConfig } from './stored-config.js';
import { weightsFrom } from './weights.js';

/** The file as read by the format registry. */
export interface ReadFile { file: string; bytes: Uint8Array; format: string; value: unknown; metadata?: Record<string, string> }

const isTrainingCheckpoint = (v: unknown) => v instanceof Map && dictGet(v, 'model') instanceof Map && dictGet(v, 'ema') !== undefined;

export function describeTorch(f: ReadFile): InspectReport {
  return isTrainingCheckpoint(f.value) ? describeTrainingCheckpoint(f) : describeWeights(f);
}

function describeWeights(f: ReadFile): InspectReport {
  const keys = keyInfo(weightsFrom(f.bytes, f.file, 'raw').weights);
  return { file: f.file, format: f.format, content: 'state dict', tensors: summarise(keys), keys, ...(f.metadata ? { metadata: f.metadata } : {}) };
}

function describeTrainingCheckpoint(f: ReadFile): InspectReport {
  const ck = interpretReferenceCheckpoint(f.value);
  const extras = readExtras(f.value);
  const stored = extras?.json.config;
  const keys = keyInfo(ck.model);
  const report: InspectReport = {
    file: f.file,
    format: f.format,
    content: `training checkpoint (score_sde_pytorch layout${extras ? ', written by scoreflow' : ''}); model weights`,
    tensors: summarise(keys),
    keys,
    parameters: ck.ema.shadowParams.reduce((a, t) => a + numel(t.shape), 0), // the EMA tracks the trainable parameters
    step: ck.step,
    ema: { decay: ck.ema.decay, numUpdates: ck.ema.numUpdates, shadowTensors: ck.ema.shadowParams.length },
    optimizer: optimizerSummary(ck, stored),
  };
  if (stored !== undefined) report.config = summariseStoredConfig(stored);
  if (extras) {
    report.resume = { data: extras.json.data, rngBytes: Object.fromEntries(Object.entries(extras.blobs).map(([k, b]) => [k, b.length])) };
  }
  return report;
}

/** `optim.optimizer` of a stored config, if it has one. */
function storedOptimizer(stored: unknown): string | undefined {
  const o = (stored as { optim?: { optimizer?: unknown } } | undefined)?.optim?.optimizer;
  return typeof o === 'string' ? o : undefined;
}

function optimizerSummary(ck: ReferenceCheckpoint, stored: unknown): OptimizerSummary {
  const opt: AdamState = ck.optimizer;
  const g = opt.paramGroups[0];
  const moments = [...opt.expAvg, ...opt.expAvgSq];
  const withState = opt.step.filter((s) => s !== null);
  return {
    // Adam and AdamW state dicts have the same keys: only a stored config tells them apart.
    type: storedOptimizer(stored) ?? 'Adam (inferred: betas, eps and amsgrad in the param groups)',
    lr: g?.lr ?? NaN,
    betas: g?.betas ?? [NaN, NaN],
    eps: g?.eps ?? NaN,
    weightDecay: g?.weightDecay ?? 0,
    amsgrad: g?.amsgrad ?? false,
    paramGroups: opt.paramGroups.length,
    params: opt.paramGroups.reduce((a, x) => a + x.params.length, 0),
    stateEntries: withState.length,
    stateElements: moments.reduce((a, t) => a + (t ? numel(t.shape) : 0), 0),
    ...(withState.length ? { adamStep: withState[0]! } : {}),
  };
}
