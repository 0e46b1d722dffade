export { DataError } from './errors.js';
export { ChunkedImageDataset, type ImageDataset, type OpenOptions, type Split } from './types.js';
export { Prng, deriveSeed, type PrngState } from './prng.js';
export {
  uint8ToUnitFloat, flipHorizontal, uniformDequantize, getDataScaler, getDataInverseScaler, samplesToUint8Nhwc, type Scaler,
} from './transforms.js';
export { adaptDataset, subsetDataset } from './adapt.js';
export { DataLoader, type Batch, type LoaderOptions, type LoaderState } from './pipeline.js';
export { decodePng, encodePng, makeGrid, saveImageGrid, floatToUint8, type RawImage, type GridInput } from './png.js';
export {
  registerDataset, openDataset, datasetNames, datasetFromConfig, trainingLoaders, evaluationLoader, type DatasetOpener,
} from './registry.js';
export { openFashionMnist, parseIdx, FASHION_MNIST_DEFAULT_ROOT, FASHION_MNIST_CLASSES } from './datasets/fashion-mnist.js';
export { openCifar10, parseCifarBinaryBatch, CIFAR10_DEFAULT_ROOT, CIFAR10_CLASSES } from './datasets/cifar10.js';
export { openImageNet32, IMAGENET32_DEFAULT_ROOT } from './datasets/imagenet32.js';
export { openImageFolder } from './datasets/image-folder.js';
