// `scoreflow inspect`: the format once; a training checkpoint's step, EMA, optimiser, stored config and
// resumption data; a flax file's keys, shapes, dtypes, step and parameter count (Maps or plain objects).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as inspect } from '../../src/commands/inspect.js';
import { describeFlax } from '../../src/commands/inspect-flax.js';
import type { InspectReport } from '../../src/commands/inspect-report.js';
import { loadConfig } from '../../src/config/index.js';
import { readFlaxCheckpoint } from '../../src/formats/flax.js';
import { ScoreModel } from '../../src/model/score-model.js';
import { TINY, train } from '../train/tiny-trainer.js';
import { REFERENCE_FIXTURES } from '../reference-fixtures.js';

const FLAX = new URL('../data/formats/tiny_flax_checkpoint', import.meta.url).pathname;

async function output(args: Record<string, unknown>): Promise<string> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => { lines.push(s); };
  try { await inspect(args); } finally { console.log = log; }
  return lines.join('\n');
}
const report = async (file: string): Promise<InspectReport> => JSON.parse(await output({ file, json: true })) as InspectReport;

describe('inspect a training checkpoint made by the trainer', () => {
  let workdir: string;
  let file: string;
  const overrides = ['training.n_iters=2'];
  beforeAll(async () => {
    workdir = mkdtempSync(join(tmpdir(), 'sf-inspect-'));
    await train(workdir, overrides);
    file = join(workdir, 'checkpoints-meta', 'checkpoint.pth');
  });
  afterAll(() => rmSync(workdir, { recursive: true, force: true }));

  it('summarises step, EMA, optimiser, the stored config and the resumption data', async () => {
    const config = loadConfig('fmnist_small', [...TINY, ...overrides]);
    const model = new ScoreModel(config, { seed: 0 });
    const params = model.namedParameters();
    const numParams = params.reduce((a, [, t]) => a + t.numel, 0);
    const stateKeys = model.stateDict();
    const numStateKeys = stateKeys.size;
    for (const t of stateKeys.values()) t.dispose();
    model.dispose();

    const r = await report(file);
    expect(r.format).toBe('torch-zip');
    expect(r.content).toBe('training checkpoint (score_sde_pytorch layout, written by scoreflow); model weights');
    expect(r.step).toBe(2);
    expect(r.ema).toEqual({ decay: config.model.ema_rate, numUpdates: 2, shadowTensors: params.length });
    expect(r.parameters).toBe(numParams);
    expect(r.tensors.count).toBe(numStateKeys);
    expect(r.keys.length).toBe(numStateKeys);
    expect(r.optimizer).toEqual({
      type: 'Adam', lr: config.optim.lr, betas: [0.9, 0.999], eps: config.optim.eps, weightDecay: config.optim.weight_decay, amsgrad: false,
      paramGroups: 1, params: params.length, stateEntries: params.length, stateElements: 2 * numParams, adamStep: 2,
    });
    // The stored config, said as the nearest bundled config plus overrides, is the config it was trained with.
    expect(r.config!.base).toBe('fmnist_small');
    expect(r.config!.overrides).toEqual(expect.arrayContaining(['--config.model.nf=8', '--config.training.batch_size=4', '--config.training.n_iters=2']));
    expect(loadConfig(r.config!.base!, r.config!.overrides)).toEqual(config);
    expect(r.resume!.rngBytes).toEqual({ loss_rng: expect.any(Number), eval_rng: expect.any(Number) });
    expect(r.resume!.rngBytes.loss_rng).toBeGreaterThan(0);
    expect(r.resume!.data).toMatchObject({ train: { seed: expect.any(Number), batch: expect.any(Number) } });
  });

  it('text: the format once, one line each, every key with --keys', async () => {
    const text = await output({ file });
    const lines = text.split('\n');
    expect(lines[0]).toBe(`${file}: torch-zip, training checkpoint (score_sde_pytorch layout, written by scoreflow); model weights`);
    expect(text.match(/torch-zip/g)!.length).toBe(1);
    expect(text).toContain('\n  step: 2\n');
    expect(text).toMatch(/\n {2}EMA: decay 0\.99, 2 updates \(num_updates\), \d+ shadow tensors\n/);
    expect(text).toMatch(/\n {2}optimiser: Adam, lr 0\.0005, betas \(0\.9, 0\.999\), eps 1e-8, weight decay 0; 1 param group of \d+ parameters, state for \d+ \([\d,]+ moment elements, Adam step 2\)\n/);
    expect(text).toMatch(/\n {2}config \(stored\): fmnist_small .*--config\.model\.nf=8/);
    expect(text).toContain('(--keys lists all');
    expect(text).not.toContain('all_modules.0.weight\t');
    const all = await output({ file, keys: true });
    expect(all).toMatch(/\n {2}all_modules\.0\.weight\t\[\d+, \d+\]\tfloat32/);
    expect(all).not.toContain('--keys lists');
  });

  it("the references' checkpoint: step, EMA and an inferred optimiser type, no stored config", async () => {
    const r = await report(REFERENCE_FIXTURES + 'ckpt_a.pth');
    expect(r.content).toBe('training checkpoint (score_sde_pytorch layout); model weights');
    expect(r.step).toBe(3);
    expect(r.ema).toEqual({ decay: 0.9999, numUpdates: 3, shadowTensors: 288 });
    expect(r.optimizer!.type).toMatch(/^Adam \(inferred/);
    expect(r.optimizer!.paramGroups).toBe(1);
    expect(r.config).toBeUndefined();
    expect(r.resume).toBeUndefined();
  });
});

describe('inspect a flax checkpoint', () => {
  it('keys, shapes, dtypes, step, EMA rate, learning rate and parameter count', async () => {
    const r = await report(FLAX);
    expect(r.format).toBe('flax-msgpack');
    expect(r.content).toBe('flax State (score_sde / score_flow training checkpoint)');
    expect([r.step, r.emaRate, r.lr]).toEqual([12, 0.999, 0.0002]);
    expect(r.tensors).toEqual({ count: 481, elements: 37_102, dtypes: { float32: 480, int64: 1 } });
    expect(r.parameters).toBe(9275); // params_ema
    expect(r.keys.filter((k) => k.name.startsWith('params_ema/')).length).toBe(120);
    expect(r.keys.find((k) => k.name === 'rng')).toEqual({ name: 'rng', shape: [2], dtype: 'int64' });
    expect(r.groups!.map((g) => g.name)).toEqual(['step', 'optimizer', 'lr', 'model_state', 'ema_rate', 'params_ema', 'rng']);
    const text = await output({ file: FLAX, keys: true });
    expect(text.split('\n')[0]).toBe(`${FLAX}: flax-msgpack, flax State (score_sde / score_flow training checkpoint)`);
    expect(text).toContain('  481 tensors, 37,102 elements; dtypes float32×480, int64×1; 9,275 parameters\n  step: 12\n');
    expect(text).toMatch(/\n {2}params_ema\/\S+\t\[[\d, ]+\]\tfloat32/);
  });

  it('keys, shapes, step and entries alike from a tree of plain objects (what a msgpack library may decode to)', () => {
    const toObject = (v: unknown): unknown => (v instanceof Map ? Object.fromEntries([...v].map(([k, x]) => [String(k), toObject(x)])) : v);
    const tree = readFlaxCheckpoint(readFileSync(FLAX));
    const fromMaps = describeFlax({ file: 'f', bytes: new Uint8Array(), format: 'flax-msgpack', value: tree });
    const fromObjects = describeFlax({ file: 'f', bytes: new Uint8Array(), format: 'flax-msgpack', value: toObject(tree) });
    // Where the weights are is src/formats' judgement (locateFlaxParams), which takes the decoder's Maps.
    const { parameters, ...rest } = fromMaps;
    expect(parameters).toBe(9275);
    expect({ ...fromObjects, parameters }).toEqual({ ...rest, parameters });
    expect(fromMaps.keys.length).toBe(481);
  });

  it('a bare tree of modules (flax to_bytes of params): keys, parameter count, the first entries', async () => {
    const file = new URL('../data/formats/tiny_flax_modules', import.meta.url).pathname;
    const r = await report(file);
    expect(r.content).toBe('flax params tree');
    expect([r.tensors.count, r.parameters, r.step]).toEqual([120, 9275, undefined]);
    expect(r.groups!.length).toBe(15);
    expect(r.keys[0]).toEqual({ name: 'Dense_0/kernel', shape: expect.any(Array), dtype: 'float32' });
    const text = await output({ file });
    expect(text).toContain('\n    Dense_0: 2 tensors, 40 elements\n');
    expect(text).toContain('\n    … 3 more\n  (--keys lists all 120 keys)');
  });

  it('a bare params tree: every leaf is a parameter', () => {
    const tree = readFlaxCheckpoint(readFileSync(FLAX)) as Map<string, unknown>;
    const params = tree.get('params_ema');
    const r = describeFlax({ file: 'p', bytes: new Uint8Array(), format: 'flax-msgpack', value: params });
    expect(r.content).toBe('flax params tree');
    expect(r.parameters).toBe(9275);
    expect(r.step).toBeUndefined();
    expect(r.keys.every((k) => !k.name.startsWith('params_ema/'))).toBe(true);
  });
});
