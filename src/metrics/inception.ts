/**
 * The Inception-v3 feature network of the sample-quality metrics (native/nn/inception.cc) as a TS object:
 * construction, weight loading from PyTorch state dicts (pytorch-fid's pt_inception-2015-12-05 weights or
 * torchvision's ImageNet weights), and batched pool_3 / logits extraction. See docs/metrics.md.
 */
import { readFileSync } from 'node:fs';
import type { Device } from '../native.js';
import { cat, fromHost, type Tensor } from '../tensor.js';
import type { HostTensor } from '../host-tensor.js';
import { noGrad } from '../autograd.js';
import { tidy } from '../scope.js';
import { ScoreflowError, checkInt } from '../errors.js';
import { readStateDict } from '../formats/index.js';
import { addon, type InceptionVariant, type NativeInception } from '../native.js';

export type { InceptionVariant } from '../native.js';

export interface InceptionOptions {
  /** 'fid' (default): pytorch-fid's FID Inception (TF graph 2015-12-05, 1008 logits); 'torchvision': ImageNet Inception-v3. */
  variant?: InceptionVariant;
  /** Size of the fc head (default: 1008 for fid, 1000 for torchvision). */
  numClasses?: number;
  /** Seed of the random initial weights (only meaningful for tests). */
  seed?: number;
  device?: Device;
}

export interface InceptionLoadReport { missing: string[]; unexpected: string[]; mismatched: { key: string; expected: number[]; received: number[] }[] }

export interface InceptionOutputs {
  /** [N, 2048] float32: the global average pool of Mixed_7c (TF's `pool_3`). */
  pool3: Tensor;
  /** [N, 1008] (fid) or [N, 1000] (torchvision) float32 classifier logits. */
  logits: Tensor;
}

type AnyTensor = Tensor | HostTensor;
const isDevice = (t: AnyTensor): t is Tensor => typeof (t as Tensor).dispose === 'function';
/** BatchNorm's step counter: absent from pre-0.4.1 state dicts and unused in eval mode. */
const optionalKey = (k: string) => k.endsWith('num_batches_tracked');

export class InceptionV3 {
  private readonly net: NativeInception;

  constructor(opts: InceptionOptions = {}) {
    const Ctor = addon().InceptionModule;
    this.net = new Ctor({ variant: opts.variant ?? 'fid', numClasses: opts.numClasses, seed: opts.seed });
    if (opts.device && opts.device !== 'cpu') this.net.to(opts.device);
  }

  /** Builds the network and loads a PyTorch state-dict file (.pth zip or legacy, .safetensors, .npz). */
  static fromFile(path: string, opts: InceptionOptions = {}): InceptionV3 {
    let sd: Map<string, HostTensor>;
    try {
      sd = readStateDict(readFileSync(path), path);
    } catch (e) {
      throw new ScoreflowError('ERR_FORMAT', `inception weights ${path}: ${(e as Error).message}`, { cause: e });
    }
    const variant = opts.variant ?? guessVariant(sd);
    const net = new InceptionV3({ ...opts, variant, device: 'cpu' });
    try {
      net.loadStateDict(sd);
      if (opts.device && opts.device !== 'cpu') net.to(opts.device);
    } catch (e) {
      net.dispose();
      throw e;
    }
    return net;
  }

  get variant(): InceptionVariant { return this.net.variant(); }
  get numClasses(): number { return this.net.numClasses(); }
  get device(): Device { return this.net.device(); }
  numParameters(): number { return this.net.numParameters(); }
  to(device: Device): this { this.net.to(device); return this; }
  dispose(): void { this.net.dispose(); }
  get isDisposed(): boolean { return this.net.isDisposed(); }

  /** torchvision / PyTorch state-dict names in state_dict() order. */
  stateDictKeys(): string[] { return this.net.stateDictKeys(); }
  /** Parameters and buffers in state_dict() order (live views; dispose when done). */
  stateDict(): Map<string, Tensor> {
    return new Map((this.net.stateDict() as [string, Tensor][]).map(([n, t]) => [n, t.keep()]));
  }
  namedParameters(): [string, Tensor][] { return (this.net.namedParameters() as [string, Tensor][]).map(([n, t]) => [n, t.keep()]); }
  namedBuffers(): [string, Tensor][] { return (this.net.namedBuffers() as [string, Tensor][]).map(([n, t]) => [n, t.keep()]); }

  /**
   * Copies `sd` into the network's parameters and buffers. A `module.` prefix (DataParallel) is dropped;
   * `*.num_batches_tracked` may be absent. With `strict` (default) a missing, unexpected or mis-shaped key
   * is an ERR_STATE_DICT error and nothing is changed.
   */
  loadStateDict(sd: Map<string, AnyTensor>, opts: { strict?: boolean } = {}): InceptionLoadReport {
    const own = this.stateDict();
    try {
      const entries = [...sd].map(([k, t]) => [k.startsWith('module.') ? k.slice(7) : k, t] as const);
      const given = new Set(entries.map(([k]) => k));
      const report: InceptionLoadReport = { missing: [], unexpected: [], mismatched: [] };
      for (const key of own.keys()) if (!given.has(key) && !optionalKey(key)) report.missing.push(key);
      for (const [key, t] of entries) {
        const mine = own.get(key);
        if (!mine) report.unexpected.push(key);
        else if (mine.shape.join() !== t.shape.join()) report.mismatched.push({ key, expected: mine.shape, received: [...t.shape] });
      }
      const problems = report.missing.length + report.unexpected.length + report.mismatched.length;
      if ((opts.strict ?? true) && problems > 0) throw new ScoreflowError('ERR_STATE_DICT', describe(report, this.variant));
      const bad = new Set(report.mismatched.map((m) => m.key));
      noGrad(() => {
        for (const [key, t] of entries) {
          const mine = own.get(key);
          if (!mine || bad.has(key)) continue;
          if (isDevice(t)) mine.copy_(t);
          else tidy(() => { mine.copy_(fromHost(t)); });
        }
      });
      return report;
    } finally {
      for (const t of own.values()) t.dispose();
    }
  }

  /**
   * One forward pass. x: [N, 3, H, W] uint8 images (mapped with (x − 127.5)/127.5, as tfgan) or floats in
   * [−1, 1]; resized bilinearly to 299×299 when needed. No gradients.
   */
  forward(x: Tensor): InceptionOutputs {
    return noGrad(() => this.net.forward(x) as InceptionOutputs);
  }

  async forwardAsync(x: Tensor): Promise<InceptionOutputs> {
    const [pool3, logits] = await noGrad(() => this.net.forwardAsync(x)) as [Tensor, Tensor];
    return { pool3, logits };
  }

  /**
   * pool_3 activations and logits of a set of images, `batchSize` at a time (default 50), returned on
   * the CPU. Grayscale images ([N, 1, H, W]) are repeated to three channels.
   */
  activations(images: Tensor, opts: { batchSize?: number } = {}): InceptionOutputs {
    const bs = checkInt('batchSize', opts.batchSize ?? 50, 1);
    const n = images.shape[0];
    const pools: Tensor[] = [];
    const logits: Tensor[] = [];
    try {
      for (let s = 0; s < n; s += bs) {
        const out = tidy(() => {
          let x = images.slice(0, s, Math.min(n, s + bs));
          if (x.shape[1] === 1) x = x.repeat([1, 3, 1, 1]);
          const o = this.forward(x);
          return { pool3: o.pool3.to('cpu'), logits: o.logits.to('cpu') };
        });
        pools.push(out.pool3);
        logits.push(out.logits);
      }
      return tidy(() => ({ pool3: cat(pools, 0), logits: cat(logits, 0) }));
    } finally {
      for (const t of [...pools, ...logits]) t.dispose();
    }
  }
}

/** 'torchvision' when the state dict has the ImageNet head (1000 classes or AuxLogits), else 'fid'. */
export function guessVariant(sd: Map<string, { shape: number[] }>): InceptionVariant {
  const fc = sd.get('fc.weight') ?? sd.get('module.fc.weight');
  if ([...sd.keys()].some((k) => k.includes('AuxLogits.')) || (fc && fc.shape[0] === 1000)) return 'torchvision';
  return 'fid';
}

function describe(r: InceptionLoadReport, variant: string): string {
  const parts: string[] = [`inception (${variant}) state dict does not match:`];
  const list = (xs: string[]) => xs.slice(0, 5).join(', ') + (xs.length > 5 ? `, … (${xs.length} in all)` : '');
  if (r.missing.length) parts.push(`missing ${list(r.missing)}`);
  if (r.unexpected.length) parts.push(`unexpected ${list(r.unexpected)}`);
  if (r.mismatched.length) {
    parts.push(`wrong shape ${list(r.mismatched.map((m) => `${m.key} [${m.received}] (expected [${m.expected}])`))}`);
  }
  parts.push('Supported: pytorch-fid pt_inception-2015-12-05-6726825d.pth (variant fid) or torchvision inception_v3_google-*.pth (variant torchvision); see docs/metrics.md.');
  return parts.join('; ');
}
