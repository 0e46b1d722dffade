// train-deq (DeqTrainer) and eval.dequantizer on a tiny score model and tiny Flow++, synthetic data.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { DeqTrainer, DEQ_DIR } from '../../src/dequant/trainer.js';
import { runEvaluation } from '../../src/eval/run.js';
import { fakeData, train, TINY } from '../train/tiny-trainer.js';

const DEQ = ['deq.filters=8', 'deq.components=2', 'deq.blocks=1', 'deq.heads=2', 'deq.n_iters=3', 'eval.ckpt_id=1',
  'training.snapshot_freq=2', 'training.eval_freq=2'];
const datasets = { train: fakeData(16, 1), test: fakeData(8, 2) };
const deqConfig = (extra: string[] = []) => loadConfig('fmnist_small', [...TINY, ...DEQ, ...extra]);

async function runDeq(workdir: string, stopAtStep?: number) {
  const t = new DeqTrainer(deqConfig(), workdir, { datasets, stopAtStep });
  const logged: Record<string, number>[] = [];
  t.logger = { log: (step, s) => logged.push({ step, ...s }) };
  try {
    const resumed = t.resume();
    const result = await t.run();
    const params = t.state.model.parameters().map((p) => Array.from(p.toArray() as Float32Array));
    return { resumed, result, logged, params };
  } finally {
    t.dispose();
  }
}

describe('train-deq', () => {
  it('refuses a workdir without the score checkpoint, and a config whose data differs from the score model', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-deq-'));
    try {
      expect(() => new DeqTrainer(deqConfig(), dir, { datasets })).toThrow(/train-deq needs a trained score model: .*checkpoint_1\.pth does not exist/);
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ data: { dataset: 'CIFAR10', image_size: 32, num_channels: 3, centered: true } }));
      expect(() => new DeqTrainer(deqConfig(), dir, { datasets })).toThrow(/data does not match the score model's .*data\.dataset: score model "CIFAR10", this config "FashionMNIST"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('trains against the frozen score model, resumes exactly, and eval.dequantizer uses its snapshot', async () => {
    const a = mkdtempSync(join(tmpdir(), 'sf-deq-a-'));
    const b = mkdtempSync(join(tmpdir(), 'sf-deq-b-'));
    try {
      for (const dir of [a, b]) await train(dir, ['training.n_iters=2', 'training.snapshot_freq=2']);
      const scoreBefore = readFileSync(join(a, 'checkpoints', 'checkpoint_1.pth'));
      const whole = await runDeq(a);
      expect(whole.result).toMatchObject({ step: 3, stoppedBy: 'done' });
      const first = whole.logged.find((l) => l.training_bpd !== undefined)!;
      expect(Number.isFinite(first.training_bpd)).toBe(true);
      expect(whole.logged.some((l) => Number.isFinite(l.eval_bpd) && Number.isFinite(l.ema_eval_bpd))).toBe(true);
      expect(existsSync(join(a, DEQ_DIR, 'checkpoints', 'checkpoint_1.pth'))).toBe(true);
      expect(existsSync(join(a, DEQ_DIR, 'checkpoints-meta', 'checkpoint.pth'))).toBe(true);
      expect(readFileSync(join(a, 'checkpoints', 'checkpoint_1.pth')).equals(scoreBefore)).toBe(true);

      const part = await runDeq(b, 2);
      expect(part.result).toMatchObject({ step: 2, stoppedBy: 'stopAtStep' });
      const rest = await runDeq(b);
      expect(rest.resumed?.step).toBe(2);
      expect(rest.result.step).toBe(3);
      for (let i = 0; i < whole.params.length; i++) expect(rest.params[i]).toEqual(whole.params[i]);

      const config = deqConfig(['eval.dequantizer=true', 'eval.dequantizer_ckpt=1', 'eval.begin_ckpt=1', 'eval.end_ckpt=1',
        'eval.batch_size=4', 'eval.num_repeats=1', 'eval.rtol=1e-2', 'eval.atol=1e-2', 'eval.enable_loss=false']);
      const [res] = await runEvaluation(config, a, { datasets, maxBatches: 1, log: () => {} });
      const s = res!.likelihood!.summary;
      expect(s.n).toBe(4);
      expect(Number.isFinite(s.mean)).toBe(true);
      expect(existsSync(join(a, 'eval', 'dequantizer_1'))).toBe(true);
      await expect(runEvaluation(deqConfig(['eval.dequantizer=true', 'eval.dequantizer_ckpt=9', 'eval.begin_ckpt=1', 'eval.end_ckpt=1']), a, { datasets, log: () => {} }))
        .rejects.toThrow(/no dequantizer checkpoint .*checkpoint_9\.pth .*--config\.eval\.dequantizer_ckpt/);
    } finally {
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
    }
  }, 600_000);
});
