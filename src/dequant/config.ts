/**
 * The Flow++ network a config asks for (spec §8): score_flow picks it by dataset (ImageNet 32×32 →
 * imagenet32, CIFAR-10 → cifar10); `deq.architecture` overrides, and deq.filters / components / blocks /
 * heads replace the architecture's sizes when non-zero (small CPU runs). The image shape is config.data's.
 */
import type { Config, DeepReadonly } from '../config/index.js';
import { ScoreflowError } from '../errors.js';
import { FLOWPP_VARIANTS, type FlowppConfig, type FlowppVariant } from './flowpp.js';

export function flowppVariantFor(config: DeepReadonly<Config>): FlowppVariant {
  const a = config.deq.architecture;
  if (a !== 'auto') return a;
  return config.data.dataset.toLowerCase() === 'imagenet' && config.data.image_size === 32 ? 'imagenet32' : 'cifar10';
}

export function flowppConfigFor(config: DeepReadonly<Config>): FlowppConfig {
  const variant = flowppVariantFor(config);
  const base = FLOWPP_VARIANTS[variant];
  const d = config.deq;
  const size = config.data.image_size;
  if (size % 2 !== 0) {
    throw new ScoreflowError('ERR_CONFIG', `the Flow++ dequantizer splits image columns in two: data.image_size must be even, got ${size}`);
  }
  const cfg: FlowppConfig = {
    variant, channels: config.data.num_channels, height: size, width: size,
    filters: d.filters || base.filters, components: d.components || base.components,
    blocks: d.blocks || base.blocks, heads: d.heads || base.heads,
  };
  if (cfg.filters % cfg.heads !== 0) {
    throw new ScoreflowError('ERR_CONFIG', `deq.heads (${cfg.heads}) must divide deq.filters (${cfg.filters})`);
  }
  return cfg;
}
