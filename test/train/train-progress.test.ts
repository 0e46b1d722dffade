// A tiny training run with snapshot sampling, wired as `scoreflow train` wires it (progressLogger), with
// its progress stream captured: the sampler's steps appear as their own lines and the ETA adds up.
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsLogger } from '../../src/train/metrics-logger.js';
import { Progress, type ProgressStream } from '../../src/train/progress.js';
import { progressLogger } from '../../src/train/progress-logger.js';
import type { EtaEstimate } from '../../src/train/eta.js';
import { tinyTrainer } from './tiny-trainer.js';

class Capture implements ProgressStream {
  out = '';
  constructor(readonly isTTY: boolean) {}
  write(s: string): boolean { this.out += s; return true; }
}

/** `MM:SS` or `H:MM:SS` to seconds. */
const seconds = (d: string): number => d.split(':').reduce((a, p) => a * 60 + Number(p), 0);

async function run(tty: boolean) {
  const workdir = mkdtempSync(join(tmpdir(), 'sf-progress-'));
  const stream = new Capture(tty);
  const N_ITERS = 8;
  const trainer = tinyTrainer(workdir, [`training.n_iters=${N_ITERS}`, 'training.snapshot_freq=4', 'training.snapshot_sampling=true',
    'model.num_scales=5', 'training.eval_freq=2', 'training.snapshot_freq_for_preemption=4', 'training.log_freq=2']);
  const timings: EtaEstimate[] = [];
  try {
    const progress = new Progress({ total: N_ITERS, label: 'train', stream, intervalMs: 0, ttyIntervalMs: 0, barWidth: 8 });
    const logger = progressLogger(progress, new MetricsLogger({ dir: workdir, tensorboardDir: null }));
    const tick = logger.tick!;
    logger.tick = (step, total, timing) => { timings.push(timing); tick(step, total, timing); };
    trainer.logger = logger;
    await trainer.run();
  } finally {
    trainer.dispose();
  }
  return { out: stream.out, timings };
}

describe('training progress', () => {
  it('shows snapshot sampling as its own lines and an ETA that counts steps, evals, saves and sampling', async () => {
    const { out, timings } = await run(false);
    const lines = out.split('\n').filter(Boolean);
    expect(out).not.toContain('\r');
    const sample = lines.filter((l) => l.startsWith('sample '));
    // Two snapshots (steps 4 and 8) of 5 PC steps each: a line per step (intervalMs 0), then done()'s.
    expect(sample).toHaveLength(12);
    expect(sample.map((l) => /(\d)\/5 /.exec(l)![1])).toEqual(['1', '2', '3', '4', '5', '5', '1', '2', '3', '4', '5', '5']);
    for (const l of sample) expect(l).toMatch(/img\/s .*nfe=\d+/);
    // After each snapshot the train line continues.
    const firstSample = lines.findIndex((l) => l.startsWith('sample '));
    expect(lines[firstSample - 1]).toMatch(/^train .* 4\/8 /);
    expect(lines[firstSample + 6]).toMatch(/^train .* 5\/8 /);

    expect(timings).toHaveLength(8);
    // Before the first snapshot its sampling is estimated from the training forward; after it, measured.
    timings.forEach((t, i) => {
      expect(t.parts.samplings).toBeGreaterThan(0);
      expect(t.seconds).toBeCloseTo(t.parts.steps + t.parts.evals + t.parts.samplings + t.parts.saves, 9);
      expect(t.parts.steps).toBeCloseTo((8 - (i + 1)) * t.costs.step!, 9);
    });
    // At step 8 only its own phases are left: an eval, the snapshot's save and sampling, the resume point.
    const final = timings.at(-1)!;
    expect(final.parts.steps).toBe(0);
    expect(final.unknown).toEqual([]);
    expect(final.parts.evals).toBeCloseTo(final.costs.eval!, 9);
    expect(final.parts.samplings).toBeCloseTo(final.costs.sampling!, 9);
    expect(final.parts.saves).toBeCloseTo(2 * final.costs.save!, 9);
    const trainLines = lines.filter((l) => l.startsWith('train '));
    const eta = (l: string) => seconds(/\d\d:\d\d<([\d:]+)/.exec(l)![1]!);
    // The line of step 8 shows the ETA of its timing; the final line (after done) 00:00.
    expect(eta(trainLines.at(-2)!)).toBe(Math.floor(final.seconds));
    expect(trainLines.at(-1)).toMatch(/ 8\/8 +100\.0% .*<00:00/);
  }, 60_000);

  it('on a TTY the sample line takes over the train line and hands it back', async () => {
    const { out } = await run(true);
    const frames = out.split(/\r|\n/).filter(Boolean).map((f) => f.replace('\x1b[K', ''));
    const i = frames.findIndex((f) => f.startsWith('sample '));
    expect(frames[i - 1]).toMatch(/^train .* 4\/8 /);
    // The finished sample line stays (ended by a newline), then the train line is redrawn.
    expect(out).toMatch(/sample [^\r\n]* 5\/5 [^\r\n]*\x1b\[K\n\rtrain [^\r\n]* 4\/8 /);
  }, 60_000);
});
