/**
 * `scoreflow convert` of score_flow's flax dequantizer checkpoints (DeqState msgpack): the tree is
 * recognised by its Flow++ modules, the network built from the config (data shape, deq.architecture and
 * sizes), and its params_ema (or optimizer/target for --weights raw) mapped to our state dict.
 */
import type { HostTensor } from '../host-tensor.js';
import { readFlaxCheckpoint, flaxGet } from '../formats/flax.js';
import { inFile } from '../formats/errors.js';
import { buildFlowppMap, flaxFlowppToNative } from '../formats/flax-flowpp-map.js';
import { FlowppDequantizer } from './flowpp.js';
import { flowppConfigFor } from './config.js';

/** Whether a flax params tree is a Flow++ dequantizer's (its first Norm / coupling modules). */
export function isFlowppParams(params: unknown): boolean {
  return flaxGet(params, 'Norm_0') !== undefined && flaxGet(params, 'MixLogisticAttnCoupling_0') !== undefined;
}

/** Our state dict of a score_flow DeqState, or undefined when `bytes` is not one. */
export async function flaxDequantizerWeights(bytes: Uint8Array, file: string, choice: 'ema' | 'raw', configRef: string, overrides: string[] = []): Promise<Map<string, HostTensor> | undefined> {
  const params = inFile(file, () => flaxGet(readFlaxCheckpoint(bytes), choice === 'ema' ? 'params_ema' : 'optimizer/target'));
  if (!isFlowppParams(params)) return undefined;
  const { loadConfig } = await import('../config/index.js');
  const deq = new FlowppDequantizer(flowppConfigFor(loadConfig(configRef, overrides)));
  try {
    return inFile(file, () => flaxFlowppToNative(params, buildFlowppMap(deq.stateDictShapes())));
  } finally {
    deq.dispose();
  }
}
