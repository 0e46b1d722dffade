/**
 * GPU rows of `npm run bench` (issue 9): when a CUDA device is usable (or with --device cpu, a dry run of
 * every code path at tiny sizes), times on that device
 *  - the cifar10 DDPM++ training step (likelihood weighting + importance sampling, Adam, EMA) at batch 128,
 *    fp32 (TF32 as training.allow_tf32 says) and bf16 (autocast, training.precision = 'bf16'): median of
 *    --repeats after --warmup steps, cuda.synchronize() around each timing; peak device memory per row;
 *    model-FLOP utilisation = FLOPs per step / time / the GPU's dense peak, where FLOPs per step is 3 x the
 *    forward's multiply-add FLOPs counted by countFlops (src/profile.ts; backward ~ 2 x forward);
 *  - likelihood throughput (images/s, NFE/image) of the probability-flow ODE (RK45, float64 state, fixed
 *    Rademacher probe) on the golden a_ddpmpp model (as scripts/bench/likelihood.ts) at 16 and 128 images
 *    (the four reference images tiled);
 * next to score_sde_pytorch on the same device when --reference PATH is given (scripts/bench/reference_gpu.py).
 * Writes bench/results/gpu-<date>.json (rows, command line, GPU name, torch version) and prints a table.
 * Without CUDA and without --device it prints one line and returns.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadConfig, configFromObject, type Config, type DeepReadonly } from '../../src/config/index.js';
import { ScoreModel } from '../../src/model/score-model.js';
import { sdeFromConfig, getScoreFn } from '../../src/sde/index.js';
import { odeLikelihood, registerProbe } from '../../src/likelihood/index.js';
import { readNpzFile } from '../../src/formats/npz.js';
import { loadTorchFile, asStateDict } from '../../src/formats/torch-load.js';
import { fromHost, type Tensor } from '../../src/tensor.js';
import { generator, rand } from '../../src/random.js';
import { noGrad } from '../../src/autograd.js';
import { tidy } from '../../src/scope.js';
import { buildInfo, cuda } from '../../src/device.js';
import { supportsPrecision, tf32State } from '../../src/precision.js';
import { countFlops, cudaMemoryStats, cudaResetPeak } from '../../src/profile.js';
import { benchTrainStep } from './train-step.js';

export interface GpuBenchArgs {
  /** 'cuda' / 'cuda:N' (default: cuda:0 when available), or 'cpu' for a dry run. */
  device?: string;
  /** Tiny sizes (batch 2, 2 and 4 likelihood images, loose ODE tolerance): a dry run of the code paths. */
  tiny?: boolean;
  reference?: string;
  python?: string;
  repeats?: number;
  warmup?: number;
  batch?: number;
  likelihoodBatches?: number[];
  config?: string;
  /** Where the JSON goes (default bench/results/gpu-<date>.json; '' writes none). */
  out?: string;
  /** The command line recorded in the JSON (default process.argv). */
  argv?: string[];
  /** Which training-step precisions to run (default both). */
  precisions?: ('fp32' | 'bf16')[];
}

export interface GpuRow {
  measure: string;
  precision?: string;
  batch?: number;
  seconds?: number;
  imagesPerSecond?: number;
  nfePerImage?: number;
  flopsPerStep?: number;
  tflops?: number;
  mfu?: number;
  peakBytes?: number;
  status?: string;
  reference?: { seconds?: number; imagesPerSecond?: number; nfePerImage?: number; peakBytes?: number; status?: string };
}

/** Dense peaks (TFLOP/s) by GPU name (no sparsity): bf16 tensor cores, TF32 tensor cores, plain fp32. */
const PEAKS: [RegExp, { name: string; bf16: number; tf32: number; fp32: number }][] = [
  [/H200|H100.*(SXM|HBM3)|GH200/i, { name: 'H100/H200 SXM', bf16: 989, tf32: 494.5, fp32: 66.9 }],
  [/H100.*PCIe|H100(?!.*NVL)/i, { name: 'H100 PCIe', bf16: 756, tf32: 378, fp32: 51.2 }],
  [/A100/i, { name: 'A100', bf16: 312, tf32: 156, fp32: 19.5 }],
  [/L40S/i, { name: 'L40S', bf16: 362, tf32: 183, fp32: 91.6 }],
  [/A10G?\b/i, { name: 'A10', bf16: 125, tf32: 62.5, fp32: 31.2 }],
];
export function peakFor(gpuName: string): { name: string; bf16: number; tf32: number; fp32: number } | undefined {
  return PEAKS.find(([re]) => re.test(gpuName))?.[1];
}

const isCuda = (d: string) => d === 'cuda' || d.startsWith('cuda:');
const cudaIndex = (d: string) => (d.includes(':') ? Number(d.split(':')[1]) : 0);

function gpuName(device: string, python: string): string {
  if (!isCuda(device)) return 'cpu (dry run)';
  // libtorch has no device-name query in its C++ API; nvidia-smi is there wherever the driver is.
  const r = spawnSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader', `--id=${cudaIndex(device)}`], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.trim()) return r.stdout.trim().split('\n')[0]!;
  const p = spawnSync(python, ['-c', `import torch; print(torch.cuda.get_device_name(${cudaIndex(device)}))`], { encoding: 'utf8' });
  return p.status === 0 && p.stdout.trim() ? p.stdout.trim() : 'unknown CUDA device';
}

export function benchGpu(a: GpuBenchArgs = {}): GpuRow[] | undefined {
  const hasCuda = buildInfo().cuda && cuda.isAvailable();
  if (!a.device && !hasCuda) {
    console.log('\nGPU rows: skipped (no CUDA device)');
    return undefined;
  }
  const device = a.device ?? 'cuda:0';
  if (isCuda(device) && !hasCuda) throw new Error(`GPU rows: --device ${device} but ${buildInfo().cuda ? 'no CUDA device is usable' : 'the addon is a CPU-only build'}`);
  const tiny = a.tiny ?? false;
  const python = a.python ?? '/usr/bin/python3';
  const repeats = a.repeats ?? (tiny ? 2 : 10);
  const warmup = a.warmup ?? (tiny ? 1 : 3);
  const B = a.batch ?? (tiny ? 2 : 128);
  const likeBatches = a.likelihoodBatches ?? (tiny ? [2, 4] : [16, 128]);
  const configName = a.config ?? 'score_sde_pytorch/vp/cifar10_ddpmpp_continuous';
  const sync = () => { if (isCuda(device)) cuda.synchronize(cudaIndex(device)); };
  const resetPeak = () => { if (isCuda(device)) { sync(); cudaResetPeak(device); } };
  const peak = () => (isCuda(device) ? (sync(), cudaMemoryStats(device).peakAllocated) : undefined);
  const time = (fn: () => void): number => {
    for (let i = 0; i < warmup; i++) fn();
    const ts: number[] = [];
    for (let i = 0; i < repeats; i++) {
      sync();
      const t0 = performance.now();
      fn();
      sync();
      ts.push((performance.now() - t0) / 1000);
    }
    return ts.sort((x, y) => x - y)[Math.floor(ts.length / 2)]!;
  };

  const name = gpuName(device, python);
  const peaks = isCuda(device) ? peakFor(name) : undefined;
  const rows: GpuRow[] = [];

  // --- training step, fp32 and bf16 ---
  const overrides = ['training.likelihood_weighting=true', 'training.importance_weighting=true', 'model.dropout=0'];
  if (tiny) overrides.push('model.nf=16', 'model.num_res_blocks=1', 'data.image_size=16');
  const base = loadConfig(configName, overrides);
  const precisions = a.precisions ?? ['fp32', 'bf16'];
  const stepConfig = (p: 'fp32' | 'bf16') => loadConfig(configName, [...overrides, `training.precision=${p}`]);
  let fwdFlops: { total: number; byOp: Record<string, number> } | undefined;
  for (const p of precisions) {
    const row: GpuRow = { measure: 'train_step', precision: p, batch: B };
    rows.push(row);
    if (!supportsPrecision(p, device)) { row.status = `unavailable (${p} cannot run on ${device})`; continue; }
    let config: DeepReadonly<Config>;
    try { config = stepConfig(p); } catch (e) { row.status = `unavailable (${(e as Error).message.split('\n')[0]})`; continue; }
    const model = new ScoreModel(config, { seed: 0, device, stage: 'training' });
    const gen = generator(0, isCuda(device) ? device : 'cpu');
    const C = config.data.num_channels, H = config.data.image_size;
    const x = rand([B, C, H, H], { generator: gen, device }).mul(2).sub(1).keep();
    const labels = rand([B], { generator: gen, device }).mul(999).keep();
    const { step: trainStep } = benchTrainStep(config, model, x, gen);
    // Forward FLOPs of the same network at the same batch (counted once, fp32: autocast changes no count).
    fwdFlops ??= countFlops(() => tidy(() => noGrad(() => { model.train().forward(x, labels); })));
    resetPeak();
    row.seconds = time(trainStep);
    row.peakBytes = peak();
    row.flopsPerStep = 3 * fwdFlops.total;
    row.tflops = row.flopsPerStep / row.seconds / 1e12;
    if (peaks) {
      const tf32 = tf32State();
      const pk = p === 'bf16' ? peaks.bf16 : tf32.cudnn || tf32.cublas ? peaks.tf32 : peaks.fp32;
      row.mfu = row.tflops / pk;
    }
    x.dispose(); labels.dispose();
    model.dispose();
  }

  // --- likelihood throughput ---
  const fix = new URL('../../test/data/reference/', import.meta.url).pathname;
  const inputsPath = new URL('../../test/data/eval/reference_inputs.npz', import.meta.url).pathname;
  const tol = tiny ? 1e-2 : Number(process.env.SCOREFLOW_BENCH_LIKELIHOOD_TOL ?? 1e-5);
  const eps = Number(process.env.SCOREFLOW_BENCH_LIKELIHOOD_EPS ?? 1e-5);
  let meta: { config: { model: object; data: object } } | undefined;
  if (!existsSync(fix + 'a_ddpmpp.pth')) {
    for (const n of likeBatches) rows.push({ measure: 'likelihood', batch: n, status: `skipped (no golden model at ${fix}a_ddpmpp.pth)` });
  } else {
    meta = JSON.parse(readFileSync(fix + 'a_ddpmpp.json', 'utf8'));
    const config = configFromObject({ model: meta!.config.model, data: meta!.config.data, training: { sde: 'vpsde', continuous: true } });
    const model = new ScoreModel(config, { seed: 0, device, stage: 'eval' });
    model.loadStateDict(asStateDict(loadTorchFile(fix + 'a_ddpmpp.pth')));
    model.eval();
    const io = readNpzFile(inputsPath);
    const images = io.get('images')!, probe = io.get('probe')!;
    const n0 = images.shape[0]!, per = images.data.length / n0;
    for (const n of likeBatches) {
      const shape = [n, ...images.shape.slice(1)];
      const data = new Float32Array(n * per), pr = new Float32Array(n * per);
      const u8 = images.data as Uint8Array, p8 = probe.data as Int8Array;
      for (let i = 0; i < n * per; i++) {
        const j = i % (n0 * per);
        data[i] = ((u8[j]! + 0.5) / 256) * 2 - 1;
        pr[i] = p8[j]!;
      }
      registerProbe('bench-gpu-fixed', (s, o) => fromHost({ dtype: 'float32', shape: s, data: pr }).to(o.device, o.dtype));
      resetPeak();
      sync();
      const t0 = performance.now();
      const nfe = tidy(() => {
        const sde = sdeFromConfig(config);
        const x = fromHost({ dtype: 'float32', shape, data }, device);
        const r = odeLikelihood(getScoreFn(sde, model, { continuous: true }), sde, x, {
          eps, rtol: tol, atol: tol, hutchinson: 'bench-gpu-fixed', generator: generator(0), offset: 'centered',
        });
        r.bpd.toArray(); // waits for the device
        return r.nfe;
      });
      sync();
      const seconds = (performance.now() - t0) / 1000;
      rows.push({ measure: 'likelihood', batch: n, seconds, imagesPerSecond: n / seconds, nfePerImage: nfe, peakBytes: peak() });
    }
    model.dispose();
  }

  // --- the PyTorch reference on the same device ---
  if (a.reference) {
    const job = {
      reference: a.reference, device, repeats, warmup, batch: B, threads: 2,
      train: precisions.map((p) => ({ precision: p, config: stepConfig(p) })),
      likelihood: meta ? { config: meta.config, weights: fix + 'a_ddpmpp.pth', inputs: inputsPath, eps, tol, batches: likeBatches } : undefined,
    };
    const r = spawnSync(python, [new URL('./reference_gpu.py', import.meta.url).pathname], { input: JSON.stringify(job), encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) {
      for (const row of rows) row.reference = { status: `failed: ${(r.stderr || '').trim().split('\n').pop()}` };
    } else {
      const ref = JSON.parse(r.stdout.trim().split('\n').pop()!) as { train: Record<string, GpuRow['reference']>; likelihood: Record<string, GpuRow['reference']> };
      for (const row of rows) {
        row.reference = row.measure === 'train_step' ? ref.train[row.precision!] : ref.likelihood?.[String(row.batch)];
      }
    }
  }

  // --- report ---
  const torchVersion = buildInfo().torchVersion;
  const mib = (b?: number) => (b === undefined ? 'n/a' : `${(b / 2 ** 20).toFixed(0)} MiB`);
  console.log(`\nGPU rows: ${name} (${device}${tiny ? ', tiny dry run' : ''}), libtorch ${torchVersion}; ${configName} training step at batch ${B}` +
    `, median of ${repeats} after ${warmup} warm-up`);
  if (fwdFlops) {
    console.log(`FLOPs/step = 3 x forward (${(fwdFlops.total / 1e9).toFixed(2)} GFLOP counted: ` +
      Object.entries(fwdFlops.byOp).map(([k, v]) => `${k.replace('aten::', '')} ${(100 * v / fwdFlops!.total).toFixed(1)}%`).join(', ') +
      `); MFU against ${peaks ? `${peaks.name} dense peaks (bf16 ${peaks.bf16}, tf32 ${peaks.tf32}, fp32 ${peaks.fp32} TFLOP/s)` : 'no known peak: omitted'}`);
  }
  console.log('measure              prec  batch  scoreflow               TFLOP/s  MFU     peak mem    reference              ratio (ref/ours time)');
  for (const r of rows) {
    const ours = r.status ?? (r.measure === 'train_step' ? `${(r.seconds! * 1000).toFixed(1)} ms` : `${r.imagesPerSecond!.toFixed(2)} img/s ${r.nfePerImage} NFE`);
    const ref = r.reference;
    const refText = !a.reference ? 'n/a (pass --reference PATH)' : ref?.status ?? (ref ? (r.measure === 'train_step' ? `${(ref.seconds! * 1000).toFixed(1)} ms` : `${ref.imagesPerSecond!.toFixed(2)} img/s ${ref.nfePerImage} NFE`) : 'n/a');
    const ratio = ref?.seconds && r.seconds ? `${(ref.seconds / r.seconds).toFixed(2)}x` : '';
    console.log(r.measure.padEnd(21) + (r.precision ?? 'fp32').padEnd(6) + String(r.batch ?? '').padEnd(7) + ours.padEnd(24) +
      (r.tflops !== undefined ? r.tflops.toPrecision(3) : '').padEnd(9) + (r.mfu !== undefined ? `${(100 * r.mfu).toFixed(1)}%` : '').padEnd(8) +
      mib(r.peakBytes).padEnd(12) + refText.padEnd(23) + ratio);
  }
  const out = a.out ?? join(new URL('../../bench/results/', import.meta.url).pathname, `gpu-${new Date().toISOString().slice(0, 10)}${tiny ? '-dry' : ''}.json`);
  if (out) {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify({
      date: new Date().toISOString(), command: (a.argv ?? process.argv).join(' '), device, gpu: name, torchVersion,
      tf32: tf32State(), tiny, config: configName, repeats, warmup, flopsForward: fwdFlops, peaks, rows,
    }, null, 2) + '\n');
    console.log(`GPU rows written to ${out}`);
  }
  return rows;
}
