// `eval --watch` waits for checkpoints still to come, as the references' evaluation does: a file renamed
// into place (our writer) or filled in place (a reference-style writer, taken once its size is stable),
// with "waiting for …" lines, an optional --watch-timeout, and Ctrl-C exiting cleanly with 130. Without
// --watch a missing checkpoint is an error that names the path and suggests --watch. The writers below
// are driven by the watcher's own messages, so the tests do not depend on timing.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { loadConfig } from '../../src/config/index.js';
import { ChunkedImageDataset, Prng } from '../../src/data/index.js';
import { checkpointFile, lossFileName, waitForCheckpoint, watchEvaluation } from '../../src/eval/index.js';
import { writeUntrainedCheckpoint } from '../eval/helpers.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const base = mkdtempSync(join(tmpdir(), 'sf-watch-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const newWorkdir = () => join(base, `w${n++}`);

describe('waitForCheckpoint', () => {
  it('returns at once for a file that has not changed for a poll interval', async () => {
    const p = join(newWorkdir(), 'c.pth');
    writeText(p, 'x');
    utimesSync(p, new Date(Date.now() - 10_000), new Date(Date.now() - 10_000));
    const lines: string[] = [];
    await waitForCheckpoint(p, { log: (s) => lines.push(s) });
    expect(lines).toEqual([]);
  });

  it('gives a file written just now one poll interval to settle', async () => {
    const p = join(newWorkdir(), 'c.pth');
    writeText(p, 'x');
    const lines: string[] = [];
    await waitForCheckpoint(p, { pollMs: 3000, log: (s) => lines.push(s) }); // 3 s: surely "just now", even under load
    expect(lines).toEqual([`scoreflow eval: ${p} was written just now; waiting until it is completely written`]);
  }, 30_000);

  it('waits for a file renamed into place (our atomic writer)', async () => {
    const p = join(newWorkdir(), 'c.pth');
    const lines: string[] = [];
    await waitForCheckpoint(p, {
      pollMs: 20,
      log: (s) => {
        lines.push(s);
        if (lines.length === 1) setTimeout(() => { writeText(p + '.tmp', 'whole'); renameSync(p + '.tmp', p); }, 50);
      },
    });
    expect(readFileSync(p, 'utf8')).toBe('whole');
    expect(lines[0]).toBe(`scoreflow eval: waiting for ${p} (0 s; Ctrl-C to stop)`);
    expect(lines).toContain(`scoreflow eval: ${p} appeared; waiting until it is completely written`);
  });

  it('takes a file filled in place only once it has stopped growing (a reference-style writer)', async () => {
    const p = join(newWorkdir(), 'c.pth');
    const lines: string[] = [];
    let appended = false;
    await waitForCheckpoint(p, {
      pollMs: 20,
      log: (s) => {
        lines.push(s);
        if (lines.length === 1) setTimeout(() => writeText(p, 'first half;'), 30);
        // The watcher has seen the partial file: the writer goes on, and the watcher must see that too.
        if (s.includes('appeared')) { appendFileSync(p, 'second half'); appended = true; }
      },
    });
    expect(appended).toBe(true);
    expect(readFileSync(p, 'utf8')).toBe('first half;second half');
  });

  it('gives up after the timeout, naming the path and the flag', async () => {
    const p = join(newWorkdir(), 'never.pth');
    await expect(waitForCheckpoint(p, { timeoutS: 0.2, pollMs: 20, log: () => undefined })).rejects.toMatchObject({
      code: 'ERR_IO', message: expect.stringMatching(new RegExp(`^checkpoint not found: ${p} after waiting \\d+ s \\(--watch-timeout 0\\.2\\); `)),
    });
  });

  it('a file that never stops changing is not taken: the timeout says so', async () => {
    const p = join(newWorkdir(), 'growing.pth');
    writeText(p, 'x');
    // reportMs 0: a line after every poll, and the writer appends after each.
    await expect(waitForCheckpoint(p, { timeoutS: 0.3, pollMs: 20, reportMs: 0, log: () => appendFileSync(p, 'y') })).rejects.toMatchObject({
      code: 'ERR_IO', message: expect.stringMatching(new RegExp(`^checkpoint ${p} still changing after waiting \\d+ s \\(--watch-timeout 0\\.3\\); `)),
    });
  });

  it('reports how long it has waited', async () => {
    const p = join(newWorkdir(), 'late.pth');
    const lines: string[] = [];
    await waitForCheckpoint(p, {
      pollMs: 10, reportMs: 0,
      log: (s) => { lines.push(s); if (lines.length === 3) writeText(p, 'x'); },
    });
    expect(lines.slice(1, 3).every((l) => new RegExp(`^scoreflow eval: waiting for ${p} \\(\\d+ s\\)$`).test(l))).toBe(true);
  });
});

/** Writes `text` as the whole file (creating its folder). */
function writeText(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

function fakeDataset(count: number, seed: number): ChunkedImageDataset {
  const rng = new Prng(seed);
  const images = new Uint8Array(count * 64);
  for (let i = 0; i < images.length; i++) images[i] = Math.floor(rng.nextFloat32() * 256);
  return new ChunkedImageDataset('fake', 'test', 1, 8, 8, [{ images, labels: null }], 'memory');
}

describe('watchEvaluation', () => {
  it('evaluates a checkpoint that appears after the evaluation started', async () => {
    const workdir = newWorkdir();
    const config = loadConfig('fmnist_small', ['model.nf=8', 'data.image_size=8', 'eval.batch_size=2', 'eval.begin_ckpt=1', 'eval.end_ckpt=1',
      'eval.enable_loss=true', 'eval.enable_bpd=false', 'device=cpu']);
    const lines: string[] = [];
    const [r, ...rest] = await watchEvaluation(config, workdir, {
      datasets: { test: fakeDataset(4, 1) }, progressStream: { write: () => true },
      log: (s) => {
        lines.push(s);
        // Training "writes" the snapshot once the evaluation is waiting for it.
        if (s.includes('waiting for') && lines.filter((l) => l.includes('waiting for')).length === 1) {
          setTimeout(() => writeUntrainedCheckpoint(config, checkpointFile(workdir, 1)), 50);
        }
      },
      watch: { pollMs: 20 },
    });
    expect(rest).toEqual([]);
    expect(r!.ckpt).toBe(1);
    expect(r!.step).toBe(0);
    expect(r!.loss!.allLosses.length).toBe(2);
    expect(Number.isFinite(r!.loss!.meanLoss)).toBe(true);
    expect(existsSync(join(workdir, 'eval', lossFileName(1)))).toBe(true);
    expect(lines[0]).toBe(`scoreflow eval: waiting for ${checkpointFile(workdir, 1)} (0 s; Ctrl-C to stop)`);
  });
});

describe('scoreflow eval on the command line', () => {
  const args = (workdir: string) => ['eval', '--config', 'fmnist_small', '--workdir', workdir, '--config.eval.begin_ckpt=3', '--config.eval.end_ckpt=3', '--device', 'cpu'];

  it('without --watch: a missing checkpoint names the path and suggests --watch', async () => {
    const w = newWorkdir();
    await expect(main(args(w))).rejects.toMatchObject({
      code: 'ERR_IO', message: expect.stringMatching(new RegExp(`^checkpoint not found: ${join(w, 'checkpoints', 'checkpoint_3.pth')} \\(no such file\\); .*pass --watch to wait for checkpoints still to come`)),
    });
  });

  it('--watch --watch-timeout 1: waits, then gives up naming the path', async () => {
    const w = newWorkdir();
    const err = console.error;
    const said: string[] = [];
    console.error = (s: string) => { said.push(s); };
    const stderr = process.stderr.write;
    process.stderr.write = ((s: string) => { said.push(String(s)); return true; }) as typeof process.stderr.write;
    try {
      await expect(main([...args(w), '--watch', '--watch-timeout', '1'])).rejects.toMatchObject({
        code: 'ERR_IO', message: expect.stringContaining(`checkpoint not found: ${join(w, 'checkpoints', 'checkpoint_3.pth')} after waiting 1 s (--watch-timeout 1)`),
      });
    } finally {
      console.error = err;
      process.stderr.write = stderr;
    }
    expect(said.join('')).toContain(`waiting for ${join(w, 'checkpoints', 'checkpoint_3.pth')} (0 s; Ctrl-C to stop)`);
  });

  it('Ctrl-C while waiting exits cleanly with 130', async () => {
    const w = newWorkdir();
    const p = spawn(process.execPath, ['--import', './scripts/register-ts.js', 'scripts/dev-cli.ts', ...args(w), '--watch'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    const exited = new Promise<number | null>((res) => p.on('exit', (code) => res(code)));
    await new Promise<void>((res) => p.stderr.on('data', (d) => { err += d; if (err.includes('Ctrl-C to stop')) res(); }));
    p.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(err).toContain(`scoreflow eval: stopped by SIGINT while waiting for ${join(w, 'checkpoints', 'checkpoint_3.pth')}`);
    expect(err).not.toMatch(/Error|at .*\.ts:\d+/);
  });
});
