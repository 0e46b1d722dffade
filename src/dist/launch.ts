/**
 * `scoreflow train --nproc N`: starts N ranks of the same command on this machine with the torchrun
 * environment (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1, MASTER_PORT = a free
 * port) and supervises them, as torchrun does for one node:
 * - rank 0's output is ours; the other ranks' lines are shown prefixed with `[rank r]`;
 * - a rank that exits with an error or is killed stops the job: the others get SIGTERM, then SIGKILL after
 *   `graceMs`, and the error names the rank, how it ended and its last output lines. A rank that hangs makes
 *   the others' collectives time out (SCOREFLOW_DIST_TIMEOUT), which ends the same way, naming the ranks
 *   that were behind;
 * - SIGINT / SIGTERM are passed on to every rank: they agree on the step to stop after, rank 0 saves the
 *   resume point once, and all exit (130 / 143). A second signal kills them at once.
 * The ranks run in their own process group, so a terminal's Ctrl-C reaches them only through here.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { availableParallelism, constants } from 'node:os';
import { checkInt, ScoreflowError } from '../errors.js';

export interface LaunchOptions {
  nproc: number;
  /** The CLI arguments each rank runs (the launcher's own, less --nproc). */
  args: string[];
  /** Time the other ranks get to exit after one failed, before SIGKILL (default 10 s). */
  graceMs?: number;
  /** Lines of each rank's output kept for error messages (default 20). */
  tailLines?: number;
  /** Where output and the launcher's messages go (default process.stdout / stderr). */
  out?: (line: string) => void;
  err?: (line: string) => void;
  /** Environment of the ranks (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** How the launcher names itself in its messages (default 'scoreflow'). */
  label?: string;
  /** The script each rank runs, and node's options for it (default: this process's own). */
  script?: string;
  execArgv?: string[];
}

/** Messages a rank sends over the IPC channel (src/dist/worker.ts). */
export interface RankMessage { type: 'step'; step: number }

interface Rank {
  rank: number;
  child: ChildProcess;
  tail: string[];
  step: number;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  /** Killed because it did not stop within graceMs of SIGTERM. */
  forced?: boolean;
}

/** A free TCP port on the loopback interface (the kernel picks one). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** `argv` without `--<name> v` / `--<name>=v`. */
export function withoutOption(argv: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === `--${name}`) { if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) i++; continue; }
    if (a.startsWith(`--${name}=`)) continue;
    out.push(a);
  }
  return out;
}

function describeExit(e: { code: number | null; signal: NodeJS.Signals | null }): string {
  return e.signal ? `was killed by ${e.signal}` : `exited with code ${e.code}`;
}

/** Runs the job; resolves with the exit code the launcher should end with. */
export async function launch(opts: LaunchOptions): Promise<number> {
  const nproc = checkInt('--nproc', opts.nproc, 1);
  const graceMs = opts.graceMs ?? 10_000;
  const tailLines = opts.tailLines ?? 20;
  const out = opts.out ?? ((l: string) => process.stdout.write(l));
  const err = opts.err ?? ((l: string) => process.stderr.write(l));
  const baseEnv = opts.env ?? process.env;
  const label = opts.label ?? 'scoreflow';
  const port = await freePort();
  // torchrun's default: one intra-op thread per rank unless told; here the cores are shared out.
  const threads = baseEnv.OMP_NUM_THREADS ?? String(Math.max(1, Math.floor(availableParallelism() / nproc)));
  const cli = opts.script ?? process.argv[1];
  if (!cli) throw new ScoreflowError('ERR_ARG', '--nproc: cannot tell which script to start the ranks with');

  const ranks: Rank[] = [];
  let failed: Rank | undefined;
  let startError: string | undefined;
  let signalled: NodeJS.Signals | undefined;
  let killTimer: NodeJS.Timeout | undefined;

  const finished = new Promise<void>((resolveAll) => {
    const onExit = () => { if (ranks.every((r) => r.exit)) resolveAll(); };
    for (let rank = 0; rank < nproc; rank++) {
      const env = {
        ...baseEnv, RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: String(nproc), LOCAL_WORLD_SIZE: String(nproc),
        GROUP_RANK: '0', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), TORCHELASTIC_RESTART_COUNT: '0', OMP_NUM_THREADS: threads,
      };
      delete (env as NodeJS.ProcessEnv).TORCHELASTIC_USE_AGENT_STORE; // this launcher serves no store: rank 0 does
      const child = fork(cli, opts.args, { env, execArgv: opts.execArgv ?? process.execArgv, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: true });
      const r: Rank = { rank, child, tail: [], step: 0 };
      ranks.push(r);
      const pipe = (stream: NodeJS.ReadableStream | null, write: (s: string) => void) => {
        let partial = '';
        stream?.setEncoding('utf8');
        stream?.on('data', (chunk: string) => {
          if (rank === 0) write(chunk);
          const lines = (partial + chunk).split(/\r?\n|\r/);
          partial = lines.pop()!;
          for (const l of lines) {
            if (rank !== 0) write(`[rank ${rank}] ${l}\n`);
            if (l.trim() !== '') r.tail.push(l);
          }
          if (r.tail.length > tailLines) r.tail.splice(0, r.tail.length - tailLines);
        });
        stream?.on('end', () => { if (partial.trim() !== '') { r.tail.push(partial); if (rank !== 0) write(`[rank ${rank}] ${partial}\n`); } });
      };
      pipe(child.stdout, out);
      pipe(child.stderr, err);
      child.on('message', (m: RankMessage) => { if (m && m.type === 'step') r.step = m.step; });
      child.on('error', (e) => { startError ??= `rank ${rank} could not be started: ${e.message}`; stopAll('SIGTERM'); });
      child.on('exit', (code, signal) => {
        r.exit = { code, signal };
        // After a signal was passed on, ending by it (or by its exit code, after a clean stop) is no failure.
        const byOurSignal = signalled !== undefined && (signal === signalled || code === 128 + constants.signals[signalled]);
        const bad = (signal !== null || code !== 0) && !byOurSignal;
        if (bad && !failed) {
          failed = r;
          stopAll('SIGTERM');
        }
        onExit();
      });
    }
  });

  /** The first rank that failed, with its last output, and the ranks that had to be killed: they were stuck. */
  function failureMessage(r: Rank): string {
    const lines = [`rank ${r.rank} of ${nproc} (pid ${r.child.pid}) ${describeExit(r.exit!)}; its last output:`,
      ...(r.tail.length ? r.tail.map((l) => `  | ${l}`) : ['  | (nothing)'])];
    const stuck = ranks.filter((x) => x.forced);
    if (stuck.length) {
      lines.push(`stuck (did not stop within ${graceMs / 1000} s of SIGTERM, killed): ` +
        stuck.map((x) => `rank ${x.rank} (last reported step ${x.step})`).join(', '));
    }
    lines.push(stuck.length === ranks.length - 1 ? 'the other ranks were killed.' : 'the other ranks were stopped.');
    return lines.join('\n');
  }

  function stopAll(signal: NodeJS.Signals): void {
    for (const r of ranks) if (!r.exit) r.child.kill(signal);
    killTimer ??= setTimeout(() => {
      for (const r of ranks) if (!r.exit) { r.forced = true; r.child.kill('SIGKILL'); }
    }, graceMs);
  }

  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) { // a second signal: no more waiting
      for (const r of ranks) if (!r.exit) r.child.kill('SIGKILL');
      return;
    }
    signalled = signal;
    err(`${label}: ${signal}: passed on to all ${nproc} ranks (training stops them after the same step; rank 0 saves the resume point); again to kill them\n`);
    for (const r of ranks) if (!r.exit) r.child.kill(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  err(`${label}: started ${nproc} ranks on 127.0.0.1:${port} (pids ${ranks.map((r) => r.child.pid).join(', ')}), ${threads} thread(s) each\n`);
  try {
    await finished;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (killTimer) clearTimeout(killTimer);
  }
  if (startError) throw new ScoreflowError('ERR_DIST', `data-parallel job failed: ${startError}`);
  if (failed) throw new ScoreflowError('ERR_DIST', `data-parallel job failed: ${failureMessage(failed)}`);
  return signalled ? 128 + constants.signals[signalled] : 0;
}
