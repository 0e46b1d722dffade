/**
 * `train_deq` of score_flow (run_lib.train_deq, spec §8): a Flow++ dequantizer trained against a frozen
 * score model (the EMA weights of `<workdir>/checkpoints/checkpoint_<eval.ckpt_id>.pth`) on data without
 * uniform dequantization. Data-dependent init on the first training batch, config.optim's Adam, warm-up and
 * clipping, EMA deq.ema_rate (constant, jax convention), deq.n_iters steps at the training.* frequencies;
 * the logs keep the reference's running EMAs of train (0.99) and eval (0.9) bits/dim. Everything goes
 * under `<workdir>/flowpp_dequantizer`: resume points in checkpoints-meta/ (the same ResumePoints, rotation,
 * divergence handling and config checks as `train`), snapshots checkpoints/checkpoint_<step // snapshot_freq>.pth.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedConfig } from '../config/index.js';
import type { ScoreModel } from '../model/score-model.js';
import { Ema } from '../model/ema.js';
import { Optimizer } from '../train/optimizer.js';
import { applyCheckpoint, captureCheckpoint, serializeCheckpoint, type TrainingState, type CheckpointExtras } from '../train/checkpoint.js';
import { ResumePoints } from '../train/resume-points.js';
import { assertFiniteState, DivergenceError } from '../train/divergence.js';
import { StepHealth } from '../train/step-health.js';
import { writeFileAtomic } from '../train/atomic.js';
import type { TrainLogger, TrainResult } from '../train/trainer.js';
import { resumeFrom, type ResumeInfo } from '../train/resume.js';
import { makeDirs } from '../workdir/make-dirs.js';
import { loadEvalModel } from '../eval/checkpoint.js';
import { sdeFromConfig, getScoreFn, importanceSampler, type Sde, type ScoreFn, type ImportanceSampler } from '../sde/index.js';
import { trainingLoaders, type DataLoader, type ImageDataset, type LoaderState } from '../data/index.js';
import { fromHost, type Tensor } from '../tensor.js';
import { generator, randn, type Generator } from '../random.js';
import { backwardAsync, noGrad } from '../autograd.js';
import { dispose, tidy } from '../scope.js';
import { resolveDevice } from '../device.js';
import { ScoreflowError } from '../errors.js';
import { FlowppDequantizer } from './flowpp.js';
import { flowppConfigFor } from './config.js';
import { dequantizationObjective, type DeqObjective } from './objective.js';

/** score_flow's folder for the dequantizer, inside the score model's workdir. */
export const DEQ_DIR = 'flowpp_dequantizer';

export interface DeqTrainOptions {
  logger?: TrainLogger;
  stopAtStep?: number;
  datasets?: { train: ImageDataset; test: ImageDataset };
  allowChanges?: readonly string[];
}

/** The score checkpoint train_deq uses; a clear error when it is not there. */
export function scoreCheckpointPath(config: ResolvedConfig, workdir: string): string {
  const path = join(workdir, 'checkpoints', `checkpoint_${config.eval.ckpt_id}.pth`);
  if (!existsSync(path)) {
    throw new ScoreflowError('ERR_CONFIG', `train-deq needs a trained score model: ${path} does not exist. Train one with ` +
      '`scoreflow train` into this workdir, or name another snapshot with --config.eval.ckpt_id=<N>.');
  }
  return path;
}

const DATA_FIELDS = ['dataset', 'image_size', 'num_channels', 'centered'] as const;

/** Refuses a config whose data differs from the score model's run (its workdir config.json). */
export function checkSameData(config: ResolvedConfig, workdir: string): void {
  const path = join(workdir, 'config.json');
  if (!existsSync(path)) return;
  let saved: { data?: Record<string, unknown> };
  try { saved = JSON.parse(readFileSync(path, 'utf8')) as typeof saved; } catch { return; }
  const diff = DATA_FIELDS.filter((k) => saved.data?.[k] !== undefined && saved.data[k] !== config.data[k])
    .map((k) => `data.${k}: score model ${JSON.stringify(saved.data![k])}, this config ${JSON.stringify(config.data[k])}`);
  if (diff.length) {
    throw new ScoreflowError('ERR_CONFIG', `the config's data does not match the score model's (${path}): ${diff.join('; ')}`);
  }
}

interface Scalars { tensors: Record<string, Tensor>; lr: number }

export class DeqTrainer {
  readonly device: string;
  readonly deqDir: string;
  readonly state: TrainingState<FlowppDequantizer>;
  readonly resumePoints: ResumePoints;
  readonly scoreStep: number;
  logger?: TrainLogger;
  private readonly score: ScoreModel;
  private readonly scoreFn: ScoreFn;
  private readonly sde: Sde;
  private readonly sampler: ImportanceSampler;
  private readonly gen: Generator;
  private readonly evalGen: Generator;
  private readonly loaders: { train: DataLoader; eval: DataLoader };
  private readonly health = new StepHealth();
  private emaTrainBpd = 0;
  private emaEvalBpd = 0;
  private initialized = false;
  private stopRequested = false;

  constructor(readonly config: ResolvedConfig, readonly workdir: string, private readonly opts: DeqTrainOptions = {}) {
    this.device = resolveDevice(config.device);
    checkSameData(config, workdir);
    const loaded = loadEvalModel(config, scoreCheckpointPath(config, workdir), this.device);
    this.score = loaded.model;
    this.scoreStep = loaded.step;
    for (const p of this.score.parameters()) p.requiresGrad_(false); // frozen: only the input gradient flows
    this.sde = sdeFromConfig(config);
    this.scoreFn = getScoreFn(this.sde, this.score, { continuous: true, train: false });
    this.sampler = importanceSampler(this.sde, config.training.smallest_time);
    this.deqDir = join(workdir, DEQ_DIR);
    const deq = new FlowppDequantizer(flowppConfigFor(config), { seed: config.seed, device: this.device });
    const params = deq.parameters();
    this.state = { step: 0, model: deq, ema: new Ema(params, config.deq.ema_rate, 'jax'), optimizer: new Optimizer(params, config.optim) };
    this.gen = generator(config.seed);
    this.evalGen = generator(config.seed + 1);
    // The reference trains and evaluates on data without uniform dequantization.
    const loaderConfig = { ...config, data: { ...config.data, uniform_dequantization: false } };
    this.loaders = trainingLoaders(loaderConfig, { train: opts.datasets?.train, test: opts.datasets?.test });
    this.logger = opts.logger;
    this.resumePoints = new ResumePoints(join(this.deqDir, 'checkpoints-meta'));
  }

  private trainStreamState: LoaderState | undefined;

  private extras(): CheckpointExtras {
    return {
      json: {
        data: { train: this.trainStreamState ?? this.loaders.train.getState(), eval: this.loaders.eval.getState() },
        config: this.config, ema_train_bpd: this.emaTrainBpd, ema_eval_bpd: this.emaEvalBpd,
      },
      blobs: { loss_rng: this.gen.getState(), eval_rng: this.evalGen.getState() },
    };
  }

  resume(): ResumeInfo | undefined {
    const info = resumeFrom(this.resumePoints, {
      config: this.config, savedConfig: () => this.config, allowChanges: this.opts.allowChanges ?? [],
      apply: (loaded) => {
        applyCheckpoint(loaded.checkpoint, this.state);
        const extras = loaded.extras;
        if (extras) {
          const data = extras.json.data as { train: LoaderState; eval: LoaderState };
          this.loaders.train.setState(data.train);
          this.loaders.eval.setState(data.eval);
          this.gen.setState(extras.blobs.loss_rng!);
          this.evalGen.setState(extras.blobs.eval_rng!);
          this.emaTrainBpd = Number(extras.json.ema_train_bpd ?? 0);
          this.emaEvalBpd = Number(extras.json.ema_eval_bpd ?? 0);
        }
        return this.state.step;
      },
    });
    if (info) this.initialized = true;
    return info;
  }

  requestStop(): void { this.stopRequested = true; }

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
    const id = Math.floor(this.state.step / this.config.training.snapshot_freq);
    writeFileAtomic(join(this.deqDir, 'checkpoints', `checkpoint_${id}.pth`), this.encodeState());
  }

  private diverged(e: DivergenceError): ScoreflowError {
    const where = this.resumePoints.setAside(e.step);
    return new ScoreflowError('ERR_NUMERIC', `dequantizer training diverged: ${e.what} at step ${e.step}. ${where} ` +
      `Lower optim.lr (now ${this.config.optim.lr}) or set optim.grad_clip.`, { cause: e });
  }

  private batch(images: Parameters<typeof fromHost>[0]): Tensor { return fromHost(images, this.device); }

  private objective(x01: Tensor, gen: Generator): DeqObjective {
    const c = this.config;
    return dequantizationObjective(this.sde, this.scoreFn, this.sampler, x01, (eps, x) => this.state.model.forward(eps, x), {
      eps: c.training.smallest_time, offset: c.deq.offset, centered: c.data.centered, generator: gen,
    });
  }

  /** The reference's data-dependent init on the first training batch (eps drawn from the training stream). */
  private async initialize(): Promise<void> {
    const b = await this.loaders.train.next();
    if (!b) throw new ScoreflowError('ERR_DATA', 'the training data stream is empty');
    const deq = this.state.model;
    tidy(() => {
      const x = this.batch(b.images);
      deq.initialize(randn(x.shape, { dtype: x.dtype, device: x.device, generator: this.gen }), x);
    });
    this.state.ema.load(deq.parameters(), 0); // params_ema starts at the initialised parameters
    this.initialized = true;
  }

  private async trainStep(x: Tensor): Promise<Scalars> {
    const { model, optimizer, ema } = this.state;
    let r: DeqObjective;
    try {
      r = tidy(() => this.objective(x, this.gen));
    } finally {
      x.dispose();
    }
    try {
      await backwardAsync(r.loss);
      const { lr, gradNorm } = optimizer.step(this.state.step);
      this.health.note(this.state.step, r.loss, gradNorm);
      optimizer.zeroGrad();
      ema.update(model.parameters());
      this.state.step += 1;
      return { tensors: { training_loss: r.loss.detach(), training_bpd: r.bpd.detach(), grad_norm: gradNorm }, lr };
    } finally {
      dispose(r);
    }
  }

  private async evalStep(): Promise<Record<string, number>> {
    const { model, ema } = this.state;
    const b = await this.loaders.eval.next();
    if (!b) return {};
    const params = model.parameters();
    ema.store(params);
    try {
      const { loss, bpd } = tidy(() => {
        const r = noGrad(() => this.objective(this.batch(b.images), this.evalGen));
        return { loss: r.loss.item(), bpd: r.bpd.item() };
      });
      this.emaEvalBpd = 0.9 * this.emaEvalBpd + 0.1 * bpd;
      return { eval_loss: loss, eval_bpd: bpd, ema_eval_bpd: this.emaEvalBpd };
    } finally {
      ema.restore(params);
    }
  }

  async run(): Promise<TrainResult> {
    const c = this.config.training;
    const total = this.config.deq.n_iters;
    makeDirs(join(this.deqDir, 'checkpoints'));
    writeFileAtomic(join(this.deqDir, 'config.json'), new TextEncoder().encode(JSON.stringify(this.config, null, 2)));
    const logger = this.logger;
    let last: Scalars | undefined;
    let lastLoss = NaN;
    const wanted = () => this.state.step < total && !this.stopRequested &&
      (this.opts.stopAtStep === undefined || this.state.step < this.opts.stopAtStep);
    try {
      if (!this.initialized && wanted()) await this.initialize();
      while (wanted()) {
        const b = await this.loaders.train.next();
        if (!b) throw new ScoreflowError('ERR_DATA', 'the training data stream ended unexpectedly');
        this.trainStreamState = this.loaders.train.getState();
        dispose(last?.tensors);
        last = await this.trainStep(this.batch(b.images));
        const step = this.state.step;
        logger?.tick?.(step, total);
        if (step % c.log_freq === 0) {
          this.health.check();
          const s: Record<string, number> = { lr: last.lr };
          for (const [k, t] of Object.entries(last.tensors)) s[k] = t.item();
          this.emaTrainBpd = 0.99 * this.emaTrainBpd + 0.01 * s.training_bpd!;
          lastLoss = s.training_loss!;
          logger?.log(step, { ...s, ema_bpd: this.emaTrainBpd });
        }
        if (step % c.eval_freq === 0) logger?.log(step, await this.evalStep());
        if (step % c.snapshot_freq_for_preemption === 0) this.saveMeta();
        if (step % c.snapshot_freq === 0 || step === total) this.saveSnapshot();
      }
      if (last) lastLoss = last.tensors.training_loss!.item();
      this.saveMeta();
    } catch (e) {
      throw e instanceof DivergenceError ? this.diverged(e) : e;
    } finally {
      dispose(last?.tensors);
      logger?.close?.();
    }
    const stoppedBy: TrainResult['stoppedBy'] = this.stopRequested ? 'stop' : this.state.step < total ? 'stopAtStep' : 'done';
    return { step: this.state.step, stoppedBy, lastLoss };
  }

  dispose(): void {
    this.health.dispose();
    this.state.ema.dispose();
    this.state.optimizer.dispose();
    this.state.model.dispose();
    this.score.dispose();
  }
}
