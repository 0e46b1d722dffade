/**
 * Likelihood evaluation of one checkpoint over a split (spec §5): bits/dim of the probability-flow ODE
 * (src/likelihood/ode-likelihood.ts) or the variational bound (src/likelihood/bound.ts), one result file per
 * batch round. Data: the evaluation loader with uniform dequantization (x = (255·x̃ + u)/256, u ~ U[0,1)),
 * then the data scaler; eps = training.smallest_time (score_flow); offset 7 bits/dim for centered data, 8 for
 * [0,1] data. The test split is passed eval.num_repeats times (fresh shuffle and dequantization noise per
 * pass), the train split once. Each round's randomness (Hutchinson probe; bound times and noise) comes from
 * a generator seeded by (seed + 1, ckpt, round), so a round recomputed after a crash is the same round.
 * Rounds whose file exists are skipped: a killed evaluation resumes where it stopped. In a data-parallel job
 * the pending rounds are dealt out, one per rank per wave, and their values gathered: each round is computed
 * once and exactly as one process computes it (its own seed, its whole batch); rank 0 writes. With a Flow++
 * dequantizer (eval.dequantizer) the data is not uniformly dequantized: see `dequantize` below.
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { ResolvedConfig } from '../config/index.js';
import type { ImageDataset } from '../data/index.js';
import { evaluationLoader, datasetFromConfig, deriveSeed } from '../data/index.js';
import { fromHost, type Tensor } from '../tensor.js';
import { tidy } from '../scope.js';
import { generator, randn, type Generator } from '../random.js';
import { noGrad } from '../autograd.js';
import type { FlowppDequantizer } from '../dequant/flowpp.js';
import { dequantizedData, dequantizerBits } from '../dequant/objective.js';
import type { ScoreFn, Sde } from '../sde/types.js';
import { odeLikelihood, likelihoodBound, likelihoodChunk, describeChunk } from '../likelihood/index.js';
import { Progress, type ProgressStream } from '../train/progress.js';
import { meanCi, type MeanCi } from './stats.js';
import { withPrecision, type Precision } from '../precision.js';
import type { ProcessGroup } from '../dist/process-group.js';
import { readRoundFile, roundFileName, summaryFileName, writeJsonAtomic, writeRoundFile, type LikelihoodKind } from './files.js';

export interface LikelihoodEvalOptions {
  kind: LikelihoodKind;
  ckpt: number;
  evalDir: string;
  device: string;
  /** Dataset to use instead of the configured split (tests). */
  dataset?: ImageDataset;
  /** Only the first n batches of each pass (quick estimates). */
  maxBatches?: number;
  /** Time samples per example of the bound (default 1000, score_flow). */
  boundSamples?: number;
  /** Time samples per score call of the bound (default 1). */
  boundChunk?: number;
  /**
   * Precision hook: run `scoreFn` under this autocast (src/precision.ts withPrecision) — for score functions
   * that do not carry their own precision. A ScoreModel built with stage 'eval' (loadEvalModel) already
   * runs its network at eval.precision; the ODE state keeps its dtype (float64) either way.
   */
  precision?: Precision;
  /**
   * eval.dequantizer (spec §8): the data is dequantized by this Flow++ dequantizer (fresh eps per round)
   * instead of uniformly, and log q(u|x)/(D ln 2) is added to each example's bits/dim.
   */
  dequantizer?: FlowppDequantizer;
  progressStream?: ProgressStream;
  /** Minimum ms between progress lines off a TTY (default 10000). */
  progressIntervalMs?: number;
  log?: (line: string) => void;
  /** Data-parallel job: this rank computes its share of the rounds; only rank 0 writes. */
  group?: ProcessGroup;
}

export interface LikelihoodSummary extends MeanCi {
  kind: LikelihoodKind;
  split: string;
  ckpt: number;
  /** Rounds on disk / rounds in all (complete when equal). */
  roundsDone: number;
  rounds: number;
  complete: boolean;
  batchSize: number;
  repeats: number;
  eps: number;
  /** Mean NFE per round computed by this invocation (score evaluations in units of a batch). */
  nfePerBatch: number | null;
}

export interface LikelihoodEvalResult {
  summary: LikelihoodSummary;
  /** The rounds computed by this call (the others were read from disk). */
  computed: number[];
  /** Score-network evaluations (in batches) spent by this call. */
  nfe: number;
}

/** x̂ = scaler((255·x + u)/256) with (u, sldj) from the dequantizer, and its log q(u|x)/(D ln 2) per example. */
function dequantize(deq: FlowppDequantizer, x: Tensor, centered: boolean, gen: Generator): { data: Tensor; bits: Tensor } {
  const { u, sldj } = noGrad(() => deq.forward(randn(x.shape, { dtype: x.dtype, device: x.device, generator: gen }), x));
  return { data: dequantizedData(x, u, centered), bits: dequantizerBits(sldj, x.numel / x.shape[0]!).to('float64') };
}

/** Round seed of (config seed + 1, ckpt, round, kind): as the references' eval rng (seed + 1). */
export const roundSeed = (seed: number, ckpt: number, round: number, kind: LikelihoodKind): number =>
  deriveSeed(seed + 1, ckpt, round, kind === 'bpd' ? 0x627064 : 0x626e64);

/**
 * Every rank's round of a wave, in rank order: [bits/dim..., nfe] per rank (NaNs from a rank with no round in
 * the last wave).
 */
async function gatherWave(group: ProcessGroup, own: { bpd: Float64Array; nfe: number } | undefined, batch: number): Promise<{ bpd: Float64Array; nfe: number }[]> {
  const mine = new Float64Array(batch + 1).fill(NaN);
  if (own) { mine.set(own.bpd); mine[batch] = own.nfe; }
  const t = fromHost({ dtype: 'float64', shape: [batch + 1], data: mine }, group.device);
  let all: Tensor[] = [];
  try {
    all = await group.allgather(t);
    return all.map((x) => { const a = x.toArray() as Float64Array; return { bpd: a.slice(0, batch), nfe: a[batch]! }; });
  } finally {
    t.dispose();
    for (const x of all) x.dispose();
  }
}

export async function evaluateLikelihood(config: ResolvedConfig, sde: Sde, modelScoreFn: ScoreFn, o: LikelihoodEvalOptions): Promise<LikelihoodEvalResult> {
  const e = config.eval;
  const scoreFn = o.precision ? withPrecision(modelScoreFn, o.precision, o.device) : modelScoreFn;
  const split = e.bpd_dataset;
  const repeats = split === 'train' ? 1 : e.num_repeats;
  const eps = config.training.smallest_time;
  const offset = config.data.centered ? 'centered' : 'uncentered';
  const dataset = o.dataset ?? datasetFromConfig(config.data, split); // opened once, shared by the passes
  const loaders = Array.from({ length: repeats }, (_, r) => evaluationLoader(config, split, { uniformDequantization: !o.dequantizer, repeat: r, dataset, prefetch: 0 }));
  const perPass = Math.min(loaders[0]!.batchesPerEpoch, o.maxBatches ?? Infinity);
  const nBatches = loaders[0]!.batchesPerEpoch; // round ids use the full pass length, as the references
  const rounds: number[] = [];
  for (let r = 0; r < repeats; r++) for (let b = 0; b < perPass; b++) rounds.push(b + nBatches * r);
  const world = o.group?.worldSize ?? 1, rank = o.group?.rank ?? 0;
  const writes = rank === 0;
  if (writes) mkdirSync(o.evalDir, { recursive: true });
  const fileOf = (round: number) => join(o.evalDir, roundFileName(split, o.ckpt, o.kind, round));

  const values: number[] = [];
  const pending: number[] = [];
  for (const round of rounds) {
    const v = readRoundFile(fileOf(round));
    if (v) values.push(...v); else pending.push(round);
  }
  const log = o.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const summaryPath = join(o.evalDir, summaryFileName(split, o.ckpt, o.kind));
  let nfe = 0;
  const computed: number[] = [];
  const summarize = (): LikelihoodSummary => ({
    kind: o.kind, split, ckpt: o.ckpt, ...meanCi(values), roundsDone: rounds.length - pending.length + computed.length, rounds: rounds.length,
    complete: computed.length === pending.length, batchSize: e.batch_size, repeats, eps,
    nfePerBatch: computed.length ? nfe / computed.length : null,
  });
  if (pending.length < rounds.length) log(`${o.kind} ckpt ${o.ckpt}: ${rounds.length - pending.length} of ${rounds.length} rounds already in ${o.evalDir}, resuming`);
  const progress = new Progress({
    total: rounds.length, initial: rounds.length - pending.length, label: `${split} ${o.kind} ckpt ${o.ckpt}`,
    stream: o.progressStream, intervalMs: o.progressIntervalMs ?? 10_000, per: { unit: 'img', count: e.batch_size },
  });
  let chunk = e.ode_chunk || undefined; // eval.ode_chunk = 0: measured on the first batch
  const chunkFor = (scaled: Tensor): number => {
    if (chunk === undefined) {
      const c = likelihoodChunk(scoreFn, sde, scaled, o.device);
      chunk = c.chunk;
      log(`${o.kind} ckpt ${o.ckpt}: ODE likelihood with ${describeChunk(c, scaled.shape[0]!)}`);
    }
    return chunk;
  };
  const computeRound = (round: number): { bpd: Float64Array; nfe: number } => {
    const repeat = Math.floor(round / nBatches);
    const batch = loaders[repeat]!.batchAt(round % nBatches);
    const gen = generator(roundSeed(config.seed, o.ckpt, round, o.kind));
    return tidy(() => {
      const x = fromHost(batch.images, o.device);
      const deq = o.dequantizer ? dequantize(o.dequantizer, x, config.data.centered, gen) : undefined;
      const scaled = deq ? deq.data : config.data.centered ? x.mul(2).sub(1) : x;
      const withDeq = (bpd: Tensor) => (deq ? bpd.add(deq.bits) : bpd);
      if (o.kind === 'bpd') {
        const r = odeLikelihood(scoreFn, sde, scaled, {
          eps, rtol: e.rtol, atol: e.atol, hutchinson: e.hutchinson, generator: gen, offset, chunk: chunkFor(scaled),
          onStep: (info) => progress.tick(0, { t: info.t, nfe: info.nfe }),
        });
        return { bpd: Float64Array.from(withDeq(r.bpd.to('float64')).toArray() as Float64Array), nfe: r.nfe };
      }
      const r = likelihoodBound(scoreFn, sde, scaled, {
        generator: gen, eps, N: o.boundSamples ?? 1000, chunk: o.boundChunk ?? 1, form: e.dsm ? 'dsm' : 'ssm',
        hutchinson: e.hutchinson === 'exact' ? 'rademacher' : e.hutchinson, importanceWeighting: true, epsOffset: e.offset, offset,
        onProgress: (done, total) => progress.tick(0, { samples: `${done}/${total}` }),
      });
      return { bpd: Float64Array.from(withDeq(r.bpd.to('float64')).toArray() as Float64Array), nfe: r.nfe };
    });
  };
  for (let i = 0; i < pending.length; i += world) {
    const wave = pending.slice(i, i + world);
    const own = wave[rank] === undefined ? undefined : computeRound(wave[rank]!);
    const results = o.group ? await gatherWave(o.group, own, e.batch_size) : [own!];
    wave.forEach((round, j) => {
      const { bpd, nfe: n } = results[j]!;
      if (writes) writeRoundFile(fileOf(round), bpd);
      values.push(...bpd);
      computed.push(round);
      nfe += n;
      const s = summarize();
      if (writes) writeJsonAtomic(summaryPath, s);
      progress.tick(1, { mean: s.mean, ci: s.halfWidth });
      log(`ckpt: ${o.ckpt}, repeat: ${Math.floor(round / nBatches)}, batch: ${round % nBatches}, mean ${o.kind}: ${s.mean.toFixed(6)} ± ${s.halfWidth.toFixed(6)} (95% CI, n = ${s.n})`);
    });
  }
  const summary = summarize();
  if (writes) writeJsonAtomic(summaryPath, summary);
  progress.done({ mean: summary.mean, ci: summary.halfWidth });
  return { summary, computed, nfe };
}
