/** Reads named arrays from a .npz file through the project's npz reader (src/formats). */
import type { HostTensor } from '../../host-tensor.js';
import { DataError } from '../errors.js';

export function readNpzArrays(path: string, _names: string[]): Record<string, HostTensor> {
  throw new DataError(`${path}: .npz reading is not available yet (waiting for src/formats/npz.ts)`);
}
