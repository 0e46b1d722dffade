/**
 * A live score_sde_pytorch process (scripts/bench/reference_worker.py) that the bench calls between its own
 * runs, so both sides see the same machine state (A B A B ...). One request at a time, one JSON line each way.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';

export interface ReferenceOptions { reference: string; python: string; threads: number; env: NodeJS.ProcessEnv }

export class ReferenceWorker {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  private readonly rl: Interface;
  private stderr = '';

  private constructor(o: ReferenceOptions) {
    this.child = spawn(o.python, [new URL('./reference_worker.py', import.meta.url).pathname], { env: o.env });
    this.child.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-4000); });
    this.rl = createInterface({ input: this.child.stdout });
    this.lines = this.rl[Symbol.asyncIterator]();
    this.child.stdin.write(JSON.stringify({ reference: o.reference, threads: o.threads }) + '\n');
  }

  static async start(o: ReferenceOptions): Promise<ReferenceWorker> {
    const w = new ReferenceWorker(o);
    await w.next('start');
    return w;
  }

  private async next(what: string): Promise<Record<string, unknown>> {
    const r = await this.lines.next();
    if (r.done) throw new Error(`reference worker exited during ${what} (python said:\n${this.stderr.trim()})`);
    const reply = JSON.parse(r.value) as Record<string, unknown>;
    if (reply.error) throw new Error(`reference worker, ${what}: ${reply.error}\n${this.stderr.trim()}`);
    return reply;
  }

  async call<T = Record<string, unknown>>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    this.child.stdin.write(JSON.stringify({ op, ...args }) + '\n');
    return (await this.next(op)) as T;
  }

  close(): void {
    this.rl.close();
    this.child.stdin.end();
  }
}
