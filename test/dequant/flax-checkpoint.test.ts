// score_flow's flax dequantizer checkpoints (DeqState msgpack in flowpp_dequantizer/checkpoints/checkpoint_<N>):
// eval.dequantizer loads them, `scoreflow convert` turns them into our state dict. The file is written here
// in the DeqState layout (flax.serialization's msgpack, our writer) from a dequantizer's own parameters.
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { writeFlaxCheckpointFile } from '../../src/formats/flax.js';
import { buildFlowppMap, nativeFlowppToFlax } from '../../src/formats/flax-flowpp-map.js';
import { FlowppDequantizer } from '../../src/dequant/flowpp.js';
import { flowppConfigFor } from '../../src/dequant/config.js';
import { loadEvalDequantizer } from '../../src/dequant/checkpoint.js';
import { run as convert } from '../../src/commands/convert.js';
import { loadWeights } from '../../src/commands/weights.js';
import type { HostTensor } from '../../src/host-tensor.js';

const OVERRIDES = ['deq.filters=8', 'deq.components=2', 'deq.blocks=1', 'deq.heads=2', 'eval.dequantizer_ckpt=6', 'device=cpu'];

describe('score_flow flax dequantizer checkpoints', () => {
  it('load through the name map into eval.dequantizer and convert to our state dict', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-deqflax-'));
    const config = loadConfig('fmnist_small', OVERRIDES);
    const src = new FlowppDequantizer(flowppConfigFor(config), { seed: 11 });
    try {
      const sd = new Map<string, HostTensor>([...src.stateDict()].map(([k, t]) => { const h = t.toHost(); t.dispose(); return [k, h]; }));
      const params = nativeFlowppToFlax(sd, buildFlowppMap(src.stateDictShapes()));
      const zeros = nativeFlowppToFlax(new Map([...sd].map(([k, t]) => [k, { ...t, data: new Float32Array(t.data.length) }])), buildFlowppMap(src.stateDictShapes()));
      const ckptDir = join(dir, 'flowpp_dequantizer', 'checkpoints');
      mkdirSync(ckptDir, { recursive: true });
      const file = join(ckptDir, 'checkpoint_6');
      writeFlaxCheckpointFile(file, new Map<string, unknown>([
        ['step', 6], ['optimizer', new Map<string, unknown>([['target', zeros], ['state', new Map([['step', 6]])]])],
        ['lr', 1e-3], ['ema_rate', 0.99], ['params_ema', params], ['ema_train_bpd', 3.2], ['ema_eval_bpd', 3.3],
        ['rng', { dtype: 'int64', shape: [2], data: new BigInt64Array([0n, 6n]) }],
      ]));

      const { deq, path } = loadEvalDequantizer(config, dir, 'cpu');
      try {
        expect(path).toBe(file);
        const got = deq.stateDict();
        for (const [k, t] of got) {
          expect(Array.from(t.toArray() as Float32Array), k).toEqual(Array.from(sd.get(k)!.data as Float32Array));
          t.dispose();
        }
      } finally {
        deq.dispose();
      }

      const out = join(dir, 'deq.safetensors');
      await convert({ input: file, output: out, weights: 'ema', config: 'fmnist_small' }, OVERRIDES);
      const { weights } = loadWeights(out, 'raw');
      expect([...weights.keys()]).toEqual([...sd.keys()]);
      for (const [k, t] of weights) expect(Array.from(t.data as Float32Array), k).toEqual(Array.from(sd.get(k)!.data as Float32Array));
    } finally {
      src.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
