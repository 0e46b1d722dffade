// One rank of a tiny data-parallel evaluation (test/dist/eval.test.ts): eval-rank.ts <workdir>; env: torchrun's.
import { loadConfig } from '../../src/config/index.js';
import { runEvaluation } from '../../src/eval/index.js';
import { joinGroup } from '../../src/dist/worker.js';
import { EVAL_TINY, evalDataset } from './eval-fixture.js';

const loaded = loadConfig('fmnist_small', EVAL_TINY);
const rank = await joinGroup(loaded);
try {
  await runEvaluation(rank ? { ...loaded, device: rank.device } : loaded, process.argv[2]!, {
    datasets: { test: evalDataset() }, group: rank?.group, log: () => {}, progressStream: { write: () => true },
  });
} finally {
  rank?.dispose();
}
