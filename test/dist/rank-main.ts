// One rank of a tiny data-parallel job on synthetic data (test/dist/*.test.ts start them with launch()):
//   rank-main.ts <workdir> <stopAtStep> [config overrides...]   (env: the torchrun variables, or none = alone)
// Prints one JSON line {rank, step, digest}: the digest of its parameters, and on rank 0 {step, eval_loss} lines. SF_TEST_KILL_RANK / _AT_STEP make a
// rank SIGKILL itself after that step; SF_TEST_STOP_RANK / _AT_STEP make it SIGSTOP itself (a hang).
import { loadConfig } from '../../src/config/index.js';
import { Trainer } from '../../src/train/trainer.js';
import { joinJob } from '../../src/dist/worker.js';
import { StopSignals } from '../../src/train/stop-signals.js';
import { fakeData, TINY } from '../train/tiny-trainer.js';
import { DP_TINY } from './dp-fixture.js';

const [workdir, stopAt, ...overrides] = process.argv.slice(2);
const loaded = loadConfig('fmnist_small', [...TINY, ...DP_TINY, ...overrides]);
const job = await joinJob(loaded);
const rank = job?.env.rank ?? 0;
const config = job ? { ...loaded, device: job.device } : loaded;
const signals = new StopSignals();
const t = new Trainer(config, workdir!, { datasets: { train: fakeData(64, 1), test: fakeData(16, 2) }, stopAtStep: Number(stopAt), dist: job?.dp });
signals.onStop(() => t.requestStop());
const fault = (kind: string) => Number(process.env[`SF_TEST_${kind}_RANK`] ?? -1) === rank ? Number(process.env[`SF_TEST_${kind}_AT_STEP`]) : -1;
t.logger = {
  log: (step, scalars) => { if (rank === 0 && 'eval_loss' in scalars) console.log(JSON.stringify({ step, eval_loss: scalars.eval_loss })); },
  tick: (step) => {
    job?.reportStep(step);
    if (step === fault('KILL')) process.kill(process.pid, 'SIGKILL');
    if (step === fault('STOP')) process.kill(process.pid, 'SIGSTOP');
  },
};
try {
  if (job?.dp.isWriter ?? true) t.resume();
  await t.syncState();
  const r = await t.run();
  // FNV-1a over the float32 bits of every parameter: equal digests mean bit-identical parameters.
  let h = 0x811c9dc5;
  for (const p of t.state.model.parameters()) {
    for (const b of new Uint8Array((p.toArray() as Float32Array).buffer)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  }
  console.log(JSON.stringify({ rank, step: r.step, stoppedBy: r.stoppedBy, digest: h }));
} finally {
  t.dispose();
  signals.dispose();
  job?.dispose();
}
const code = signals.exitCode();
if (code !== undefined) process.exitCode = code;
