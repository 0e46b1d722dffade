/**
 * node --import ./scripts/register-ts.js scripts/bench/wait-policy.ts [--batches 1,4] [--threads 2] [--rounds 3]
 *   [--settings 'PASSIVE=OMP_WAIT_POLICY=PASSIVE;libgomp-default=GOMP_SPINCOUNT=300000'] [--train]
 * How libgomp's wait policy changes scoreflow's CPU speed (what src/thread-env.ts chooses from): each setting
 * runs in a fresh process (libgomp reads its environment once, when libtorch loads), rounds alternate the
 * settings (S1 S2 S3 S1 S2 S3 ...), and each run reports ms per likelihood evaluation on the golden model
 * (scripts/bench/likelihood.ts) and, with --train, the cifar10 DDPM++ training step at batch 8 — with the
 * process's voluntary context switches (a waiting thread that sleeps instead of spinning makes one).
 */
import { spawnSync } from 'node:child_process';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { median } from './alternate.js';
import { load1 } from './machine.js';

const args = yargs(hideBin(process.argv))
  .option('batches', { type: 'string', default: '1,4' })
  .option('threads', { type: 'number', default: 2 })
  .option('rounds', { type: 'number', default: 3 })
  .option('train', { type: 'boolean', default: false })
  .option('settings', { type: 'string', default: 'PASSIVE=OMP_WAIT_POLICY=PASSIVE;libgomp-default=GOMP_SPINCOUNT=300000;spin10k=GOMP_SPINCOUNT=10000' })
  .option('child', { type: 'boolean', default: false, hidden: true })
  .strict().parseSync();

interface ChildOut { measure: string; batch: number; ms: number; switches: number }

async function child(): Promise<void> {
  const { setNumThreads } = await import('../../src/device.js');
  setNumThreads(args.threads);
  const out: ChildOut[] = [];
  const switches = () => process.resourceUsage().voluntaryContextSwitches;
  const { benchLikelihood } = await import('./likelihood.js');
  const golden = benchLikelihood();
  if (!golden) throw new Error('wait-policy: no golden model under test/data/reference/');
  for (const b of args.batches.split(',').map(Number)) {
    golden.run(b);
    const s0 = switches();
    const r = golden.run(b);
    out.push({ measure: 'likelihood ms/eval', batch: b, ms: (1000 * r.seconds) / r.nfe, switches: Math.round((switches() - s0) / r.nfe) });
  }
  golden.dispose();
  if (args.train) {
    const { loadConfig } = await import('../../src/config/index.js');
    const { ScoreModel } = await import('../../src/model/score-model.js');
    const { generator, rand } = await import('../../src/random.js');
    const { benchTrainStep } = await import('./train-step.js');
    const config = loadConfig('score_sde_pytorch/vp/cifar10_ddpmpp_continuous', ['training.likelihood_weighting=true', 'training.importance_weighting=true', 'model.dropout=0']);
    const model = new ScoreModel(config, { seed: 0 });
    const gen = generator(0);
    const { step } = benchTrainStep(config, model, rand([8, 3, 32, 32], { generator: gen }).mul(2).sub(1).keep(), gen);
    step();
    const s0 = switches(), t0 = performance.now();
    step();
    out.push({ measure: 'train_step ms', batch: 8, ms: performance.now() - t0, switches: switches() - s0 });
  }
  console.log(JSON.stringify(out));
}

function parent(): void {
  const settings = args.settings.split(';').map((s) => {
    const i = s.indexOf('=');
    const vars = Object.fromEntries(s.slice(i + 1).split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
    return { name: s.slice(0, i), vars };
  });
  const results = new Map<string, ChildOut[]>();
  const loads: number[] = [];
  for (let r = 0; r < args.rounds; r++) {
    for (const s of settings) {
      loads.push(load1());
      const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(args.threads), ...s.vars };
      if (!('OMP_WAIT_POLICY' in s.vars)) delete env.OMP_WAIT_POLICY;
      if (!('GOMP_SPINCOUNT' in s.vars)) delete env.GOMP_SPINCOUNT;
      const p = spawnSync(process.execPath, [...process.execArgv, new URL(import.meta.url).pathname, '--child', ...process.argv.slice(2)],
        { env, encoding: 'utf8', maxBuffer: 1 << 24 });
      if (p.status !== 0) throw new Error(`wait-policy child (${s.name}) failed:\n${p.stderr}`);
      for (const o of JSON.parse(p.stdout.trim().split('\n').pop()!) as ChildOut[]) {
        const k = `${s.name}\t${o.measure}\t${o.batch}`;
        results.set(k, [...(results.get(k) ?? []), o]);
        console.log(`round ${r + 1} ${s.name}: ${o.measure} batch ${o.batch} ${o.ms.toFixed(1)} ms, ${o.switches} voluntary switches (load ${loads.at(-1)!.toFixed(1)})`);
      }
    }
  }
  console.log(`threads ${args.threads}, ${args.rounds} alternated rounds, load average 1 min median ${median(loads).toFixed(1)} (range ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)})`);
  console.log('setting'.padEnd(18) + 'measure'.padEnd(22) + 'batch  median ms  runs (ms)                 voluntary switches (per eval / per step)');
  for (const [k, v] of results) {
    const [name, measure, batch] = k.split('\t');
    console.log(name!.padEnd(18) + measure!.padEnd(22) + batch!.padEnd(7) + median(v.map((o) => o.ms)).toFixed(1).padEnd(11) +
      v.map((o) => o.ms.toFixed(1)).join(' ').padEnd(26) + median(v.map((o) => o.switches)).toFixed(0));
  }
}

if (args.child) await child(); else parent();
