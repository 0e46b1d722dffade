/**
 * Field-by-field schema of the config (type and range of every field) and the built-in defaults
 * (the name `defaults` in a config file's `extends`).
 */
import type { Config, SectionName } from './types.js';

export type FieldSpec =
  | { kind: 'bool' }
  | { kind: 'int'; min?: number; max?: number; oneOf?: readonly number[] }
  | { kind: 'number'; min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean }
  | { kind: 'enum'; values: readonly string[]; orBool?: boolean }
  | { kind: 'string'; nullable?: boolean; pattern?: RegExp; patternDoc?: string }
  | { kind: 'intList'; min?: number; minLength?: number }
  | { kind: 'numberList'; minLength?: number };

export type SectionSchema<T> = { [K in keyof T]-?: FieldSpec };

export type ConfigSchema = { [S in SectionName]: SectionSchema<Config[S]> } & {
  seed: FieldSpec;
  device: FieldSpec;
};

const bool: FieldSpec = { kind: 'bool' };
const posInt: FieldSpec = { kind: 'int', min: 1 };
const nonNegInt: FieldSpec = { kind: 'int', min: 0 };
const prob01: FieldSpec = { kind: 'number', min: 0, max: 1 };
const time01: FieldSpec = { kind: 'number', min: 0, max: 1, minExclusive: true, maxExclusive: true };
const posNum: FieldSpec = { kind: 'number', min: 0, minExclusive: true };
const nonNegNum: FieldSpec = { kind: 'number', min: 0 };
/** src/precision.ts PRECISIONS */
const precision: FieldSpec = { kind: 'enum', values: ['fp32', 'bf16'] };

export const SCHEMA: ConfigSchema = {
  training: {
    batch_size: posInt,
    n_iters: nonNegInt,
    snapshot_freq: posInt,
    log_freq: posInt,
    eval_freq: posInt,
    snapshot_freq_for_preemption: posInt,
    snapshot_sampling: bool,
    likelihood_weighting: bool,
    importance_weighting: bool,
    continuous: bool,
    reduce_mean: bool,
    sde: { kind: 'enum', values: ['vpsde', 'subvpsde', 'vesde'] },
    smallest_time: time01,
    score_matching_order: { kind: 'int', oneOf: [1, 2, 3] },
    n_jitted_steps: posInt,
    precision: precision,
    allow_tf32: bool,
  },
  sampling: {
    method: { kind: 'enum', values: ['pc', 'ode'] },
    predictor: { kind: 'enum', values: ['euler_maruyama', 'reverse_diffusion', 'ancestral_sampling', 'none'] },
    corrector: { kind: 'enum', values: ['langevin', 'ald', 'none'] },
    snr: nonNegNum,
    n_steps_each: posInt,
    noise_removal: bool,
    probability_flow: bool,
    smallest_time: time01,
  },
  eval: {
    begin_ckpt: nonNegInt,
    end_ckpt: nonNegInt,
    ckpt_id: nonNegInt,
    batch_size: posInt,
    enable_sampling: bool,
    num_samples: posInt,
    enable_loss: bool,
    enable_bpd: bool,
    bpd_dataset: { kind: 'enum', values: ['train', 'test'] },
    num_repeats: posInt,
    bound: bool,
    dsm: bool,
    dequantizer: bool,
    dequantizer_ckpt: nonNegInt,
    offset: bool,
    rtol: posNum,
    atol: posNum,
    ode_chunk: nonNegInt,
    ode_workers: nonNegInt,
    hutchinson: { kind: 'enum', values: ['rademacher', 'gaussian', 'exact'] },
    precision: precision,
    allow_tf32: bool,
  },
  data: {
    dataset: { kind: 'enum', values: ['FashionMNIST', 'CIFAR10', 'ImageNet', 'ImageFolder'] },
    root: { kind: 'string', nullable: true },
    image_size: { kind: 'int', min: 2, max: 4096 },
    random_flip: bool,
    centered: bool,
    uniform_dequantization: bool,
    num_channels: { kind: 'int', oneOf: [1, 3] },
  },
  model: {
    name: { kind: 'enum', values: ['ncsnpp'] },
    nf: posInt,
    ch_mult: { kind: 'intList', min: 1, minLength: 1 },
    num_res_blocks: posInt,
    attn_resolutions: { kind: 'intList', min: 1 },
    dropout: { kind: 'number', min: 0, max: 1, maxExclusive: true },
    resamp_with_conv: bool,
    conditional: bool,
    fir: bool,
    fir_kernel: { kind: 'numberList', minLength: 1 },
    skip_rescale: bool,
    resblock_type: { kind: 'enum', values: ['ddpm', 'biggan'] },
    progressive: { kind: 'enum', values: ['none', 'output_skip', 'residual'] },
    progressive_input: { kind: 'enum', values: ['none', 'input_skip', 'residual'] },
    progressive_combine: { kind: 'enum', values: ['sum', 'cat'] },
    init_scale: nonNegNum,
    embedding_type: { kind: 'enum', values: ['fourier', 'positional'] },
    fourier_scale: posNum,
    scale_by_sigma: bool,
    nonlinearity: { kind: 'enum', values: ['swish', 'elu', 'relu', 'lrelu'] },
    normalization: { kind: 'enum', values: ['GroupNorm'] },
    attention_type: { kind: 'enum', values: ['ddpm'] },
    conv_size: { kind: 'int', oneOf: [3] },
    data_init: bool,
    trainable_embedding: bool,
    sigma_min: posNum,
    sigma_max: posNum,
    num_scales: { kind: 'int', min: 2 },
    beta_min: nonNegNum,
    beta_max: posNum,
    ema_rate: prob01,
    channels_last: { kind: 'enum', values: ['auto'], orBool: true },
  },
  optim: {
    optimizer: { kind: 'enum', values: ['Adam'] },
    lr: nonNegNum,
    beta1: { kind: 'number', min: 0, max: 1, maxExclusive: true },
    eps: posNum,
    warmup: nonNegInt,
    grad_clip: { kind: 'number' },
    weight_decay: nonNegNum,
  },
  deq: {
    n_iters: nonNegInt,
    ema_rate: prob01,
    dropout: { kind: 'number', min: 0, max: 1, maxExclusive: true },
    offset: bool,
    architecture: { kind: 'enum', values: ['auto', 'cifar10', 'imagenet32'] },
    filters: nonNegInt,
    components: nonNegInt,
    blocks: nonNegInt,
    heads: nonNegInt,
  },
  seed: { kind: 'int', min: 0, max: 0xffffffff },
  device: { kind: 'string', pattern: /^(auto|cpu|cuda(:\d+)?)$/, patternDoc: "'auto', 'cpu', 'cuda' or 'cuda:N'" },
};

export const TOP_LEVEL_KEYS = ['training', 'sampling', 'eval', 'data', 'model', 'optim', 'deq', 'seed', 'device'] as const;

export function isSectionName(k: string): k is SectionName {
  return k === 'training' || k === 'sampling' || k === 'eval' || k === 'data' || k === 'model' || k === 'optim' || k === 'deq';
}

/** The spec of a dotted path (`training.batch_size`, `seed`), or undefined. */
export function fieldSpecAt(path: readonly string[]): FieldSpec | undefined {
  if (path.length === 1 && (path[0] === 'seed' || path[0] === 'device')) return SCHEMA[path[0]];
  if (path.length === 2 && isSectionName(path[0]!)) {
    const sec = SCHEMA[path[0]] as Record<string, FieldSpec>;
    return Object.prototype.hasOwnProperty.call(sec, path[1]!) ? sec[path[1]!] : undefined;
  }
  return undefined;
}

/** Human-readable description of what a field accepts. */
export function expectedText(spec: FieldSpec): string {
  switch (spec.kind) {
    case 'bool': return 'a boolean (true or false)';
    case 'int': {
      if (spec.oneOf) return `an integer, one of ${spec.oneOf.join(', ')}`;
      return `an integer${rangeText(spec.min, spec.max, false, false)}`;
    }
    case 'number': return `a finite number${rangeText(spec.min, spec.max, spec.minExclusive, spec.maxExclusive)}`;
    case 'enum': return `one of ${[...spec.values.map((v) => `'${v}'`), ...(spec.orBool ? ['true', 'false'] : [])].join(', ')}`;
    case 'string':
      return (spec.patternDoc ?? 'a string') + (spec.nullable ? ' or null' : '');
    case 'intList':
      return `a list of integers${spec.min !== undefined ? ` >= ${spec.min}` : ''}` +
        (spec.minLength ? ` (at least ${spec.minLength} element${spec.minLength > 1 ? 's' : ''})` : ' (may be empty)');
    case 'numberList':
      return `a list of finite numbers${spec.minLength ? ` (at least ${spec.minLength} element${spec.minLength > 1 ? 's' : ''})` : ''}`;
  }
}

function rangeText(min?: number, max?: number, minEx?: boolean, maxEx?: boolean): string {
  const parts: string[] = [];
  if (min !== undefined) parts.push(`${minEx ? '>' : '>='} ${min}`);
  if (max !== undefined) parts.push(`${maxEx ? '<' : '<='} ${max}`);
  return parts.length ? ' ' + parts.join(' and ') : '';
}

/**
 * Built-in defaults (`"extends": "defaults"`): score_flow's CIFAR-10 defaults completed with the DDPM++
 * (cifar10_ddpmpp_continuous, VP) model, SDE and sampler, i.e. a fully specified DDPM++ VP run.
 * Fields that exist in no reference (rtol/atol, hutchinson, root, device) carry the references' hard-coded values;
 * the execution fields (precision, allow_tf32, channels_last) default to what the references run: float32
 * networks, TF32 where the GPU has it (PyTorch's cuDNN default), NCHW on the CPU.
 */
export const DEFAULT_CONFIG: Config = {
  training: {
    batch_size: 128,
    n_iters: 1300001,
    snapshot_freq: 50000,
    log_freq: 100,
    eval_freq: 100,
    snapshot_freq_for_preemption: 10000,
    snapshot_sampling: true,
    likelihood_weighting: false,
    importance_weighting: false,
    continuous: true,
    reduce_mean: true,
    sde: 'vpsde',
    smallest_time: 1e-5,
    score_matching_order: 1,
    n_jitted_steps: 1,
    precision: 'fp32',
    allow_tf32: true,
  },
  sampling: {
    method: 'ode',
    predictor: 'euler_maruyama',
    corrector: 'none',
    snr: 0.16,
    n_steps_each: 1,
    noise_removal: true,
    probability_flow: false,
    smallest_time: 1e-3,
  },
  eval: {
    begin_ckpt: 26,
    end_ckpt: 26,
    ckpt_id: 26,
    batch_size: 1024,
    enable_sampling: false,
    num_samples: 50000,
    enable_loss: false,
    enable_bpd: true,
    bpd_dataset: 'test',
    num_repeats: 5,
    bound: false,
    dsm: true,
    dequantizer: false,
    dequantizer_ckpt: 6,
    offset: true,
    rtol: 1e-5,
    atol: 1e-5,
    ode_chunk: 0,
    ode_workers: 0,
    hutchinson: 'rademacher',
    precision: 'fp32',
    allow_tf32: true,
  },
  data: {
    dataset: 'CIFAR10',
    root: null,
    image_size: 32,
    random_flip: true,
    centered: true,
    uniform_dequantization: false,
    num_channels: 3,
  },
  model: {
    name: 'ncsnpp',
    nf: 128,
    ch_mult: [1, 2, 2, 2],
    num_res_blocks: 4,
    attn_resolutions: [16],
    dropout: 0.1,
    resamp_with_conv: true,
    conditional: true,
    fir: false,
    fir_kernel: [1, 3, 3, 1],
    skip_rescale: true,
    resblock_type: 'biggan',
    progressive: 'none',
    progressive_input: 'none',
    progressive_combine: 'sum',
    init_scale: 0.0,
    embedding_type: 'positional',
    fourier_scale: 16,
    scale_by_sigma: false,
    nonlinearity: 'swish',
    normalization: 'GroupNorm',
    attention_type: 'ddpm',
    conv_size: 3,
    data_init: false,
    trainable_embedding: false,
    sigma_min: 0.01,
    sigma_max: 50,
    num_scales: 1000,
    beta_min: 0.1,
    beta_max: 20,
    ema_rate: 0.9999,
    channels_last: 'auto',
  },
  optim: {
    optimizer: 'Adam',
    lr: 2e-4,
    beta1: 0.9,
    eps: 1e-8,
    warmup: 5000,
    grad_clip: 1.0,
    weight_decay: 0,
  },
  deq: {
    n_iters: 300001,
    ema_rate: 0.99,
    dropout: 0.0,
    offset: true,
    architecture: 'auto',
    filters: 0,
    components: 0,
    blocks: 0,
    heads: 0,
  },
  seed: 42,
  device: 'auto',
};
