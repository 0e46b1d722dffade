/**
 * Waiting for a checkpoint that training has not written yet, as score_sde_pytorch's `evaluate` does
 * (it polls for `checkpoint_<c>.pth`, then sleeps and retries a read that fails because the file is
 * still being written). Our trainer writes a snapshot to a temp file and renames it (src/train/atomic.ts),
 * so it appears complete; a reference-style writer fills the file in place, so a file that is new
 * (changed within the last poll interval) is taken only once its size and mtime have stayed the same
 * for one poll interval.
 * Ctrl-C / SIGTERM while waiting stop the wait (WatchStopped); the handlers are removed again before any
 * evaluation runs, since a synchronous evaluation would only see them after it had finished.
 */
import { statSync } from 'node:fs';
import { ScoreflowError } from '../errors.js';
import { StopSignals } from '../train/stop-signals.js';

export interface WatchOptions {
  /** Give up after this many seconds of waiting for one checkpoint (default: wait for ever). */
  timeoutS?: number;
  /** Poll interval in ms (default 2000). */
  pollMs?: number;
  /** Ms between "waiting for …" lines after the first (default 60000). */
  reportMs?: number;
  log?: (line: string) => void;
}

/** The wait was stopped by a signal; `exitCode` is 128 + its number. */
export class WatchStopped extends Error {
  constructor(readonly path: string, readonly signal: NodeJS.Signals, readonly exitCode: number) {
    super(`stopped by ${signal} while waiting for ${path}`);
    this.name = 'WatchStopped';
  }
}

/** Size and mtime, or undefined while there is no file. */
function fileStat(path: string): { stamp: string; mtimeMs: number } | undefined {
  try {
    const s = statSync(path);
    return s.isFile() ? { stamp: `${s.size}:${s.mtimeMs}`, mtimeMs: s.mtimeMs } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Resolves once `path` exists and is completely written: at once when it has not changed for a poll
 * interval already, else when it has stopped changing.
 */
export async function waitForCheckpoint(path: string, o: WatchOptions = {}): Promise<void> {
  const first = fileStat(path);
  const pollMs = o.pollMs ?? 2000;
  if (first && Date.now() - first.mtimeMs > pollMs) return;
  const reportMs = o.reportMs ?? 60_000;
  const log = o.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const started = Date.now();
  const waited = () => Math.round((Date.now() - started) / 1000);
  const signals = new StopSignals();
  let wake: (() => void) | undefined;
  signals.onStop(() => wake?.());
  try {
    log(first ? `scoreflow eval: ${path} was written just now; waiting until it is completely written`
      : `scoreflow eval: waiting for ${path} (0 s; Ctrl-C to stop)`);
    let lastReport = started;
    let last = first?.stamp;
    for (;;) {
      const remaining = o.timeoutS === undefined ? Infinity : started + o.timeoutS * 1000 - Date.now();
      if (remaining <= 0) {
        const state = last === undefined ? `checkpoint not found: ${path}` : `checkpoint ${path} still changing`;
        throw new ScoreflowError('ERR_IO', `${state} after waiting ${waited()} s (--watch-timeout ${o.timeoutS}); ` +
          'is training still writing snapshots there (training.snapshot_freq)? Re-run with a longer --watch-timeout, or without one to wait for ever');
      }
      await new Promise<void>((res) => {
        const timer = setTimeout(res, Math.min(pollMs, remaining));
        wake = () => { clearTimeout(timer); res(); };
      });
      if (signals.received) throw new WatchStopped(path, signals.received, signals.exitCode()!);
      const stamp = fileStat(path)?.stamp;
      if (stamp !== undefined && stamp === last) return;
      if (stamp !== undefined && last === undefined) log(`scoreflow eval: ${path} appeared; waiting until it is completely written`);
      last = stamp;
      if (Date.now() - lastReport >= reportMs) {
        lastReport = Date.now();
        log(`scoreflow eval: waiting for ${path} (${waited()} s)`);
      }
    }
  } finally {
    signals.dispose();
  }
}
