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
import { applyCheckpoint, captureCheckpoint, readCheckpoint, serializeCheckpoint, type TrainingState, type CheckpointExtras } from './checkpoint.js';
import { ResumePoints } from './resume-points.js';
import { checkResumeConfig, type ConfigChange } from './resume-config.js';
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
import { snapshotSamples } from '../sampling/snapshot.js';
import { ScoreflowError } from '../errors.js';
import type { ImageDataset } from '../data/index.js';

export interface TrainLogger {
  /** Called every log_freq steps (and for eval metrics) with scalar metrics. */
  log(step: number, scalars: Record<string, number>): void;
  /** Called after every step (progress display). */
  tick?(step: number, total: number): void;
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
}

export interface TrainResult { step: number; stoppedBy: 'done' | 'stop' | 'stopAtStep'; lastLoss: number }

export interface ResumeInfo {
  step: number;
  path: string;
  /** The newest resume point was missing (a save was cut short): this is the previous one. */
  interrupted: boolean;
  /** Accepted config changes against the resume point's config. */
  changes: ConfigChange[];
}

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
    const picked = this.resumePoints.pick();
    if (!picked) return undefined;
    const { path } = picked;
    let loaded: ReturnType<typeof readCheckpoint>;
    try { loaded = readCheckpoint(path); } catch (e) { throw this.resumePoints.cannotResume(path, e); }
    const changes = checkResumeConfig(loaded.extras?.json.config ?? this.savedConfig(), this.config, this.opts.allowChanges ?? [], path);
    try {
      applyCheckpoint(loaded.checkpoint, this.state);
      const extras = loaded.extras;
      if (extras) {
        const data = extras.json.data as { train: { seed: number; batch: number }; eval: { seed: number; batch: number } };
        this.loaders.train.setState(data.train);
        this.loaders.eval.setState(data.eval);
        this.lossGen.setState(extras.blobs.loss_rng!);
        this.evalGen.setState(extras.blobs.eval_rng!);
      }
    } catch (e) {
      throw this.resumePoints.cannotResume(path, e);
    }
    this.resumePoints.resumedFrom(path, this.state.step);
    return { step: this.state.step, path, interrupted: picked.interrupted, changes };
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
    if (this.resumePoints.holds(this.state.step)) return;
    this.resumePoints.save(this.encodeState(), this.state.step);
  }

  private saveSnapshot(): void {
    const { snapshot_freq, snapshot_sampling } = this.config.training;
    const id = Math.floor(this.state.step / snapshot_freq);
    writeFileAtomic(join(this.workdir, 'checkpoints', `checkpoint_${id}.pth`), this.encodeState());
    if (snapshot_sampling) {
      const image = this.logger?.image?.bind(this.logger);
      snapshotSamples(this.state.model, this.state.ema, this.config, this.state.step, this.workdir, { image });
    }
  }

  /** The user-facing error for a divergence, after setting aside the resume point holding its state. */
  private diverged(e: DivergenceError): ScoreflowError {
    const where = this.resumePoints.setAside(e.step);
    const lr = this.config.optim.lr;
    return new ScoreflowError('ERR_NUMERIC', `training diverged: ${e.what} at step ${e.step}. ${where} Lower optim.lr (now ${lr}), ` +
      'set optim.grad_clip or lengthen optim.warmup, or check the data; a resume point trained with other optim.* values ' +
      'needs them named in --allow-change (e.g. --config.optim.lr=<lower> --allow-change optim.lr).', { cause: e });
  }

  /** Requests a clean stop after the current step (a resume point is written). */
  requestStop(): void { this.stopRequested = true; }

  /**
   * One update on a batch already on the device (disposed here). Returns the step's scalars as device
   * tensors (read them at log time: reading is a host sync) and the learning rate.
   */
  private async trainStep(x: Tensor): Promise<StepScalars> {
    const { model, optimizer, ema } = this.state;
    const c = this.config;
    if (c.model.dropout > 0) model.setDropoutSeed(c.seed * 1_000_003 + this.state.step); // resumable dropout
    let r: LossResult;
    try {
      r = tidy(() => this.lossFn(model, x, { generator: this.lossGen }));
    } finally {
      x.dispose();
    }
    try {
      // The backward pass runs on libuv's pool, so the next batch is fetched and uploaded meanwhile.
      await backwardAsync(r.loss);
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
    ema.store(params);
    try {
      const order1 = this.config.training.score_matching_order === 1;
      return tidy(() => {
        const x = deviceBatch(batch, this.device, this.config.data.centered);
        const run = () => scalarsOf(this.evalLossFn(model, x, { generator: this.evalGen }), 'eval_loss', this.config.training.score_matching_order);
        return order1 ? noGrad(run) : run(); // high-order terms differentiate the score
      });
    } finally {
      ema.restore(params);
    }
  }

  async run(): Promise<TrainResult> {
    const c = this.config.training;
    makeDirs(join(this.workdir, 'checkpoints'));
    writeFileAtomic(join(this.workdir, 'config.json'), new TextEncoder().encode(JSON.stringify(this.config, null, 2)));
    const logger = this.logger;
    let last: StepScalars | undefined;
    let lastLoss = NaN;
    let stoppedBy: TrainResult['stoppedBy'] = 'done';
    let t0 = performance.now();
    let s0 = this.state.step;
    const stream = this.loaders.train[Symbol.asyncIterator]();
    const fetch = async () => {
      const { value: batch, done } = await stream.next();
      if (done) throw new ScoreflowError('ERR_DATA', 'the training data stream ended unexpectedly');
      return { x: deviceBatch(batch, this.device, this.config.data.centered), state: this.loaders.train.getState() };
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
        const step = this.state.step;
        logger?.tick?.(step, c.n_iters);
        if (step % c.log_freq === 0) {
          const secs = (performance.now() - t0) / 1000;
          const rate = (step - s0) / Math.max(secs, 1e-9);
          this.health.check();
          const scalars = readScalars(last);
          lastLoss = scalars.training_loss!;
          logger?.log(step, { ...scalars, steps_per_sec: rate, images_per_sec: rate * c.batch_size });
          t0 = performance.now();
          s0 = step;
        }
        if (step % c.eval_freq === 0) logger?.log(step, await this.evalStep());
        if (step % c.snapshot_freq_for_preemption === 0) this.saveMeta();
        if (step % c.snapshot_freq === 0 || step === c.n_iters) this.saveSnapshot();
        if (!wanted()) break;
      }
      if (this.stopRequested) stoppedBy = 'stop';
      else if (this.state.step < c.n_iters) stoppedBy = 'stopAtStep';
      if (last) lastLoss = readScalars(last).training_loss!;
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
