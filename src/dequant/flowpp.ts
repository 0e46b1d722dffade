/**
 * The Flow++ variational dequantizer (score_flow models/flowpp, spec §8) as a TS object over the native
 * FlowppModule: u = flow(eps; x) ∈ (0, 1) for eps ~ N(0, I) with its −log q(u|x), the data-dependent init,
 * parameters and state dicts (flax checkpoints through formats/flax-flowpp-map.ts).
 */
import { addon, type Device, type FlowppInitStat, type NativeFlowpp, type NativeFlowppConfig } from '../native.js';
import type { DType } from '../host-tensor.js';
import type { Tensor } from '../tensor.js';
import { loadInto, type AnyTensor, type LoadReport } from '../model/load-state-dict.js';

export type FlowppVariant = 'cifar10' | 'imagenet32';
export type FlowppConfig = Required<NativeFlowppConfig>;

/** The reference's two dequantizers (dequantization_cifar10.py / dequantization_imagenet32.py defaults). */
export const FLOWPP_VARIANTS: Record<FlowppVariant, Omit<FlowppConfig, 'channels' | 'height' | 'width' | 'variant'>> = {
  cifar10: { filters: 96, components: 32, blocks: 2, heads: 4 },
  imagenet32: { filters: 128, components: 32, blocks: 8, heads: 4 },
};

export interface FlowppOutput {
  /** The dequantization noise u ∈ (0, 1), [B, C, H, W]. */
  u: Tensor;
  /** −log q(u | x) per example, [B]. */
  sldj: Tensor;
}

export class FlowppDequantizer {
  private readonly net: NativeFlowpp;
  private params?: [string, Tensor][];

  constructor(readonly config: FlowppConfig, opts: { seed?: number; device?: Device } = {}) {
    this.net = new (addon().FlowppModule)(config, opts.seed);
    if (opts.device && opts.device !== 'cpu') this.net.to(opts.device);
  }

  /** eps ~ N(0, I) and x ∈ [0, 1] (the un-dequantized image), both [B, C, H, W]. */
  forward(eps: Tensor, x: Tensor): FlowppOutput {
    const [u, sldj] = this.net.forward(eps, x) as [Tensor, Tensor];
    return { u, sldj };
  }
  /** The forward pass on libuv's pool (the JS thread stays free meanwhile). */
  async forwardAsync(eps: Tensor, x: Tensor): Promise<FlowppOutput> {
    const [u, sldj] = (await this.net.forwardAsync(eps, x)) as [Tensor, Tensor];
    return { u, sldj };
  }
  /** eps from u (200-step bisection of each coupling's mixture CDF). */
  inverse(u: Tensor, x: Tensor): Tensor {
    const [eps, second] = this.net.forward(u, x, { inverse: true }) as [Tensor, Tensor];
    second.dispose();
    return eps;
  }

  /** The reference's data-dependent initialisation on one batch (score_flow: the first training batch). */
  initialize(eps: Tensor, x: Tensor): FlowppInitStat[] { return this.net.initialize(eps, x); }

  /** The flow's steps by flax name, and one step on NHWC tensors (tests). */
  stepNames(): string[] { return this.net.stepNames(); }
  step(i: number, tensors: Tensor[], context: Tensor | null, inverse = false): { out: Tensor[]; logdet: Tensor | null } {
    return this.net.step(i, tensors, context, inverse) as { out: Tensor[]; logdet: Tensor | null };
  }
  context(x: Tensor): Tensor { return this.net.context(x) as Tensor; }

  get device(): Device { return this.net.device(); }
  to(device: Device): this { this.net.to(device); this.params = undefined; return this; }
  toDtype(dtype: DType): this { this.net.toDtype(dtype); this.params = undefined; return this; }
  numParameters(): number { return this.net.numParameters(); }

  /** Trainable parameters with their state-dict names (live views). */
  namedParameters(): [string, Tensor][] {
    if (!this.params) this.params = (this.net.namedParameters() as [string, Tensor][]).map(([n, t]) => [n, t.keep()]);
    return this.params;
  }
  parameters(): Tensor[] { return this.namedParameters().map(([, t]) => t); }
  /** Names and shapes in state-dict order (for the flax name map). */
  stateDictShapes(): [string, number[]][] {
    const sd = this.stateDict();
    try { return [...sd].map(([k, t]) => [k, t.shape]); } finally { for (const t of sd.values()) t.dispose(); }
  }
  stateDict(): Map<string, Tensor> {
    return new Map((this.net.stateDict() as [string, Tensor][]).map(([n, t]) => [n, t.keep()]));
  }
  loadStateDict(sd: ReadonlyMap<string, AnyTensor>, opts: { strict?: boolean } = {}): LoadReport {
    const own = this.stateDict();
    try { return loadInto(own, sd, opts.strict ?? true); } finally { for (const t of own.values()) t.dispose(); }
  }

  dispose(): void {
    for (const [, t] of this.params ?? []) t.dispose();
    this.params = undefined;
    this.net.dispose();
  }
}
