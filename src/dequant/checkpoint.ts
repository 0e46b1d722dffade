/**
 * The dequantizer that eval.dequantizer uses: `<workdir>/flowpp_dequantizer/checkpoints/checkpoint_<N>`
 * with N = eval.dequantizer_ckpt (score_flow hard-codes 6), EMA weights. Either ours (`checkpoint_<N>.pth`,
 * written by train-deq) or score_flow's flax DeqState (`checkpoint_<N>`, msgpack; its params_ema through
 * formats/flax-flowpp-map.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedConfig } from '../config/index.js';
import { readFlaxCheckpointFile, flaxGet } from '../formats/flax.js';
import { inFile } from '../formats/errors.js';
import { buildFlowppMap, flaxFlowppToNative } from '../formats/flax-flowpp-map.js';
import { restoreEmaWeights } from '../eval/checkpoint.js';
import { ScoreflowError } from '../errors.js';
import { FlowppDequantizer } from './flowpp.js';
import { flowppConfigFor } from './config.js';
import { DEQ_DIR } from './trainer.js';

/** Loads score_flow's flax DeqState (params_ema, else optimizer/target) into `deq`. */
export function loadFlaxDequantizer(deq: FlowppDequantizer, path: string): void {
  inFile(path, () => {
    const tree = readFlaxCheckpointFile(path);
    const params = flaxGet(tree, 'params_ema') ?? flaxGet(tree, 'optimizer/target');
    if (params === undefined) throw new ScoreflowError('ERR_FORMAT', "not a score_flow DeqState: no 'params_ema' or 'optimizer/target'");
    deq.loadStateDict(flaxFlowppToNative(params, buildFlowppMap(deq.stateDictShapes())));
  });
}

export function loadEvalDequantizer(config: ResolvedConfig, workdir: string, device: string): { deq: FlowppDequantizer; path: string } {
  const n = config.eval.dequantizer_ckpt;
  const base = join(workdir, DEQ_DIR, 'checkpoints', `checkpoint_${n}`);
  const ours = `${base}.pth`;
  const path = existsSync(ours) ? ours : existsSync(base) ? base : undefined;
  if (!path) {
    throw new ScoreflowError('ERR_CONFIG', `eval.dequantizer: no dequantizer checkpoint ${ours} (or score_flow's ${base}); ` +
      'train one with `scoreflow train-deq` or pick another with --config.eval.dequantizer_ckpt=<N>');
  }
  const deq = new FlowppDequantizer(flowppConfigFor(config), { seed: config.seed, device });
  try {
    if (path === ours) restoreEmaWeights(deq, path, config.optim, config.deq.ema_rate, 'jax');
    else loadFlaxDequantizer(deq, path);
    return { deq, path };
  } catch (e) {
    deq.dispose();
    throw e;
  }
}
