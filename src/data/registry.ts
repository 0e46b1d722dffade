/**
 * Dataset registry by name (`config.data.dataset`) and the config-driven entry points that build the
 * references' train / eval streams.
 */
import type { Config, DeepReadonly } from '../config/types.js';
import { adaptDataset } from './adapt.js';
import { DataError } from './errors.js';
import { openCifar10 } from './datasets/cifar10.js';
import { openFashionMnist } from './datasets/fashion-mnist.js';
import { openImageFolder } from './datasets/image-folder.js';
import { openImageNet32 } from './datasets/imagenet32.js';
import { DataLoader } from './pipeline.js';
import { deriveSeed } from './prng.js';
import type { ImageDataset, OpenOptions, Split } from './types.js';

export type DatasetOpener = (opts: OpenOptions) => ImageDataset;

const REGISTRY = new Map<string, DatasetOpener>([
  ['FashionMNIST', openFashionMnist],
  ['CIFAR10', openCifar10],
  ['ImageNet', openImageNet32],
  ['ImageFolder', openImageFolder],
]);

export function registerDataset(name: string, opener: DatasetOpener): void {
  REGISTRY.set(name, opener);
}

export function datasetNames(): string[] {
  return [...REGISTRY.keys()];
}

export function openDataset(name: string, opts: OpenOptions): ImageDataset {
  const open = REGISTRY.get(name);
  if (!open) throw new DataError(`unknown dataset ${JSON.stringify(name)}; registered datasets: ${datasetNames().join(', ')}`);
  return open(opts);
}

type DataSection = Pick<Config['data'], 'dataset' | 'root' | 'image_size' | 'num_channels'>;

/** Opens `config.data.dataset` (split) and adapts it to data.num_channels × image_size². */
export function datasetFromConfig(data: DeepReadonly<DataSection>, split: Split): ImageDataset {
  const ds = openDataset(data.dataset, { root: data.root, split });
  return adaptDataset(ds, data.num_channels, data.image_size);
}

type LoaderConfig = DeepReadonly<Pick<Config, 'data' | 'training' | 'eval' | 'seed'>>;

/**
 * The training loop's two endless streams (references: get_dataset(evaluation=False)): train split and
 * test split, both with training.batch_size, random flip per data.random_flip, uniform dequantization per
 * data.uniform_dequantization; seeds derived from config.seed.
 */
export function trainingLoaders(config: LoaderConfig, opts: { prefetch?: number; train?: ImageDataset; test?: ImageDataset } = {}): { train: DataLoader; eval: DataLoader } {
  const d = config.data;
  const common = {
    batchSize: config.training.batch_size, randomFlip: d.random_flip, uniformDequantization: d.uniform_dequantization,
    epochs: Infinity, prefetch: opts.prefetch ?? 1,
  };
  return {
    train: new DataLoader(opts.train ?? datasetFromConfig(d, 'train'), { ...common, seed: deriveSeed(config.seed, 0x7261) }),
    eval: new DataLoader(opts.test ?? datasetFromConfig(d, 'test'), { ...common, seed: deriveSeed(config.seed, 0x7465) }),
  };
}

/**
 * One evaluation pass over a split (references: get_dataset(evaluation=True)): eval.batch_size, no flip,
 * last partial batch dropped, shuffled; `uniformDequantization` true for likelihood (bpd) evaluation.
 * `repeat` selects a different shuffle / noise per repeat (SF: eval.num_repeats passes over the test set).
 */
export function evaluationLoader(config: LoaderConfig, split: Split, opts: { uniformDequantization?: boolean; repeat?: number; prefetch?: number; dataset?: ImageDataset } = {}): DataLoader {
  return new DataLoader(opts.dataset ?? datasetFromConfig(config.data, split), {
    batchSize: config.eval.batch_size, randomFlip: false,
    uniformDequantization: opts.uniformDequantization ?? config.data.uniform_dequantization,
    epochs: 1, dropLast: true, shuffle: true, prefetch: opts.prefetch ?? 1,
    seed: deriveSeed(config.seed + 1, split === 'train' ? 0x6576 : 0x7465, opts.repeat ?? 0),
  });
}
