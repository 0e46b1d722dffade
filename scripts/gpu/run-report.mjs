// scripts/gpu/run's last step: phases.tsv (+ addon.json, vitest-*.json) -> results.json, and a short table.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2];
const read = (f) => (existsSync(join(out, f)) ? readFileSync(join(out, f), 'utf8') : null);
const phases = (read('phases.tsv') ?? '').split('\n').filter(Boolean).map((line) => {
  const [name, seconds, status, detail] = line.split('\t');
  return { name, seconds: Number(seconds), status, detail };
});
const tests = {};
for (const name of ['cuda', 'cuda-dry', 'cpu']) {
  const j = read(`vitest-${name}.json`);
  if (!j) continue;
  const r = JSON.parse(j);
  tests[name] = {
    passed: r.numPassedTests, failed: r.numFailedTests, skipped: r.numPendingTests + r.numTodoTests, total: r.numTotalTests,
    failures: r.testResults.flatMap((f) => f.assertionResults.filter((a) => a.status === 'failed')
      .map((a) => ({ file: f.name.replace(/^.*\/test\//, 'test/'), test: a.fullName, message: (a.failureMessages[0] ?? '').slice(0, 400) }))),
    skippedTests: r.testResults.flatMap((f) => f.assertionResults.filter((a) => a.status === 'skipped' || a.status === 'pending').map((a) => a.fullName)),
  };
}
const addon = read('addon.json');
const results = {
  mode: process.env.MODE, totalSeconds: Number(process.env.TOTAL), ok: phases.every((p) => p.status !== 'fail'),
  addon: addon ? JSON.parse(addon) : null, phases, tests,
};
writeFileSync(join(out, 'results.json'), JSON.stringify(results, null, 2) + '\n');

const w = Math.max(...phases.map((p) => p.name.length), 5);
console.log('');
console.log(`${'phase'.padEnd(w)}  status  seconds  detail`);
for (const p of phases) console.log(`${p.name.padEnd(w)}  ${p.status.padEnd(6)}  ${String(p.seconds).padStart(7)}  ${p.detail.slice(0, 110)}`);
console.log(`${'total'.padEnd(w)}  ${(results.ok ? 'ok' : 'fail').padEnd(6)}  ${String(results.totalSeconds).padStart(7)}  mode=${results.mode}`);
