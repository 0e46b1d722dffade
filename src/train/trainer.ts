/**
 * The training loop (run_lib.train of the references): a score model trained with the configured
 * objective, EMA weights, periodic logging and evaluation, snapshot checkpoints in `checkpoints/` and
 * resume points in `checkpoints-meta/` (see resume-points.ts) from which re-running the same command
 * resumes exactly. A divergence stops the run before a non-finite state is saved or an update applied.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedConfig } from '../config/index.js';
import { ScoreModel } from '../model/score-model.js';
import { Ema } from '../model/ema.js';
import { Optimizer } from './optimizer.js';
import { applyCheckpoint, captureCheckpoint, parseCheckpoint, serializeCheckpoint, type TrainingState, type CheckpointExtras, type LoadedCheckpoint } from './checkpoint.js';
import { ResumePoints } from './resume-points.js';
import { resumeFrom, type ResumeInfo } from './resume.js';
import { assertFiniteState, DivergenceError } from './divergence.js';
import { StepHealth } from './step-health.js';
import { writeFileAtomic } from './atomic.js';
import { makeDirs } from '../workdir/make-dirs.js';
import { sdeFromConfig } from '../sde/index.js';
import { getLossFn, type LossFn, type LossResult } from '../losses/index.js';
import { trainingLoaders, type Batch, type DataLoader, type LoaderState } from '../data/index.js';
import { fromHost, type Tensor } from '../tensor.js';
import { generator, type Generator } from '../random.js';
import { backwardAsync, noGrad } from '../autograd.js';
import { dispose, tidy } from '../scope.js';
import { resolveDevice } from '../device.js';
import { snapshotBatchSize, snapshotNetworkCalls, snapshotProgressShape, snapshotSamples } from '../sampling/snapshot.js';
import { TrainClock } from './train-clock.js';
import type { EtaEstimate } from './eta.js';
import type { PerUnit, PhaseProgress } from './progress.js';
import { ScoreflowError } from '../errors.js';
import type { ImageDataset } from '../data/index.js';
import type { DataParallel } from '../dist/data-parallel.js';

export interface TrainLogger {
  /** Called every log_freq steps (and for eval metrics) with scalar metrics. */
  log(step: number, scalars: Record<string, number>): void;
  /**
   * Called after every step (progress display), before that step's eval, saves and snapshot. `eta` is the
   * trainer's estimate counting the phases to come; without it the progress line times the steps itself.
   */
  tick?(step: number, total: number, eta?: EtaEstimate): void;
  /** A progress line for a long phase between steps (snapshot sampling), ended by the trainer. */
  phase?(shape: { label: string; total?: number; per?: PerUnit }): PhaseProgress;
  /** Sample grids (PNG) from snapshot sampling. */
  image?(tag: string, png: Uint8Array, height: number, width: number, channels: number, step: number): void;
  close?(): void;
}

export interface TrainOptions {
  logger?: TrainLogger;
  /** Stop (with a pre-emption checkpoint) once this many updates are done in total, before n_iters. */
  stopAtStep?: number;
  /** Datasets to use instead of the configured ones (tests). */
  datasets?: { train: ImageDataset; test: ImageDataset };
  /** Config fields that may differ from the resume point's beyond the freely changeable ones (--allow-change). */
  allowChanges?: readonly string[];
  /** Data-parallel job this trainer is one rank of (src/dist/data-parallel.ts): sharding, gradient sync, rank 0 writes. */
  dist?: DataParallel;
}

export interface TrainResult { step: number; stoppedBy: 'done' | 'stop' | 'stopAtStep'; lastLoss: number }

export type { ResumeInfo } from './resume.js';

/** The resume points' folder (score_sde_pytorch's name). */
export const META_DIR = 'checkpoints-meta';

/** Scaled batch on the device: data.centered maps [0,1] to [−1,1] (the references' scaler). */
function deviceBatch(b: Batch, device: string, centered: boolean): Tensor {
  return tidy(() => {
    const x = fromHost(b.images, device);
    return centered ? x.mul(2).sub(1) : x;
  });
}

/** A training step's scalars, still on the device, and its learning rate. */
interface StepScalars { tensors: Record<string, Tensor>; lr: number }

/** Reads a step's scalars to the host (a sync). */
function readScalars(s: StepScalars): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, t] of Object.entries(s.tensors)) out[k] = t.item();
  out.lr = s.lr;
  return out;
}

/** The loss and, for high-order DSM, each term (the references log training_loss{,1,2,3}). */
function scalarsOf(r: LossResult, prefix: string, order: number): Record<string, number> {
  const out: Record<string, number> = { [prefix]: r.loss.item() };
  if (order > 1) for (const [k, v] of Object.entries(r.terms)) out[`${prefix}${k.slice(4)}`] = (v as Tensor).item();
  return out;
}

export class Trainer {
  readonly device: string;
  readonly state: TrainingState<ScoreModel>;
  private readonly lossFn: LossFn;
  private readonly evalLossFn: LossFn;
  private readonly lossGen: Generator;
  private readonly evalGen: Generator;
  private readonly loaders: { train: DataLoader; eval: DataLoader };
  readonly resumePoints: ResumePoints;
  /** Loss and gradient norm checked on the device, read at sync points only (no per-step host sync). */
  private readonly health = new StepHealth();
  /**
   * The training stream's position after the last batch a step consumed: the next batch is fetched
   * (and uploaded) while a step runs, so the loader itself is one batch ahead of what a resume needs.
   */
  private trainStreamState: LoaderState | undefined;
  private stopRequested = false;
  /** Only rank 0 of a data-parallel job writes files. */
  private readonly writes: boolean;
  /** Step and phase times, for the ETA and the logged rates. */
  private readonly clock: TrainClock;
  /** Where metrics go; settable after construction (e.g. once the resume step is known). */
  logger?: TrainLogger;

  constructor(readonly config: ResolvedConfig, readonly workdir: string, private readonly opts: TrainOptions = {}) {
    this.device = resolveDevice(config.device);
    const model = new ScoreModel(config, { seed: config.seed, device: this.device, stage: 'training' }); // training.precision, allow_tf32
    const params = model.parameters();
    this.state = {
      step: 0,
      model,
      ema: new Ema(params, config.model.ema_rate, 'torch'),
      optimizer: new Optimizer(params, config.optim),
    };
    const sde = sdeFromConfig(config);
    this.lossFn = getLossFn(sde, config.training, { train: true });
    this.evalLossFn = getLossFn(sde, config.training, { train: false });
    this.lossGen = generator(config.seed);
    this.evalGen = generator(config.seed + 1);
    this.loaders = trainingLoaders(config, { train: opts.datasets?.train, test: opts.datasets?.test });
    this.logger = opts.logger;
    this.resumePoints = new ResumePoints(join(workdir, META_DIR));
    this.writes = opts.dist?.isWriter ?? true;
    this.clock = new TrainClock({
      samplingCalls: snapshotNetworkCalls(config), sampleBatch: snapshotBatchSize(config), trainBatch: config.training.batch_size,
    });
  }

  private extras(): CheckpointExtras {
    return {
      json: { data: { train: this.trainStreamState ?? this.loaders.train.getState(), eval: this.loaders.eval.getState() }, config: this.config },
      blobs: { loss_rng: this.lossGen.getState(), eval_rng: this.evalGen.getState() },
    };
  }

  /**
   * Resumes from the newest resume point (or the previous one if a save was cut short) when there is
   * one. Throws, naming the file and what to do, if it cannot be read, was trained with a config that
   * differs in a refused field, or does not fit the model.
   */
  resume(): ResumeInfo | undefined {
    return resumeFrom(this.resumePoints, {
      config: this.config, savedConfig: () => this.savedConfig(), allowChanges: this.opts.allowChanges ?? [],
      apply: (loaded) => { this.applyLoaded(loaded); return this.state.step; },
    });
  }

  private applyLoaded(loaded: LoadedCheckpoint): void {
    applyCheckpoint(loaded.checkpoint, this.state);
    const extras = loaded.extras;
    if (extras) {
      const data = extras.json.data as { train: { seed: number; batch: number }; eval: { seed: number; batch: number } };
      this.loaders.train.setState(data.train);
      this.loaders.eval.setState(data.eval);
      this.lossGen.setState(extras.blobs.loss_rng!);
      this.evalGen.setState(extras.blobs.eval_rng!);
    }
  }

  /**
   * Data parallelism: every rank takes rank 0's whole training state (parameters, EMA, Adam, step, data and
   * noise positions), resumed or fresh, so the ranks start identical even without a shared workdir.
   */
  async syncState(): Promise<void> {
    const dp = this.opts.dist;
    if (!dp) return;
    const bytes = await dp.broadcastBytes(dp.isWriter ? serializeCheckpoint(captureCheckpoint(this.state), this.extras()) : undefined);
    if (!dp.isWriter) this.applyLoaded(parseCheckpoint(bytes));
  }

  /** The workdir's config.json, for resume points without an embedded config (the references'). */
  private savedConfig(): unknown {
    const path = join(this.workdir, 'config.json');
    if (!existsSync(path)) return this.config;
    try { return JSON.parse(readFileSync(path, 'utf8')); } catch (e) { throw this.resumePoints.cannotResume(path, e); }
  }

  /** The checkpoint bytes of the current state; throws DivergenceError rather than encode non-finite weights. */
  private encodeState(): Uint8Array {
    this.health.check();
    const ck = captureCheckpoint(this.state);
    assertFiniteState(ck);
    return serializeCheckpoint(ck, this.extras());
  }

  saveMeta(): void {
    if (!this.writes || this.resumePoints.holds(this.state.step)) return;
    this.resumePoints.save(this.encodeState(), this.state.step);
  }

  private saveSnapshot(): void {
    if (!this.writes) return;
    const { snapshot_freq, snapshot_sampling } = this.config.training;
    const id = Math.floor(this.state.step / snapshot_freq);
    this.clock.phase('save', () => writeFileAtomic(join(this.workdir, 'checkpoints', `checkpoint_${id}.pth`), this.encodeState()));
    if (snapshot_sampling) {
      const image = this.logger?.image?.bind(this.logger);
      const progress = this.logger?.phase?.(snapshotProgressShape(this.config));
      this.clock.phase('sampling', () => snapshotSamples(this.state.model, this.state.ema, this.config, this.state.step, this.workdir, { image, progress }));
    }
  }

  /** The user-facing error for a divergence, after setting aside the resume point holding its state. */
  private diverged(e: DivergenceError): ScoreflowError {
    const where = this.writes ? this.resumePoints.setAside(e.step) : '';
    const lr = this.config.optim.lr;
    return new ScoreflowError('ERR_NUMERIC', `training diverged: ${e.what} at step ${e.step}. ${where} Lower optim.lr (now ${lr}), ` +
      'set optim.grad_clip or lengthen optim.warmup, or check the data; a resume point trained with other optim.* values ' +
      'needs them named in --allow-change (e.g. --config.optim.lr=<lower> --allow-change optim.lr).', { cause: e });
  }

  /** Requests a clean stop after the current step (a resume point is written). */
  requestStop(): void {
    if (this.opts.dist) this.opts.dist.requestStop(); // agreed on by all ranks at the next gradient sync
    else this.stopRequested = true;
  }

  /**
   * One update on a batch already on the device (disposed here). Returns the step's scalars as device
   * tensors (read them at log time: reading is a host sync) and the learning rate.
   */
  private async trainStep(x: Tensor): Promise<StepScalars> {
    const { model, optimizer, ema } = this.state;
    const c = this.config;
    const dp = this.opts.dist;
    const dropoutSeed = c.seed * 1_000_003 + this.state.step; // resumable dropout
    if (c.model.dropout > 0) model.setDropoutSeed(dp ? dp.rankSeed(dropoutSeed) : dropoutSeed);
    let r: LossResult;
    try {
      r = tidy(() => this.clock.forward(() => this.lossFn(model, x, { generator: this.lossGen, shard: dp?.shard() })));
    } finally {
      x.dispose();
    }
    try {
      // The backward pass runs on libuv's pool, so the next batch is fetched and uploaded meanwhile.
      await backwardAsync(r.loss);
      if (dp && await dp.syncGradients(model.parameters())) this.stopRequested = true;
      const { lr, gradNorm } = optimizer.step(this.state.step);
      this.health.note(this.state.step, r.loss, gradNorm);
      optimizer.zeroGrad();
      ema.update(model.parameters());
      this.state.step += 1;
      const tensors: Record<string, Tensor> = { training_loss: r.loss.detach(), grad_norm: gradNorm };
      if (c.training.score_matching_order > 1) {
        for (const [k, v] of Object.entries(r.terms)) tensors[`training_loss${k.slice(4)}`] = (v as Tensor).detach();
      }
      return { tensors, lr };
    } finally {
      dispose(r);
    }
  }

  /** One eval batch with the EMA weights (references: eval_freq). */
  private async evalStep(): Promise<Record<string, number>> {
    const { model, ema } = this.state;
    const batch = await this.loaders.eval.next();
    if (!batch) return {};
    const params = model.parameters();
    const dp = this.opts.dist;
    ema.store(params);
    let r: LossResult;
    try {
      const order1 = this.config.training.score_matching_order === 1;
      r = tidy(() => {
        const x = deviceBatch(dp ? dp.shardBatch(batch) : batch, this.device, this.config.data.centered);
        const run = () => this.evalLossFn(model, x, { generator: this.evalGen, shard: dp?.shard() });
        const out = order1 ? noGrad(run) : run(); // high-order terms differentiate the score
        return { ...out, loss: out.loss.detach(), terms: { loss1: out.terms.loss1.detach(), loss2: out.terms.loss2.detach(), loss3: out.terms.loss3.detach() } };
      });
    } finally {
      ema.restore(params);
    }
    try {
      await dp?.averageScalars({ loss: r.loss, ...r.terms }); // the global batch's eval loss: the mean of the shards' means
      return scalarsOf(r, 'eval_loss', this.config.training.score_matching_order);
    } finally {
      dispose(r);
    }
  }

  async run(): Promise<TrainResult> {
    const c = this.config.training;
    if (this.writes) {
      makeDirs(join(this.workdir, 'checkpoints'));
      writeFileAtomic(join(this.workdir, 'config.json'), new TextEncoder().encode(JSON.stringify(this.config, null, 2)));
    }
    const dp = this.opts.dist;
    const logger = this.logger;
    let last: StepScalars | undefined;
    let lastLoss = NaN;
    let stoppedBy: TrainResult['stoppedBy'] = 'done';
    this.clock.restart();
    let t0 = this.clock.stepSeconds();
    let s0 = this.state.step;
    const end = Math.min(c.n_iters, this.opts.stopAtStep ?? c.n_iters);
    // The time to the end of this run: steps at the step time (phases left out), plus the phases to come.
    const eta = (step: number): EtaEstimate => this.clock.estimate({
      step, phasesDone: step - 1, end: Math.max(end, step), nIters: c.n_iters, evalFreq: c.eval_freq,
      snapshotFreq: c.snapshot_freq, preemptionFreq: c.snapshot_freq_for_preemption, snapshotSampling: c.snapshot_sampling,
    });
    const stream = this.loaders.train[Symbol.asyncIterator]();
    const fetch = async () => {
      const { value: batch, done } = await stream.next();
      if (done) throw new ScoreflowError('ERR_DATA', 'the training data stream ended unexpectedly');
      return { x: deviceBatch(dp ? dp.shardBatch(batch) : batch, this.device, this.config.data.centered), state: this.loaders.train.getState() };
    };
    const wanted = () => this.state.step < c.n_iters && !this.stopRequested &&
      (this.opts.stopAtStep === undefined || this.state.step < this.opts.stopAtStep);
    let upcoming = wanted() ? fetch() : undefined;
    try {
      while (upcoming) {
        const current = await upcoming;
        this.trainStreamState = current.state;
        // Fetched now, awaited after the step: the next batch is read and uploaded while this one trains.
        upcoming = this.state.step + 1 < c.n_iters ? fetch() : undefined;
        upcoming?.catch(() => {}); // a failed prefetch surfaces when awaited, not as an unhandled rejection
        dispose(last?.tensors);
        last = await this.trainStep(current.x);
        this.clock.stepDone();
        const step = this.state.step;
        if (logger?.tick) logger.tick(step, c.n_iters, eta(step));
        if (step % c.log_freq === 0) {
          const secs = this.clock.stepSeconds() - t0; // evals, saves and sampling left out
          const rate = (step - s0) / Math.max(secs, 1e-9);
          this.health.check();
          const { grad_norm: _global, ...losses } = last.tensors; // the gradient norm is already the job's
          await dp?.averageScalars(losses);
          const scalars = readScalars(last);
          lastLoss = scalars.training_loss!;
          logger?.log(step, { ...scalars, steps_per_sec: rate, images_per_sec: rate * c.batch_size });
          t0 = this.clock.stepSeconds();
          s0 = step;
        }
        if (step % c.eval_freq === 0) logger?.log(step, await this.clock.phase('eval', () => this.evalStep()));
        if (step % c.snapshot_freq_for_preemption === 0) this.clock.phase('save', () => this.saveMeta());
        if (step % c.snapshot_freq === 0 || step === c.n_iters) this.saveSnapshot();
        if (!wanted()) break;
      }
      if (this.stopRequested) stoppedBy = 'stop';
      else if (this.state.step < c.n_iters) stoppedBy = 'stopAtStep';
      if (last) {
        await dp?.averageScalars({ training_loss: last.tensors.training_loss! });
        lastLoss = readScalars(last).training_loss!;
      }
      this.saveMeta();
    } catch (e) {
      throw e instanceof DivergenceError ? this.diverged(e) : e;
    } finally {
      dispose(last?.tensors);
      if (upcoming) await upcoming.then(({ x }) => x.dispose(), () => {});
      await stream.return?.();
      logger?.close?.();
    }
    return { step: this.state.step, stoppedBy, lastLoss };
  }

  dispose(): void {
    this.health.dispose();
    this.state.ema.dispose();
    this.state.optimizer.dispose();
    this.state.model.dispose();
  }
}
