/**
 * The NCSN++/DDPM++ score network as a TS object: construction from a validated config, forward passes,
 * parameters in the reference order, and state dicts that load the references' checkpoints.
 */
import { addon, type Device, type NativeNcsnpp } from '../native.js';
import type { Config, DeepReadonly } from '../config/index.js';
import type { Tensor } from '../tensor.js';
import { applyTf32, checkPrecision, executionPolicy, forwardOptions, resolveChannelsLast, type Precision, type Stage } from '../precision.js';
import { checkInt } from '../errors.js';
import { loadInto, type AnyTensor, type LoadReport } from './load-state-dict.js';

export { describeReport, type LoadReport } from './load-state-dict.js';

export interface ScoreModelOptions {
  seed?: number;
  device?: Device;
  /**
   * Run as `config[stage]` says: its precision ('fp32' | 'bf16') and allow_tf32 (applied process-wide when
   * the device is CUDA), and model.channels_last. Without a stage: fp32, channels-last 'auto', TF32 untouched.
   */
  stage?: Stage;
  /** Overrides the stage's precision. */
  precision?: Precision;
}

/** Per-call options of a forward (defaults: the model's). */
export interface ForwardOptions {
  precision?: Precision;
  channelsLast?: boolean;
  /**
   * CPU: run this many slices of the batch at once, one intra-op thread each (default 1). Faster where one
   * call's thread team idles at its barriers (eval.ode_workers: 10–30 % on 2 cores). Under grad mode the
   * output differentiates to x only: parameters get no gradient, so it is refused for a training step.
   */
  workers?: number;
}

export class ScoreModel {
  private readonly net: NativeNcsnpp;
  private params?: [string, Tensor][];
  private precision_: Precision = 'fp32';
  private channelsLast_: boolean | 'auto' = 'auto';
  private device_: Device;

  /** Builds the network with the reference initialisation, seeded by `seed` for reproducibility. */
  constructor(readonly config: DeepReadonly<Config>, opts: ScoreModelOptions = {}) {
    const device = opts.device ?? 'cpu';
    const policy = opts.stage ? executionPolicy(config, opts.stage, device) : undefined;
    if (opts.precision) checkPrecision(opts.precision, device);
    this.net = new (addon().NcsnppModule)(config, opts.seed ?? config.seed);
    if (device !== 'cpu') this.net.to(device);
    this.device_ = this.net.device();
    if (policy) {
      this.precision_ = policy.precision;
      this.channelsLast_ = config.model.channels_last ?? 'auto';
      applyTf32(policy.allowTf32, this.device_);
    }
    if (opts.precision) this.precision_ = opts.precision;
  }

  /**
   * The network: x [B, C, H, W], labels [B]. Runs at the model's precision (bf16: autocast around the
   * network only; the output is float32 like x) unless `opts` says otherwise.
   */
  forward(x: Tensor, labels: Tensor, opts?: ForwardOptions): Tensor {
    return this.net.forward(x, labels, this.nativeOptions(opts)) as Tensor;
  }
  /** This network with `opts` on every forward: a model for getScoreFn (e.g. the likelihood's `workers`). */
  withOptions(opts: ForwardOptions): { forward(x: Tensor, labels: Tensor): Tensor; train(on: boolean): void } {
    return { forward: (x, labels) => this.forward(x, labels, opts), train: (on) => { this.train(on); } };
  }
  /** The forward pass on libuv's thread pool (the JS thread stays free for data loading and logging). */
  forwardAsync(x: Tensor, labels: Tensor, opts?: ForwardOptions): Promise<Tensor> {
    return this.net.forwardAsync(x, labels, this.nativeOptions(opts)) as Promise<Tensor>;
  }

  /** The precision of forward passes ('fp32' | 'bf16'). */
  get precision(): Precision { return this.precision_; }
  /** Sets the precision of later forward passes; ERR_DEVICE when the model's device cannot run it. */
  setPrecision(p: Precision): this {
    checkPrecision(p, this.device_);
    this.precision_ = p;
    return this;
  }
  /** Whether forward passes at the model's precision run channels-last on the current device. */
  get channelsLast(): boolean { return resolveChannelsLast(this.channelsLast_, this.device_, this.precision_); }
  /** true / false, or 'auto' (CUDA, and bf16 on the CPU: src/precision.ts resolveChannelsLast). */
  setChannelsLast(setting: boolean | 'auto'): this { this.channelsLast_ = setting; return this; }

  private nativeOptions(opts?: ForwardOptions) {
    const precision = opts?.precision ?? this.precision_;
    if (opts?.workers !== undefined) checkInt('opts.workers', opts.workers, 1);
    return forwardOptions(precision, opts?.channelsLast ?? resolveChannelsLast(this.channelsLast_, this.device_, precision), opts?.workers);
  }

  train(on = true): this { this.net.train(on); return this; }
  eval(): this { return this.train(false); }
  get training(): boolean { return this.net.isTraining(); }
  get device(): Device { return this.net.device(); }
  /** Moves the network; ERR_DEVICE (and no move) when the new device cannot run the model's precision. */
  to(device: Device): this {
    checkPrecision(this.precision_, device);
    this.net.to(device);
    this.device_ = this.net.device();
    this.params = undefined;
    return this;
  }
  numParameters(): number { return this.net.numParameters(); }
  /** Seeds dropout's random stream (training runs resume bit for bit). */
  setDropoutSeed(seed: number): void { this.net.setDropoutSeed(seed); }

  /** Trainable parameters with their reference names, in `model.parameters()` order (live views). */
  namedParameters(): [string, Tensor][] {
    if (!this.params) this.params = (this.net.namedParameters() as [string, Tensor][]).map(([n, t]) => [n, t.keep()]);
    return this.params;
  }
  parameters(): Tensor[] { return this.namedParameters().map(([, t]) => t); }

  /** Parameters and buffers in the reference's state_dict order (live views; dispose when done). */
  stateDict(): Map<string, Tensor> {
    return new Map((this.net.stateDict() as [string, Tensor][]).map(([n, t]) => [n, t.keep()]));
  }

  /**
   * Copies `sd` into the network. Reports keys that are missing, unexpected, or of the wrong shape; with
   * `strict` (default) any of those is an ERR_STATE_DICT error naming them, and nothing is changed.
   */
  loadStateDict(sd: Map<string, AnyTensor>, opts: { strict?: boolean } = {}): LoadReport {
    const own = this.stateDict();
    try {
      return loadInto(own, sd, opts.strict ?? true);
    } finally {
      for (const t of own.values()) t.dispose();
    }
  }

  dispose(): void {
    for (const [, t] of this.params ?? []) t.dispose();
    this.params = undefined;
    this.net.dispose();
  }
}
