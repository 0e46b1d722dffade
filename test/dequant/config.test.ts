// Which Flow++ network a config asks for (spec §8: score_flow picks it by dataset).
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { flowppConfigFor } from '../../src/dequant/config.js';

describe('flowppConfigFor', () => {
  it('takes the reference variant by dataset, the image shape from data, and deq.* sizes when set', () => {
    expect(flowppConfigFor(loadConfig('score_flow/vp/cifar10_ddpmpp_continuous', []))).toEqual({
      variant: 'cifar10', channels: 3, height: 32, width: 32, filters: 96, components: 32, blocks: 2, heads: 4,
    });
    expect(flowppConfigFor(loadConfig('score_flow/vp/imagenet32_ddpmpp_continuous', []))).toEqual({
      variant: 'imagenet32', channels: 3, height: 32, width: 32, filters: 128, components: 32, blocks: 8, heads: 4,
    });
    expect(flowppConfigFor(loadConfig('fmnist_small', ['deq.filters=32', 'deq.components=8', 'deq.blocks=1']))).toEqual({
      variant: 'cifar10', channels: 1, height: 28, width: 28, filters: 32, components: 8, blocks: 1, heads: 4,
    });
    expect(flowppConfigFor(loadConfig('fmnist_small', ['deq.architecture=imagenet32'])).variant).toBe('imagenet32');
  });

  it('refuses odd image sizes and heads that do not divide the filters', () => {
    expect(() => flowppConfigFor(loadConfig('fmnist_small', ['data.image_size=27', 'model.ch_mult=[1]']))).toThrow(/data\.image_size must be even, got 27/);
    expect(() => flowppConfigFor(loadConfig('fmnist_small', ['deq.filters=30']))).toThrow(/deq\.heads \(4\) must divide deq\.filters \(30\)/);
    expect(() => loadConfig('fmnist_small', ['deq.architecture=resnet'])).toThrow(/deq\.architecture/);
  });
});
