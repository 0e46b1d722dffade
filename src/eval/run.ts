/**
 * The evaluation driver (references' `run_lib.evaluate`, likelihood and loss parts): for each checkpoint
 * c in [eval.begin_ckpt, eval.end_ckpt], loads `checkpoints/checkpoint_<c>.pth` (EMA weights, eval mode), then
 * - eval.enable_loss: the eval loss over the test split (./loss.ts);
 * - eval.enable_bpd: bits/dim over eval.bpd_dataset — of the probability-flow ODE, or with eval.bound the
 *   variational upper bound (score_flow semantics: the bound replaces the ODE) (./likelihood.ts); with
 *   eval.dequantizer, of data dequantized by the Flow++ dequantizer of eval.dequantizer_ckpt (spec §8).
 * `runEvaluation` checks every checkpoint to exist before any work starts (a missing one is an error naming
 * the path); `watchEvaluation` waits for each to arrive, as the references do.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedConfig } from '../config/index.js';
import type { ImageDataset } from '../data/index.js';
import { sdeFromConfig, getScoreFn } from '../sde/index.js';
import { likelihoodWorkers } from '../likelihood/workers.js';
import { resolveDevice } from '../device.js';
import { ScoreflowError } from '../errors.js';
import { loadEvalModel } from './checkpoint.js';
import { loadEvalDequantizer } from '../dequant/checkpoint.js';
import { checkpointFile } from './files.js';
import { waitForCheckpoint, type WatchOptions } from './watch.js';
import { evaluateLikelihood, type LikelihoodEvalOptions, type LikelihoodEvalResult } from './likelihood.js';
import { evaluateLoss, type LossEvalResult } from './loss.js';
import type { ProcessGroup } from '../dist/process-group.js';

/** The per-pass options of the likelihood evaluation, plus where results go and which data to use. */
export interface EvalOptions extends Pick<LikelihoodEvalOptions,
  'maxBatches' | 'boundSamples' | 'boundChunk' | 'progressStream' | 'progressIntervalMs' | 'log'> {
  /** Results folder under the workdir (default 'eval'). */
  evalFolder?: string;
  /** Datasets to use instead of the configured ones (tests). */
  datasets?: { train?: ImageDataset; test?: ImageDataset };
  /** Data-parallel job (src/dist): the ranks share the work; only rank 0 writes. */
  group?: ProcessGroup;
}

export interface CheckpointEvalResult { ckpt: number; step: number; loss?: LossEvalResult; likelihood?: LikelihoodEvalResult }

/** What every checkpoint's evaluation shares. */
interface EvalRun {
  config: ResolvedConfig;
  workdir: string;
  opts: EvalOptions;
  log: (line: string) => void;
  evalDir: string;
  device: string;
  sde: ReturnType<typeof sdeFromConfig>;
  /** eval.dequantizer: the Flow++ dequantizer, loaded once for every checkpoint. */
  dq?: ReturnType<typeof loadEvalDequantizer>;
  /** Where bits/dim rounds go: results with a dequantizer have their own folder (uniform ones stay valid). */
  bpdDir: string;
}

function checkpointRange(config: ResolvedConfig): number[] {
  const e = config.eval;
  if (e.end_ckpt < e.begin_ckpt) throw new ScoreflowError('ERR_CONFIG', `eval.end_ckpt (${e.end_ckpt}) is before eval.begin_ckpt (${e.begin_ckpt})`);
  return Array.from({ length: e.end_ckpt - e.begin_ckpt + 1 }, (_, i) => e.begin_ckpt + i);
}

function startRun(config: ResolvedConfig, workdir: string, opts: EvalOptions): EvalRun {
  const e = config.eval;
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  if (!e.enable_bpd && !e.enable_loss) log('scoreflow eval: nothing to do (eval.enable_bpd and eval.enable_loss are both false)');
  if (e.bound && !e.enable_bpd) log('scoreflow eval: eval.bound needs eval.enable_bpd=true (the bound replaces the ODE bits/dim)');
  const evalDir = join(workdir, opts.evalFolder ?? 'eval');
  if (!opts.group || opts.group.rank === 0) mkdirSync(evalDir, { recursive: true });
  const device = resolveDevice(config.device);
  const dq = e.enable_bpd && e.dequantizer ? loadEvalDequantizer(config, workdir, device) : undefined;
  if (dq) log(`scoreflow eval: bits/dim with the Flow++ dequantizer ${dq.path} (EMA weights)`);
  const bpdDir = dq ? join(evalDir, `dequantizer_${e.dequantizer_ckpt}`) : evalDir;
  return { config, workdir, opts, log, evalDir, device, sde: sdeFromConfig(config), dq, bpdDir };
}

/** Evaluates `ckpts` in order, each after `ready(path)` resolves; the dequantizer is freed at the end. */
async function evaluateAll(run: EvalRun, ckpts: number[], ready: (path: string) => Promise<void>): Promise<CheckpointEvalResult[]> {
  const out: CheckpointEvalResult[] = [];
  try {
    for (const c of ckpts) {
      await ready(checkpointFile(run.workdir, c));
      out.push(await evaluateCheckpoint(run, c));
    }
  } finally {
    run.dq?.deq.dispose();
  }
  return out;
}

/** Every snapshot checkpoint in eval.begin_ckpt..end_ckpt, checked to exist before any work starts. */
export async function runEvaluation(config: ResolvedConfig, workdir: string, opts: EvalOptions = {}): Promise<CheckpointEvalResult[]> {
  const e = config.eval;
  const ckpts = checkpointRange(config);
  for (const c of ckpts) {
    const p = checkpointFile(workdir, c);
    if (!existsSync(p)) {
      throw new ScoreflowError('ERR_FORMAT', `checkpoint not found: ${p} (eval.begin_ckpt..end_ckpt = ${e.begin_ckpt}..${e.end_ckpt}; ` +
        'training writes checkpoint_<step // snapshot_freq>.pth; `scoreflow eval --watch` waits for checkpoints still to come)');
    }
  }
  return evaluateAll(startRun(config, workdir, opts), ckpts, async () => {});
}

/**
 * As `runEvaluation`, but waiting for each checkpoint to appear (and be completely written) before it
 * is evaluated, the way the references' evaluation follows a training run (./watch.ts).
 */
export async function watchEvaluation(config: ResolvedConfig, workdir: string, opts: EvalOptions & { watch?: WatchOptions } = {}): Promise<CheckpointEvalResult[]> {
  const ckpts = checkpointRange(config);
  const run = startRun(config, workdir, opts);
  return evaluateAll(run, ckpts, (path) => waitForCheckpoint(path, { log: run.log, ...opts.watch }));
}

async function evaluateCheckpoint(run: EvalRun, ckpt: number): Promise<CheckpointEvalResult> {
  const { config, opts, log, evalDir, device, sde } = run;
  const e = config.eval;
  const { model, step } = loadEvalModel(config, checkpointFile(run.workdir, ckpt), device);
  try {
    const res: CheckpointEvalResult = { ckpt, step };
    if (e.enable_loss) {
      res.loss = await evaluateLoss(config, sde, model, { ckpt, evalDir, device, dataset: opts.datasets?.test, maxBatches: opts.maxBatches, progressStream: opts.progressStream, group: opts.group });
      log(`ckpt ${ckpt} (step ${step}): eval loss ${res.loss.meanLoss.toExponential(5)} over ${res.loss.allLosses.length} batches → ${res.loss.path}`);
    }
    if (e.enable_bpd) {
      const kind = e.bound ? 'bound' : 'bpd';
      const workers = kind === 'bpd' ? likelihoodWorkers(e.ode_workers, e.ode_chunk || e.batch_size, device) : 1;
      if (workers > 1) log(`ckpt ${ckpt}: ODE likelihood network calls in ${workers} slices at once, one thread each (eval.ode_workers=${e.ode_workers})`);
      const scoreFn = getScoreFn(sde, model.withOptions({ workers }), { continuous: config.training.continuous, train: false });
      res.likelihood = await evaluateLikelihood(config, sde, scoreFn, {
        kind, ckpt, evalDir: run.bpdDir, device, dequantizer: run.dq?.deq, dataset: e.bpd_dataset === 'train' ? opts.datasets?.train : opts.datasets?.test,
        maxBatches: opts.maxBatches, boundSamples: opts.boundSamples, boundChunk: opts.boundChunk,
        progressStream: opts.progressStream, progressIntervalMs: opts.progressIntervalMs, log, group: opts.group,
      });
      const s = res.likelihood.summary;
      log(`ckpt ${ckpt} (step ${step}): ${e.bpd_dataset} ${kind} ${s.mean.toFixed(5)} bits/dim, 95% CI [${s.ci95[0].toFixed(5)}, ${s.ci95[1].toFixed(5)}] ` +
        `over ${s.n} examples (${s.roundsDone}/${s.rounds} rounds${s.nfePerBatch !== null ? `, ${s.nfePerBatch.toFixed(1)} NFE per batch` : ''})`);
    }
    return res;
  } finally {
    model.dispose();
  }
}
