/**
 * `scoreflow sample --config <c> --workdir <dir> [--ckpt N | --checkpoint FILE] [--num-samples N]
 *  [--batch-size B] [--out DIR]`: draws samples from the EMA weights of a checkpoint with `config.sampling`
 * (spec §6) and writes them as the references' evaluation does:
 *   <out>/ckpt_<c>/samples_<r>.npz   key `samples`, uint8 NHWC clip(x·255) (np.savez_compressed)
 *   <out>/ckpt_<c>/samples_<r>.png   the round's grid (nrow = ⌊√B⌋, padding 2)
 * with <out> = <workdir>/eval by default and c the checkpoint number (or the file's name).
 *
 * Rounds: ⌈num_samples / B⌉ full batches of B (the references run num_samples // B + 1, which is one
 * more whenever B divides num_samples). Round r draws from its own generator seeded from (config.seed + 1, r),
 * so a round's samples depend only on the seed, the weights and B: runs reproduce, an interrupted run
 * resumes by skipping the rounds whose .npz exists (written last, atomically), and raising --num-samples
 * later only adds rounds.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadConfig, type ResolvedConfig } from '../config/index.js';
import { ScoreModel } from '../model/score-model.js';
import { detectFormat } from '../formats/registry.js';
import { readStateDict } from '../formats/state-dict.js';
import { readInputFile } from '../formats/input-file.js';
import { readNpzFile, writeNpz } from '../formats/npz.js';
import type { HostTensor } from '../host-tensor.js';
import { encodePng, makeGrid } from '../data/png.js';
import { samplesToUint8Nhwc } from '../data/transforms.js';
import { writeFileAtomic } from '../train/atomic.js';
import { Progress, type ProgressStream } from '../train/progress.js';
import { resolveDevice } from '../device.js';
import { generator } from '../random.js';
import { ScoreflowError, checkInt } from '../errors.js';
import { sdeFromConfig } from '../sde/index.js';
import { derivedSeed, sampleImages, sampleShape, stepsPerBatch } from '../sampling/from-config.js';

export interface SampleRunOptions {
  config: ResolvedConfig;
  workdir: string;
  /** Checkpoint number: `<workdir>/checkpoints/checkpoint_<N>.pth` (default eval.ckpt_id). */
  ckpt?: number;
  /** Any checkpoint file instead (training checkpoint, state dict, safetensors, flax State). */
  checkpoint?: string;
  /** Default eval.num_samples. */
  numSamples?: number;
  /** Default eval.batch_size. */
  batchSize?: number;
  /** Default `<workdir>/eval`. */
  out?: string;
  /** Where the progress bar goes (default stderr); false for none. */
  progress?: ProgressStream | false;
  /** Status lines (default console.error). */
  log?: (line: string) => void;
}

export interface SampleRunResult {
  /** `<out>/ckpt_<c>`. */
  dir: string;
  rounds: number;
  written: number[];
  skipped: number[];
  /** Score evaluations per batch of the last round drawn (undefined when every round was skipped). */
  nfe?: number;
  /** What the weights were read from. */
  source: string;
}

/**
 * Loads the EMA weights held by `file` into `model` (strictly: every key, every shape). Training
 * checkpoints (ours or score_sde_pytorch's) give their EMA shadow parameters, flax States `params_ema`,
 * plain state dicts (safetensors, npz, torch) are taken as they are. Returns a description of what was read.
 */
export function loadEmaWeights(model: ScoreModel, file: string): string {
  const bytes = readInputFile(file);
  const own = model.stateDict();
  try {
    const torchKeys = [...own].map(([k, t]) => [k, t.shape] as const);
    const params = new Set(model.namedParameters().map(([n]) => n));
    const buffers = [...own.keys()].filter((k) => !params.has(k));
    let sd: Map<string, HostTensor>;
    let note = '';
    try {
      // Our EMA tracks model.parameters() ...
      sd = readStateDict(bytes, file, { ema: true, torchKeys, bufferKeys: buffers });
    } catch (e) {
      // ... score_sde_pytorch's only the requires_grad ones (not the Fourier projection W).
      if (!own.has(FOURIER_W) || buffers.includes(FOURIER_W)) throw e;
      sd = readStateDict(bytes, file, { ema: true, torchKeys, bufferKeys: [...buffers, FOURIER_W] });
      note = ' (EMA without the Fourier W)';
    }
    const format = detectFormat(bytes, file);
    if (format === 'flax-msgpack') {
      // flax trees hold no buffers: keep the model's own (e.g. the VE `sigmas`).
      for (const k of buffers) if (!sd.has(k)) sd.set(k, own.get(k)!.toHost());
    }
    model.loadStateDict(sd, { strict: true });
    return `${file} (${format}, EMA weights where present${note})`;
  } finally {
    for (const t of own.values()) t.dispose();
  }
}

const FOURIER_W = 'all_modules.0.W';

/** The `c` of `ckpt_<c>` for a checkpoint file: N for `checkpoint_N[.pth]`, else the name without extension. */
export function checkpointLabel(file: string): string {
  const name = basename(file);
  const m = /^checkpoint_(\d+)(\.[A-Za-z0-9]+)?$/.exec(name);
  if (m) return m[1]!;
  return name.replace(/\.[A-Za-z0-9]+$/, '').replace(/[^A-Za-z0-9._-]/g, '_') || 'checkpoint';
}

/** Number of sampling rounds of B for N samples. */
export function samplingRounds(numSamples: number, batchSize: number): number {
  return Math.ceil(checkInt('num_samples', numSamples, 1) / checkInt('batch_size', batchSize, 1));
}

/** Seed of round r (independent of the number of rounds, so runs can be extended). */
export function roundSeed(config: ResolvedConfig, r: number): number {
  return derivedSeed(config.seed + 1, r);
}

/** An existing round's file, if it fits this run (same batch and image shape); throws if it does not. */
function existingRound(path: string, shape: number[]): boolean {
  if (!existsSync(path)) return false;
  let t: HostTensor | undefined;
  try {
    t = readNpzFile(path).get('samples');
  } catch (e) {
    throw new ScoreflowError('ERR_FORMAT', `${path} exists but cannot be read (${(e as Error).message}); delete it to redraw that round`);
  }
  if (!t || t.dtype !== 'uint8' || t.shape.join() !== shape.join()) {
    throw new ScoreflowError('ERR_ARG', `${path} holds ${t ? `${t.dtype} [${t.shape.join(', ')}]` : 'no `samples` array'}, ` +
      `but this run writes uint8 [${shape.join(', ')}]: use the same --batch-size as before, or another --out`);
  }
  return true;
}

export async function sampleCheckpoint(o: SampleRunOptions): Promise<SampleRunResult> {
  const { config } = o;
  const workdir = resolve(o.workdir);
  const log = o.log ?? ((s: string) => console.error(s));
  const batchSize = checkInt('batch_size', o.batchSize ?? config.eval.batch_size, 1);
  const numSamples = checkInt('num_samples', o.numSamples ?? config.eval.num_samples, 1);
  let file: string;
  let label: string;
  if (o.checkpoint !== undefined) {
    if (o.ckpt !== undefined) throw new ScoreflowError('ERR_ARG', 'give --ckpt or --checkpoint, not both');
    file = resolve(o.checkpoint);
    label = checkpointLabel(file);
  } else {
    const n = checkInt('ckpt', o.ckpt ?? config.eval.ckpt_id, 0);
    file = join(workdir, 'checkpoints', `checkpoint_${n}.pth`);
    label = String(n);
  }
  const dir = join(resolve(o.out ?? join(workdir, 'eval')), `ckpt_${label}`);
  const rounds = samplingRounds(numSamples, batchSize);
  const [B, C, H, W] = sampleShape(config, batchSize);
  const nhwc = [B, H, W, C];
  const npzPath = (r: number) => join(dir, `samples_${r}.npz`);
  const skipped: number[] = [];
  const todo: number[] = [];
  for (let r = 0; r < rounds; r++) (existingRound(npzPath(r), nhwc) ? skipped : todo).push(r);
  const result: SampleRunResult = { dir, rounds, written: [], skipped, source: file };
  if (todo.length === 0) {
    log(`scoreflow sample: all ${rounds} rounds already in ${dir}`);
    return result;
  }

  const device = resolveDevice(config.device);
  const model = new ScoreModel(config, { seed: config.seed, device, stage: 'eval' }); // eval.precision, allow_tf32
  try {
    result.source = loadEmaWeights(model, file);
    mkdirSync(dir, { recursive: true });
    const steps = stepsPerBatch(config, sdeFromConfig(config));
    const m = config.sampling;
    log(`scoreflow sample: ${result.source}\n  ${m.method === 'pc' ? `PC ${m.predictor} + ${m.corrector}${steps ? `, ${steps} steps` : ''}` : 'probability-flow ODE (RK45)'} ` +
      `on ${device}; ${rounds} rounds of ${B} (${todo.length} to draw${skipped.length ? `, ${skipped.length} already done` : ''}) → ${dir}`);
    const progress = o.progress === false ? undefined : new Progress({
      total: steps !== undefined ? steps * todo.length : todo.length, label: steps !== undefined ? 'sample' : 'sample (rounds)', stream: o.progress, intervalMs: 10_000,
      per: { unit: 'img', count: steps !== undefined ? B / steps : B },
    });
    try {
      for (const [k, r] of todo.entries()) {
        const batch = sampleImages(model, config, B, {
          generator: generator(roundSeed(config, r)),
          onProgress: progress && ((i) => progress.tick(steps !== undefined ? 1 : 0, { round: `${k + 1}/${todo.length}`, nfe: i.nfe, t: i.t })),
        });
        if (steps === undefined) progress?.tick(1, { round: `${k + 1}/${todo.length}`, nfe: batch.nfe });
        const u8 = samplesToUint8Nhwc(batch.data, B, C, H, W);
        const grid = makeGrid({ shape: batch.shape, data: batch.data }, Math.max(1, Math.floor(Math.sqrt(B))), 2);
        writeFileAtomic(join(dir, `samples_${r}.png`), encodePng(grid));
        // The .npz is written last: its presence marks the round as done.
        writeFileAtomic(npzPath(r), writeNpz({ samples: { dtype: 'uint8', shape: nhwc, data: u8 } }, { compress: true }));
        result.written.push(r);
        result.nfe = batch.nfe;
      }
    } finally {
      progress?.done();
    }
  } finally {
    model.dispose();
  }
  log(`scoreflow sample: wrote ${result.written.length} rounds (${result.written.length * B} samples, nfe ${result.nfe} per batch) to ${dir}`);
  return result;
}

export async function run(args: Record<string, unknown>, overrides: string[]): Promise<void> {
  const num = (k: string) => (typeof args[k] === 'number' ? args[k] as number : undefined);
  const config = loadConfig(String(args.config), overrides);
  await sampleCheckpoint({
    config,
    workdir: String(args.workdir),
    ckpt: num('ckpt'),
    checkpoint: typeof args.checkpoint === 'string' ? args.checkpoint : undefined,
    numSamples: num('num-samples'),
    batchSize: num('batch-size'),
    out: typeof args.out === 'string' ? args.out : undefined,
  });
}
