import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScoreModel } from '../../src/model/score-model.js';
import { Ema } from '../../src/model/ema.js';
import { Optimizer } from '../../src/train/optimizer.js';
import { restoreCheckpoint, saveCheckpoint, type TrainingState } from '../../src/train/checkpoint.js';
import { writeFileAtomic } from '../../src/train/atomic.js';
import { readReferenceCheckpoint } from '../../src/formats/reference-checkpoint.js';
import { configFromObject } from '../../src/config/index.js';
import { REFERENCE_FIXTURES } from '../reference-fixtures.js';

const FIX = REFERENCE_FIXTURES;
const meta = JSON.parse(readFileSync(FIX + 'a_ddpmpp.json', 'utf8'));
const config = configFromObject({ model: meta.config.model, data: meta.config.data, optim: meta.config.optim });

function freshState(): TrainingState {
  const model = new ScoreModel(config, { seed: 1 });
  return { step: 0, model, ema: new Ema(model.parameters(), 0.9999), optimizer: new Optimizer(model.parameters(), config.optim) };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('training checkpoints', () => {
  it('restores model, EMA, optimizer moments and step from the reference checkpoint ckpt_a', () => {
    const s = freshState();
    restoreCheckpoint(FIX + 'ckpt_a.pth', s);
    const ref = readReferenceCheckpoint(FIX + 'ckpt_a.pth');
    expect(s.step).toBe(3);
    expect(s.ema.numUpdates).toBe(3);
    const params = s.model.namedParameters();
    expect(params.length).toBe(288);
    params.forEach(([name, p]) => expect(maxDiff(p.toArray() as Float32Array, ref.model.get(name)!.data as Float32Array)).toBe(0));
    s.ema.shadow.forEach((t, i) => expect(maxDiff(t.toArray() as Float32Array, ref.ema.shadowParams[i]!.data as Float32Array)).toBe(0));
    const st = s.optimizer.state();
    expect(st.step.every((v) => v === 3)).toBe(true);
    expect(maxDiff(st.expAvgSq[5]!.toArray() as Float32Array, ref.optimizer.expAvgSq[5]!.data as Float32Array)).toBe(0);
    for (const t of [...st.expAvg, ...st.expAvgSq]) t.dispose();
  });

  it('round-trips our own checkpoint with extras, in the reference layout', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-ck-'));
    const a = freshState();
    restoreCheckpoint(FIX + 'ckpt_a.pth', a);
    const path = join(dir, 'checkpoint.pth');
    saveCheckpoint(path, a, { json: { data: { seed: 5, batch: 9 } }, blobs: { rng: new Uint8Array([1, 2, 3]) } });
    const ref = readReferenceCheckpoint(path); // readable as a score_sde_pytorch checkpoint
    expect(ref.step).toBe(3);
    expect([...ref.model.keys()][0]).toBe('sigmas');
    const b = freshState();
    const extras = restoreCheckpoint(path, b);
    expect(extras).toEqual({ json: { data: { seed: 5, batch: 9 } }, blobs: { rng: new Uint8Array([1, 2, 3]) } });
    b.model.parameters().forEach((p, i) => expect(maxDiff(p.toArray() as Float32Array, a.model.parameters()[i]!.toArray() as Float32Array)).toBe(0));
    expect(b.optimizer.state().step[0]).toBe(3);
  });

  it('writes atomically: a failed write leaves the previous file intact and no temp files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-atomic-'));
    const path = join(dir, 'f.bin');
    writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    writeFileSync(join(dir, 'blocker'), 'x');
    expect(() => writeFileAtomic(join(dir, 'blocker', 'x'), new Uint8Array(1))).toThrow();
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(existsSync(path)).toBe(true);
  });

  it('rejects a checkpoint that does not fit the model, naming the keys', () => {
    const small = configFromObject({ model: { ...meta.config.model, nf: 32 }, data: meta.config.data });
    const model = new ScoreModel(small, { seed: 1 });
    const s: TrainingState = { step: 0, model, ema: new Ema(model.parameters(), 0.999), optimizer: new Optimizer(model.parameters(), config.optim) };
    expect(() => restoreCheckpoint(FIX + 'ckpt_a.pth', s)).toThrow(/shape mismatches: all_modules.0.weight expected \[128, 32\] received \[64, 16\]/);
  });
});
