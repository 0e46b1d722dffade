/** CIFAR-10 python-version batches (pickled dicts). Uses the project's pickle VM (src/formats). */
import { DataError } from '../errors.js';

export function readCifarPythonBatch(_bytes: Uint8Array, path: string): { images: Uint8Array; labels: Int32Array } {
  throw new DataError(`CIFAR-10 python batch ${path}: reading the pickled version is not available yet; use the binary version (cifar-10-batches-bin)`);
}
