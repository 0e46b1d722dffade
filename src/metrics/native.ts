/** Typed access to the metrics part of the addon (native/inception.cc): the Inception handle and eigh. */
import { addon, type Device, type NativeTensor } from '../native.js';
import { ScoreflowError } from '../errors.js';

export type InceptionVariant = 'fid' | 'torchvision';

export interface NativeInceptionOptions { variant?: InceptionVariant; numClasses?: number; seed?: number }

/** The Inception-v3 module handle (native/inception.cc). */
export declare class NativeInception {
  constructor(options?: NativeInceptionOptions);
  forward(x: NativeTensor): { pool3: NativeTensor; logits: NativeTensor };
  forwardAsync(x: NativeTensor): Promise<[NativeTensor, NativeTensor]>;
  namedParameters(): [string, NativeTensor][];
  namedBuffers(): [string, NativeTensor][];
  stateDict(): [string, NativeTensor][];
  stateDictKeys(): string[];
  to(device: Device): void;
  device(): Device;
  numParameters(): number;
  variant(): InceptionVariant;
  numClasses(): number;
  dispose(): void;
  isDisposed(): boolean;
}

interface MetricsAddon {
  InceptionModule?: typeof NativeInception;
  linalgEigh?: (a: NativeTensor) => [NativeTensor, NativeTensor];
}

export function metricsAddon(): Required<MetricsAddon> {
  const a = addon() as unknown as MetricsAddon;
  if (!a.InceptionModule || !a.linalgEigh) {
    throw new ScoreflowError('ERR_TORCH', 'this build of the addon has no Inception module; rebuild with npm run build:native');
  }
  return a as Required<MetricsAddon>;
}
