/**
 * The evaluation driver (references' `run_lib.evaluate`, likelihood and loss parts): for each checkpoint
 * c in [eval.begin_ckpt, eval.end_ckpt], loads `checkpoints/checkpoint_<c>.pth` (EMA weights, eval mode), then
 * - eval.enable_loss: the eval loss over the test split (./loss.ts);
 * - eval.enable_bpd: bits/dim over eval.bpd_dataset — of the probability-flow ODE, or with eval.bound the
 *   variational upper bound (score_flow semantics: the bound replaces the ODE) (./likelihood.ts); with
 *   eval.dequantizer, of data dequantized by the Flow++ dequantizer of eval.dequantizer_ckpt (spec §8).
 * Every checkpoint is checked to exist before any work starts (a missing one is an error naming the path;
 * unlike the references, no waiting for checkpoints to arrive).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedConfig } from '../config/index.js';
import type { ImageDataset } from '../data/index.js';
import { sdeFromConfig, getScoreFn } from '../sde/index.js';
import { resolveDevice } from '../device.js';
import { ScoreflowError } from '../errors.js';
import { loadEvalModel } from './checkpoint.js';
import { loadEvalDequantizer } from '../dequant/checkpoint.js';
import { checkpointFile } from './files.js';
import { evaluateLikelihood, type LikelihoodEvalOptions, type LikelihoodEvalResult } from './likelihood.js';
import { evaluateLoss, type LossEvalResult } from './loss.js';

/** The per-pass options of the likelihood evaluation, plus where results go and which data to use. */
export interface EvalOptions extends Pick<LikelihoodEvalOptions,
  'maxBatches' | 'boundSamples' | 'boundChunk' | 'progressStream' | 'progressIntervalMs' | 'log'> {
  /** Results folder under the workdir (default 'eval'). */
  evalFolder?: string;
  /** Datasets to use instead of the configured ones (tests). */
  datasets?: { train?: ImageDataset; test?: ImageDataset };
}

export interface CheckpointEvalResult { ckpt: number; step: number; loss?: LossEvalResult; likelihood?: LikelihoodEvalResult }

export function runEvaluation(config: ResolvedConfig, workdir: string, opts: EvalOptions = {}): CheckpointEvalResult[] {
  const e = config.eval;
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  if (e.end_ckpt < e.begin_ckpt) throw new ScoreflowError('ERR_CONFIG', `eval.end_ckpt (${e.end_ckpt}) is before eval.begin_ckpt (${e.begin_ckpt})`);
  const ckpts = Array.from({ length: e.end_ckpt - e.begin_ckpt + 1 }, (_, i) => e.begin_ckpt + i);
  for (const c of ckpts) {
    const p = checkpointFile(workdir, c);
    if (!existsSync(p)) throw new ScoreflowError('ERR_FORMAT', `checkpoint not found: ${p} (eval.begin_ckpt..end_ckpt = ${e.begin_ckpt}..${e.end_ckpt}; training writes checkpoint_<step // snapshot_freq>.pth)`);
  }
  if (!e.enable_bpd && !e.enable_loss) log('scoreflow eval: nothing to do (eval.enable_bpd and eval.enable_loss are both false)');
  if (e.bound && !e.enable_bpd) log('scoreflow eval: eval.bound needs eval.enable_bpd=true (the bound replaces the ODE bits/dim)');
  const evalDir = join(workdir, opts.evalFolder ?? 'eval');
  mkdirSync(evalDir, { recursive: true });
  const device = resolveDevice(config.device);
  const sde = sdeFromConfig(config);
  const out: CheckpointEvalResult[] = [];
  const dq = e.enable_bpd && e.dequantizer ? loadEvalDequantizer(config, workdir, device) : undefined;
  if (dq) log(`scoreflow eval: bits/dim with the Flow++ dequantizer ${dq.path} (EMA weights)`);
  // Results with a dequantizer go to their own folder (the round files of uniform dequantization stay valid).
  const bpdDir = dq ? join(evalDir, `dequantizer_${e.dequantizer_ckpt}`) : evalDir;
  try {
  for (const ckpt of ckpts) {
    const { model, step } = loadEvalModel(config, checkpointFile(workdir, ckpt), device);
    try {
      const res: CheckpointEvalResult = { ckpt, step };
      if (e.enable_loss) {
        res.loss = evaluateLoss(config, sde, model, { ckpt, evalDir, device, dataset: opts.datasets?.test, maxBatches: opts.maxBatches, progressStream: opts.progressStream });
        log(`ckpt ${ckpt} (step ${step}): eval loss ${res.loss.meanLoss.toExponential(5)} over ${res.loss.allLosses.length} batches → ${res.loss.path}`);
      }
      if (e.enable_bpd) {
        const scoreFn = getScoreFn(sde, model, { continuous: config.training.continuous, train: false });
        const kind = e.bound ? 'bound' : 'bpd';
        res.likelihood = evaluateLikelihood(config, sde, scoreFn, {
          kind, ckpt, evalDir: bpdDir, device, dataset: e.bpd_dataset === 'train' ? opts.datasets?.train : opts.datasets?.test, dequantizer: dq?.deq,
          maxBatches: opts.maxBatches, boundSamples: opts.boundSamples, boundChunk: opts.boundChunk,
          progressStream: opts.progressStream, progressIntervalMs: opts.progressIntervalMs, log,
        });
        const s = res.likelihood.summary;
        log(`ckpt ${ckpt} (step ${step}): ${e.bpd_dataset} ${kind} ${s.mean.toFixed(5)} bits/dim, 95% CI [${s.ci95[0].toFixed(5)}, ${s.ci95[1].toFixed(5)}] ` +
          `over ${s.n} examples (${s.roundsDone}/${s.rounds} rounds${s.nfePerBatch !== null ? `, ${s.nfePerBatch.toFixed(1)} NFE per batch` : ''})`);
      }
      out.push(res);
    } finally {
      model.dispose();
    }
  }
  } finally {
    dq?.deq.dispose();
  }
  return out;
}
