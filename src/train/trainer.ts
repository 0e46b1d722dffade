/**
 * The training loop (run_lib.train of the references): a score model trained with the configured
 * objective, EMA weights, periodic logging and evaluation, snapshot checkpoints in `checkpoints/` and a
 * pre-emption checkpoint in `checkpoints-meta/` from which re-running the same command resumes exactly.
 */
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedConfig } from '../config/index.js';
import { ScoreModel } from '../model/score-model.js';
import { Ema } from '../model/ema.js';
import { Optimizer } from './optimizer.js';
import { restoreCheckpoint, saveCheckpoint, type TrainingState, type CheckpointExtras } from './checkpoint.js';
import { sdeFromConfig } from '../sde/index.js';
import { getLossFn, type LossFn, type LossResult } from '../losses/index.js';
import { trainingLoaders, type Batch, type DataLoader } from '../data/index.js';
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
  /** Install SIGINT/SIGTERM handlers that checkpoint and stop cleanly (default true). */
  handleSignals?: boolean;
}

export interface TrainResult { step: number; stoppedBy: 'done' | 'signal' | 'stopAtStep'; lastLoss: number }

export const META_CHECKPOINT = join('checkpoints-meta', 'checkpoint.pth');

/** Scaled batch on the device: data.centered maps [0,1] to [−1,1] (the references' scaler). */
function deviceBatch(b: Batch, device: string, centered: boolean): Tensor {
  return tidy(() => {
    const x = fromHost(b.images, device);
    return centered ? x.mul(2).sub(1) : x;
  });
}

/** The loss and, for high-order DSM, each term (the references log training_loss{,1,2,3}). */
function scalarsOf(r: LossResult, prefix: string, order: number): Record<string, number> {
  const out: Record<string, number> = { [prefix]: r.loss.item() };
  if (order > 1) for (const [k, v] of Object.entries(r.terms)) out[`${prefix}${k.slice(4)}`] = (v as Tensor).item();
  return out;
}

export class Trainer {
  readonly device: string;
  readonly state: TrainingState;
  private readonly lossFn: LossFn;
  private readonly evalLossFn: LossFn;
  private readonly lossGen: Generator;
  private readonly evalGen: Generator;
  private readonly loaders: { train: DataLoader; eval: DataLoader };
  private stopRequested = false;
  /** Where metrics go; settable after construction (e.g. once the resume step is known). */
  logger?: TrainLogger;

  constructor(readonly config: ResolvedConfig, readonly workdir: string, private readonly opts: TrainOptions = {}) {
    this.device = resolveDevice(config.device);
    const model = new ScoreModel(config, { seed: config.seed, device: this.device });
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
  }

  private extras(): CheckpointExtras {
    return {
      json: { data: { train: this.loaders.train.getState(), eval: this.loaders.eval.getState() }, config: this.config },
      blobs: { loss_rng: this.lossGen.getState(), eval_rng: this.evalGen.getState() },
    };
  }

  private metaPath(): string { return join(this.workdir, META_CHECKPOINT); }

  /** Resumes from the pre-emption checkpoint when one exists; returns whether it did. */
  resume(): boolean {
    if (!existsSync(this.metaPath())) return false;
    const extras = restoreCheckpoint(this.metaPath(), this.state);
    if (extras) {
      const data = extras.json.data as { train: { seed: number; batch: number }; eval: { seed: number; batch: number } };
      this.loaders.train.setState(data.train);
      this.loaders.eval.setState(data.eval);
      this.lossGen.setState(extras.blobs.loss_rng!);
      this.evalGen.setState(extras.blobs.eval_rng!);
    }
    return true;
  }

  saveMeta(): void { saveCheckpoint(this.metaPath(), this.state, this.extras()); }

  private saveSnapshot(): void {
    const { snapshot_freq, snapshot_sampling } = this.config.training;
    const id = Math.floor(this.state.step / snapshot_freq);
    saveCheckpoint(join(this.workdir, 'checkpoints', `checkpoint_${id}.pth`), this.state, this.extras());
    if (snapshot_sampling) {
      const image = this.logger?.image?.bind(this.logger);
      snapshotSamples(this.state.model, this.state.ema, this.config, this.state.step, this.workdir, { image });
    }
  }

  /** Requests a clean stop after the current step (a pre-emption checkpoint is written). */
  requestStop(): void { this.stopRequested = true; }

  private async trainStep(batch: Batch): Promise<Record<string, number>> {
    const { model, optimizer, ema } = this.state;
    const c = this.config;
    if (c.model.dropout > 0) model.setDropoutSeed(c.seed * 1_000_003 + this.state.step); // resumable dropout
    const r = tidy(() => this.lossFn(model, deviceBatch(batch, this.device, c.data.centered), { generator: this.lossGen }));
    try {
      const s = scalarsOf(r, 'training_loss', c.training.score_matching_order);
      if (!Number.isFinite(s.training_loss!)) {
        throw new ScoreflowError('ERR_NUMERIC', `training loss is ${s.training_loss} at step ${this.state.step}: stopping ` +
          'without writing a checkpoint (the last good one is kept). Lower optim.lr or check the data.');
      }
      // The backward pass runs on libuv's pool, so the data loader prepares the next batch meanwhile.
      await backwardAsync(r.loss);
      const info = optimizer.step(this.state.step);
      s.lr = info.lr;
      s.grad_norm = info.gradNorm.item();
      info.gradNorm.dispose();
      optimizer.zeroGrad();
      ema.update(model.parameters());
      this.state.step += 1;
      return s;
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
    mkdirSync(join(this.workdir, 'checkpoints'), { recursive: true });
    writeFileSync(join(this.workdir, 'config.json'), JSON.stringify(this.config, null, 2));
    const logger = this.logger;
    const onSignal = () => this.requestStop();
    if (this.opts.handleSignals ?? true) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }
    let last: Record<string, number> = {};
    let stoppedBy: TrainResult['stoppedBy'] = 'done';
    let t0 = performance.now();
    let s0 = this.state.step;
    const stream = this.loaders.train[Symbol.asyncIterator]();
    try {
      while (this.state.step < c.n_iters) {
        const { value: batch, done } = await stream.next();
        if (done) throw new ScoreflowError('ERR_DATA', 'the training data stream ended unexpectedly');
        last = await this.trainStep(batch);
        const step = this.state.step;
        logger?.tick?.(step, c.n_iters);
        if (step % c.log_freq === 0) {
          const secs = (performance.now() - t0) / 1000;
          const rate = (step - s0) / Math.max(secs, 1e-9);
          logger?.log(step, { ...last, steps_per_sec: rate, images_per_sec: rate * c.batch_size });
          t0 = performance.now();
          s0 = step;
        }
        if (step % c.eval_freq === 0) logger?.log(step, await this.evalStep());
        if (step % c.snapshot_freq_for_preemption === 0) this.saveMeta();
        if (step % c.snapshot_freq === 0 || step === c.n_iters) this.saveSnapshot();
        if (this.stopRequested) { stoppedBy = 'signal'; break; }
        if (this.opts.stopAtStep !== undefined && step >= this.opts.stopAtStep) { stoppedBy = 'stopAtStep'; break; }
      }
      this.saveMeta();
    } finally {
      await stream.return?.();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      logger?.close?.();
    }
    return { step: this.state.step, stoppedBy, lastLoss: last.training_loss ?? NaN };
  }

  dispose(): void {
    this.state.ema.dispose();
    this.state.optimizer.dispose();
    this.state.model.dispose();
  }
}
