/**
 * SIGINT / SIGTERM as a request for a clean stop: the run finishes its step, saves, releases the workdir
 * and exits with 128 + the signal's number (130, 143) so that shells and schedulers see it was stopped.
 * Installed for the whole command, so that a signal during set-up is not a hard kill either.
 */
import { constants } from 'node:os';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export class StopSignals {
  received?: NodeJS.Signals;
  private listener?: () => void;
  private readonly handler = (signal: NodeJS.Signals) => {
    this.received ??= signal;
    this.listener?.();
  };

  constructor() {
    for (const s of SIGNALS) process.on(s, this.handler);
  }

  /** Calls `fn` on the first signal, at once if one has already come. */
  onStop(fn: () => void): void {
    this.listener = fn;
    if (this.received) fn();
  }

  /** 128 + the signal number once a signal has come. */
  exitCode(): number | undefined {
    return this.received && 128 + constants.signals[this.received];
  }

  dispose(): void {
    for (const s of SIGNALS) process.off(s, this.handler);
  }
}
