/**
 * Typed configuration, mirroring the layout of the references' ml_collections configs
 * (score_sde_pytorch / score_sde / score_flow / mle_score_ode): `training`, `sampling`, `eval`, `data`,
 * `model`, `optim`, `deq`, `seed`, `device`. Field names are the references' names (snake_case) so that
 * command-line overrides read exactly as in their READMEs (`--config.training.likelihood_weighting=true`).
 */

export type SdeName = 'vpsde' | 'subvpsde' | 'vesde';
export type SamplingMethod = 'pc' | 'ode';
export type PredictorName = 'euler_maruyama' | 'reverse_diffusion' | 'ancestral_sampling' | 'none';
export type CorrectorName = 'langevin' | 'ald' | 'none';
export type HutchinsonType = 'rademacher' | 'gaussian' | 'exact';
export type DatasetName = 'FashionMNIST' | 'CIFAR10' | 'ImageNet' | 'ImageFolder';
export type ResblockType = 'ddpm' | 'biggan';
export type ProgressiveType = 'none' | 'output_skip' | 'residual';
export type ProgressiveInputType = 'none' | 'input_skip' | 'residual';
export type ProgressiveCombine = 'sum' | 'cat';
export type EmbeddingType = 'fourier' | 'positional';
export type Nonlinearity = 'swish' | 'elu' | 'relu' | 'lrelu';
/** Precision of the network forward: float32, or bfloat16 autocast (float32 weights, optimiser, EMA, loss). */
export type PrecisionName = 'fp32' | 'bf16';
/** Channels-last (NHWC) convolutions: 'auto' = where it measurably helps (CUDA), or forced on/off. */
export type ChannelsLastSetting = 'auto' | boolean;

export interface TrainingConfig {
  batch_size: number;
  n_iters: number;
  snapshot_freq: number;
  log_freq: number;
  eval_freq: number;
  snapshot_freq_for_preemption: number;
  snapshot_sampling: boolean;
  likelihood_weighting: boolean;
  importance_weighting: boolean;
  continuous: boolean;
  reduce_mean: boolean;
  sde: SdeName;
  /** Lower end of the training time interval [eps, T] (score_flow `training.smallest_time`). */
  smallest_time: number;
  /** mle_score_ode high-order DSM: 1, 2 or 3. */
  score_matching_order: number;
  /** JAX references scan this many steps per jitted call; kept for parity (frequencies must be multiples). */
  n_jitted_steps: number;
  /** Precision of the network forward in training ('bf16': autocast around the network only). */
  precision: PrecisionName;
  /** TF32 for cuBLAS matmuls and cuDNN convolutions while training on CUDA (no effect on the CPU). */
  allow_tf32: boolean;
}

export interface SamplingConfig {
  method: SamplingMethod;
  predictor: PredictorName;
  corrector: CorrectorName;
  snr: number;
  n_steps_each: number;
  noise_removal: boolean;
  probability_flow: boolean;
  /** End time eps of the sampler (score_flow `sampling.smallest_time`; SP hard-codes 1e-3 VP/subVP, 1e-5 VE). */
  smallest_time: number;
}

export interface EvalConfig {
  begin_ckpt: number;
  end_ckpt: number;
  ckpt_id: number;
  batch_size: number;
  enable_sampling: boolean;
  num_samples: number;
  enable_loss: boolean;
  enable_bpd: boolean;
  bpd_dataset: 'train' | 'test';
  num_repeats: number;
  bound: boolean;
  dsm: boolean;
  dequantizer: boolean;
  /**
   * Which `<workdir>/flowpp_dequantizer/checkpoints/checkpoint_<N>` eval.dequantizer loads (the reference
   * hard-codes 6; extension).
   */
  dequantizer_ckpt: number;
  offset: boolean;
  /** Probability-flow ODE solver tolerances (references: RK45 rtol = atol = 1e-5). */
  rtol: number;
  atol: number;
  /**
   * Examples per network call in the ODE likelihood (extension). The solve stays one system over the whole
   * eval batch, as the references'; only its right-hand side is evaluated in chunks. 0 (default): as many as
   * fit in half the device's available memory, measured at the start (src/likelihood/chunk.ts).
   */
  ode_chunk: number;
  /**
   * Slices of each network call of the ODE likelihood that run at once on the CPU, one intra-op thread each
   * (extension; results agree with the whole call to float32 rounding). 0 (default): one slice a thread
   * (src/likelihood/workers.ts: 10–30 % faster per evaluation on 2 cores); always 1 on CUDA.
   */
  ode_workers: number;
  /** Divergence estimator for the ODE likelihood ('exact' computes the full trace, D backward passes). */
  hutchinson: HutchinsonType;
  /** Precision of the network forward in evaluation and sampling (the ODE state keeps its own dtype). */
  precision: PrecisionName;
  /** TF32 for cuBLAS matmuls and cuDNN convolutions in evaluation on CUDA (no effect on the CPU). */
  allow_tf32: boolean;
}

export interface DataConfig {
  dataset: DatasetName;
  /** Directory holding the dataset files; null = the dataset's default location. */
  root: string | null;
  image_size: number;
  random_flip: boolean;
  centered: boolean;
  uniform_dequantization: boolean;
  num_channels: number;
}

export interface ModelConfig {
  name: 'ncsnpp';
  nf: number;
  ch_mult: number[];
  num_res_blocks: number;
  attn_resolutions: number[];
  dropout: number;
  resamp_with_conv: boolean;
  conditional: boolean;
  fir: boolean;
  fir_kernel: number[];
  skip_rescale: boolean;
  resblock_type: ResblockType;
  progressive: ProgressiveType;
  progressive_input: ProgressiveInputType;
  progressive_combine: ProgressiveCombine;
  init_scale: number;
  embedding_type: EmbeddingType;
  fourier_scale: number;
  scale_by_sigma: boolean;
  nonlinearity: Nonlinearity;
  /** Unused by NCSN++ (GroupNorm is hard-wired) but part of the references' configs. */
  normalization: 'GroupNorm';
  /** Unused by NCSN++. */
  attention_type: 'ddpm';
  /** Unused by NCSN++. */
  conv_size: number;
  /** Unused by NCSN++. */
  data_init: boolean;
  /** score_flow: train the Gaussian Fourier projection W (stop-gradient unless true). */
  trainable_embedding: boolean;
  sigma_min: number;
  sigma_max: number;
  num_scales: number;
  beta_min: number;
  beta_max: number;
  ema_rate: number;
  /** Channels-last memory format for the network's convolutions (an execution choice; weights unchanged). */
  channels_last: ChannelsLastSetting;
}

export interface OptimConfig {
  optimizer: 'Adam';
  lr: number;
  beta1: number;
  eps: number;
  warmup: number;
  /** Global-norm clipping threshold; a negative value disables clipping. */
  grad_clip: number;
  weight_decay: number;
}

/** score_flow variational dequantizer (Flow++) training. */
export interface DeqConfig {
  n_iters: number;
  ema_rate: number;
  /** Present in the references' configs but never passed to the model [quirk]. */
  dropout: number;
  offset: boolean;
  /**
   * Extensions: which Flow++ network ('auto': the reference's choice by dataset, imagenet32 for 32×32
   * ImageNet, cifar10 for everything else) and its sizes (0: the architecture's own, spec §8).
   */
  architecture: 'auto' | 'cifar10' | 'imagenet32';
  filters: number;
  components: number;
  blocks: number;
  heads: number;
}

export interface Config {
  training: TrainingConfig;
  sampling: SamplingConfig;
  eval: EvalConfig;
  data: DataConfig;
  model: ModelConfig;
  optim: OptimConfig;
  deq: DeqConfig;
  seed: number;
  /** 'auto' (cuda:0 when available, else cpu), 'cpu', 'cuda' or 'cuda:N'. */
  device: string;
}

export const SECTION_NAMES = ['training', 'sampling', 'eval', 'data', 'model', 'optim', 'deq'] as const;
export type SectionName = typeof SECTION_NAMES[number];

/** Deep-readonly view of a value (what `loadConfig` returns: the object is frozen). */
export type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/** A partial config as written in a config file (every level optional). */
export type PartialConfig = {
  [K in keyof Config]?: Config[K] extends object ? (Config[K] extends unknown[] ? Config[K] : Partial<Config[K]>) : Config[K];
};
