// The progress module's units, given timings, absolute updates and sub-progress lines.
import { describe, expect, it } from 'vitest';
import { Progress, formatProgressLine, formatRate, type ProgressStream } from '../../src/train/progress.js';
import { progressTiming } from '../../src/train/progress-logger.js';
import { estimateEta } from '../../src/train/eta.js';

class FakeStream implements ProgressStream {
  out = '';
  constructor(public isTTY: boolean) {}
  write(s: string): boolean { this.out += s; return true; }
}

const code = (f: () => unknown): string | undefined => { try { f(); } catch (e) { return (e as { code?: string }).code; } return undefined; };

describe('formatRate', () => {
  it('shows items per second from one per second up, else seconds per item, in the given unit', () => {
    expect(formatRate(12.5)).toBe('12.5 it/s');
    expect(formatRate(250, 'img')).toBe('250 img/s');
    expect(formatRate(0.2, 'img')).toBe('5.00 s/img');
    expect(formatRate(0.004)).toBe('250 s/it');
    expect(formatRate(NaN, 'img')).toBe('? img/s');
    expect(formatRate(0)).toBe('? it/s');
  });
});

describe('formatProgressLine units and ETA', () => {
  it('adds a per-image rate next to the per-item one', () => {
    // 3 batches of 250 images in 60 s: 0.05 batches/s, 12.5 img/s.
    expect(formatProgressLine({ label: 'eval loss', count: 3, total: 40, elapsed: 60, per: { unit: 'img', count: 250 }, barWidth: 4 }))
      .toBe('eval loss  [....]   3/40    7.5%  20.00 s/it  12.5 img/s  01:00<12:20');
    expect(formatProgressLine({ label: 'stats', count: 600, total: 1000, elapsed: 30, unit: 'img', barWidth: 4 }))
      .toBe('stats  [##..]   600/1000   60.0%  20.0 img/s  00:30<00:20');
  });

  it('shows a given ETA instead of (total − count)/rate, also once the count is complete', () => {
    expect(formatProgressLine({ count: 100, total: 400, elapsed: 150, rate: 1 / 1.45, eta: 735, barWidth: 4 }))
      .toBe('[#...]  100/400   25.0%  1.45 s/it  02:30<12:15');
    // The last step done, its snapshot sampling to go.
    expect(formatProgressLine({ count: 400, total: 400, elapsed: 600, rate: 1, eta: 90, barWidth: 4 })).toContain('10:00<01:30');
    expect(formatProgressLine({ count: 400, total: 400, elapsed: 600, rate: 1, barWidth: 4 })).toContain('10:00<00:00');
  });
});

describe('Progress: timing, update, sub', () => {
  it('tick(n, fields, timing) replaces the rate and ETA until done(), which keeps the rate only', () => {
    const s = new FakeStream(false);
    let t = 0;
    const p = new Progress({ total: 400, label: 'train', stream: s, intervalMs: 0, now: () => t, barWidth: 4 });
    t = 10_000;
    const eta = estimateEta({ steps: 390, evals: 8, samplings: 2, saves: 6 }, { step: 1.45, eval: 0.5, sampling: 150, save: 0.25 });
    p.tick(10, undefined, progressTiming(eta));
    expect(eta.seconds).toBeCloseTo(390 * 1.45 + 4 + 300 + 1.5, 9);
    expect(p.line()).toBe(`train  [....]   10/400    2.5%  1.45 s/it  00:10<14:31`);
    t = 20_000;
    p.tick(0, { loss: 3 }); // a metrics record keeps the timing
    expect(p.line()).toContain('1.45 s/it  00:20<14:31  loss=3');
    p.done();
    // Stopped early (--steps): what is left of the total at the step rate (390 × 1.45 s).
    expect(s.out.trimEnd().split('\n').at(-1)).toBe('train  [....]   10/400    2.5%  1.45 s/it  00:20<09:25  loss=3');
    expect(progressTiming(estimateEta({ steps: 1, evals: 0, samplings: 0, saves: 0 }, {}))).toEqual({ rate: undefined, eta: 0 });
  });

  it('update(count) sets the count (a sampler step), and refuses going back', () => {
    const p = new Progress({ total: 200, stream: new FakeStream(false), intervalMs: 1e9, now: () => 0 });
    p.update(120, { nfe: 120 });
    expect(p.count).toBe(120);
    expect(p.fields).toEqual({ nfe: 120 });
    expect(code(() => p.update(100))).toBe('ERR_ARG');
    expect(() => p.update(NaN)).toThrow(/count/);
    expect(code(() => new Progress({ per: { unit: 'img', count: 0 } }))).toBe('ERR_ARG');
  });

  it('a sub-progress on a non-TTY prints its own lines at the outer interval; the outer line carries on after it', () => {
    const s = new FakeStream(false);
    let t = 0;
    const train = new Progress({ total: 4, label: 'train', stream: s, intervalMs: 1000, now: () => t, barWidth: 4 });
    t = 1000; train.tick(2);
    const sample = train.sub({ label: 'sample', total: 10, per: { unit: 'img', count: 6.4 } });
    for (let i = 1; i <= 10; i++) { t += 500; sample.update(i, { nfe: i }); }
    sample.done();
    t += 1000; train.tick(1);
    const lines = s.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^train .* 2\/4 /);
    // Sample ticks at 1.5 … 6 s, a line per second: 1, 3, 5, 7, 9 (and done's 10); the rate is its own.
    expect(lines.slice(1, -1).map((l) => /^sample .* (\d+)\/10 /.exec(l)![1])).toEqual(['1', '3', '5', '7', '9', '10']);
    expect(lines[6]).toBe('sample  [####]  10/10  100.0%  2.00 it/s  12.8 img/s  00:05<00:00  nfe=10');
    expect(lines.at(-1)).toMatch(/^train .* 3\/4 /);
  });

  it('a sub-progress on a TTY takes over the line, leaves its final state and redraws the outer line', () => {
    const s = new FakeStream(true);
    let t = 0;
    const train = new Progress({ total: 4, label: 'train', stream: s, ttyIntervalMs: 0, now: () => t, barWidth: 4 });
    t = 1000; train.tick(2);
    const sample = train.sub({ label: 'sample', total: 2 });
    t += 500; sample.update(1);
    t += 500; sample.update(2);
    sample.done();
    expect(s.out).toBe(
      '\rtrain  [##..]  2/4   50.0%  2.00 it/s  00:01<00:01\x1b[K' +
      '\rsample  [##..]  1/2   50.0%  2.00 it/s  00:00<00:00\x1b[K' +
      '\rsample  [####]  2/2  100.0%  2.00 it/s  00:01<00:00\x1b[K' +
      '\rsample  [####]  2/2  100.0%  2.00 it/s  00:01<00:00\x1b[K\n' +
      '\rtrain  [##..]  2/4   50.0%  1.00 it/s  00:02<00:02\x1b[K');
  });
});
