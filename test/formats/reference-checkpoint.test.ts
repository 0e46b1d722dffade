import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { interpretReferenceCheckpoint, readReferenceCheckpoint, toReferenceCheckpoint, type ReferenceCheckpoint } from '../../src/formats/reference-checkpoint.js';
import { toNumbers } from '../../src/formats/tensor-util.js';
import { loadTorch } from '../../src/formats/torch-load.js';
import { saveTorch } from '../../src/formats/torch-save.js';
import { OrderedDict } from '../../src/formats/py-values.js';
import { DATA, FIXTURES, expectFormatError, expectSummary, readJson } from './helpers.js';

describe('score_sde_pytorch training checkpoint (ckpt_a.pth)', () => {
  const golden = readJson(join(DATA, 'ckpt_a_golden.json'));
  const sdGolden = readJson(join(DATA, 'a_ddpmpp_golden.json'));
  let ck: ReferenceCheckpoint;
  beforeAll(() => {
    ck = readReferenceCheckpoint(join(FIXTURES, 'ckpt_a.pth'));
  });

  it('has step 3, the model without module. prefixes, and 288 EMA shadow params', () => {
    expect(ck.step).toBe(3);
    expect(ck.model.size).toBe(289);
    expect([...ck.model.keys()]).toEqual(sdGolden.keys);
    expect(ck.ema.decay).toBe(0.9999);
    expect(ck.ema.numUpdates).toBe(3);
    expect(ck.ema.shadowParams).toHaveLength(288);
    for (const [i, s] of Object.entries(golden.ema.shadow)) expectSummary(ck.ema.shadowParams[Number(i)]!, s as any, 1e-9);
    // shadow params follow model.parameters() order: every key except the 'sigmas' buffer
    const params = [...ck.model.entries()].filter(([k]) => k !== 'sigmas');
    params.forEach(([, t], i) => expect(ck.ema.shadowParams[i]!.shape).toEqual(t.shape));
    const diff = toNumbers(ck.ema.shadowParams[5]!).map((v, j) => Math.abs(v - toNumbers(params[5]![1])[j]!));
    expect(Math.max(...diff)).toBeLessThan(1e-6);
  });

  it('has the Adam moments, steps and param group (numpy float64 lr)', () => {
    const o = ck.optimizer;
    expect(o.expAvg).toHaveLength(288);
    expect(o.expAvg.every((t) => t !== null)).toBe(true);
    for (const [i, s] of Object.entries(golden.optimizer.state) as [string, any][]) {
      expect(o.step[Number(i)]).toBe(s.step.first[0]);
      expectSummary(o.expAvg[Number(i)]!, s.exp_avg, 1e-9);
      expectSummary(o.expAvgSq[Number(i)]!, s.exp_avg_sq, 1e-9);
    }
    const g = o.paramGroups[0]!;
    expect(golden.optimizer.lr_type).toBe('float64');
    expect(g.lr).toBe(golden.optimizer.lr);
    expect(g.betas).toEqual(golden.optimizer.betas);
    expect(g.eps).toBe(1e-8);
    expect(g.weightDecay).toBe(0);
    expect(g.amsgrad).toBe(false);
    expect(g.params).toEqual(Array.from({ length: 288 }, (_, i) => i));
  });

  it('writes the reference layout back (module. prefixes, Adam state dict) losslessly', () => {
    const again = interpretReferenceCheckpoint(loadTorch(saveTorch(toReferenceCheckpoint(ck))));
    expect(again.step).toBe(3);
    expect([...again.model.keys()]).toEqual([...ck.model.keys()]);
    expect(toNumbers(again.model.get('sigmas')!)).toEqual(toNumbers(ck.model.get('sigmas')!));
    expect(again.optimizer.step).toEqual(ck.optimizer.step);
    expect(toNumbers(again.optimizer.expAvgSq[7]!)).toEqual(toNumbers(ck.optimizer.expAvgSq[7]!));
    expect(again.optimizer.paramGroups[0]!.lr).toBe(ck.optimizer.paramGroups[0]!.lr);
    expect(again.ema.shadowParams).toHaveLength(288);
    const raw = loadTorch(saveTorch(toReferenceCheckpoint(ck))) as Map<string, any>;
    expect(raw.get('model')).toBeInstanceOf(OrderedDict);
    expect([...raw.get('model').keys()][0]).toBe('module.sigmas');
  });
});

describe('building a reference checkpoint from our own state', () => {
  it('fills torch 1.13 Adam param-group defaults', () => {
    const w = { dtype: 'float32' as const, shape: [2], data: new Float32Array([1, 2]) };
    const ck: ReferenceCheckpoint = {
      model: new Map([['sigmas', { dtype: 'float64', shape: [1], data: new Float64Array([1]) }], ['w', w]]),
      ema: { decay: 0.999, numUpdates: 1, shadowParams: [w] },
      optimizer: { step: [1], expAvg: [w], expAvgSq: [w], paramGroups: [{ lr: 2e-4, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, params: [0] }] },
      step: 1,
    };
    const v = loadTorch(saveTorch(toReferenceCheckpoint(ck))) as Map<string, any>;
    const g = v.get('optimizer').get('param_groups')[0] as Map<string, unknown>;
    expect([...g.keys()]).toEqual(['lr', 'betas', 'eps', 'weight_decay', 'amsgrad', 'maximize', 'foreach', 'capturable', 'differentiable', 'fused', 'params']);
    expect(g.get('lr')).toBe(2e-4);
    expect(g.get('foreach')).toBeNull();
    const back = interpretReferenceCheckpoint(v);
    expect(back.optimizer.step).toEqual([1]);
    expect([...back.model.keys()]).toEqual(['sigmas', 'w']);
  });
});

describe('reference checkpoint errors', () => {
  it('names what is missing', () => {
    expectFormatError(() => interpretReferenceCheckpoint(new Map([['step', 1]])), /no 'model' state dict/);
    expectFormatError(() => interpretReferenceCheckpoint(new Map<string, unknown>([['model', new Map()], ['ema', new Map()]])), /shadow_params/);
  });
});
