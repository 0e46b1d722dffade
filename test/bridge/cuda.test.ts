// The GPU path (issue 9): CUDA results against the CPU ones. Every CUDA test skips, with the reason, when
// cuda.isAvailable() is false; the first test always runs and checks that the addon's build flags and its
// CUDA queries agree.
//
// Env: SCOREFLOW_EXPECT_CUDA=1  the addon must be a CUDA build (scripts/cuda/check, scripts/gpu/run);
//      SCOREFLOW_EXPECT_GPU=1   a GPU must be usable (scripts/gpu/run on a GPU machine: skipping is a failure);
//      SCOREFLOW_CUDA_TEST_DEVICE=cpu  runs the CUDA tests with 'cpu' standing in for the GPU (a dry run of
//                               the tests' own logic on a machine without one).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addon } from '../../src/native.js';
import { buildInfo, cuda } from '../../src/device.js';
import { generator, randn, rand } from '../../src/random.js';
import { ScoreModel } from '../../src/model/score-model.js';
import { loadTorchFile, asStateDict } from '../../src/formats/torch-load.js';
import { saveTorchFile, stateDict } from '../../src/formats/torch-save.js';
import { readNpzFile } from '../../src/formats/npz.js';
import { fromHost, type Tensor } from '../../src/tensor.js';
import { grad, noGrad } from '../../src/autograd.js';
import { tidy } from '../../src/scope.js';
import { configFromObject } from '../../src/config/index.js';
import { sdeFromConfig } from '../../src/sde/index.js';
import { getLossFn } from '../../src/losses/index.js';
import { Optimizer } from '../../src/train/optimizer.js';
import type { HostTensor } from '../../src/host-tensor.js';
import { REFERENCE_FIXTURES } from '../reference-fixtures.js';

const FIX = REFERENCE_FIXTURES;
const native = addon();
const info = buildInfo();
const DRY = process.env.SCOREFLOW_CUDA_TEST_DEVICE === 'cpu';
const GPU = DRY ? 'cpu' : 'cuda:0';
const available = DRY || cuda.isAvailable();
const SKIP = info.cuda
  ? 'cuda.isAvailable() is false: no GPU or NVIDIA driver on this machine'
  : 'the addon is a CPU-only build (buildInfo().cuda === false)';

/** Runs `fn` with TF32 off (cuDNN convolutions use TF32 by default; fp32 comparisons need it off). */
function exactFp32<T>(fn: () => T): T {
  const n = native as typeof native & { setAllowTf32?: (on: boolean) => unknown; tf32State?: () => { cublas: boolean; cudnn: boolean } };
  if (typeof n.setAllowTf32 !== 'function' || typeof n.tf32State !== 'function') return fn();
  const before = n.tf32State();
  n.setAllowTf32(false);
  try {
    return fn();
  } finally {
    n.setAllowTf32(before.cublas || before.cudnn);
  }
}

const maxAbsDiff = (a: Tensor, b: Tensor): number => tidy(() => a.to('cpu').sub(b.to('cpu')).abs().max().item() as number);
const same = (a: Tensor, b: Tensor): boolean => a.shape.join() === b.shape.join() && maxAbsDiff(a, b) === 0;

/** Optimizer.step's gradient norm as a number (a number, or a device tensor the caller disposes). */
function readNorm(v: number | Tensor): number {
  if (typeof v === 'number') return v;
  const n = v.item() as number;
  v.dispose();
  return n;
}

function fixtureModel(device: string): { model: ScoreModel; meta: any } {
  const meta = JSON.parse(readFileSync(FIX + 'a_ddpmpp.json', 'utf8'));
  const config = configFromObject({ model: meta.config.model, data: meta.config.data });
  const model = new ScoreModel(config, { seed: 0 });
  model.loadStateDict(asStateDict(loadTorchFile(FIX + 'a_ddpmpp.pth')));
  if (device !== 'cpu') model.to(device);
  return { model: model.eval(), meta };
}

describe('CUDA build', () => {
  it('buildInfo().cuda agrees with the CUDA queries', () => {
    expect(typeof info.cuda).toBe('boolean');
    if (process.env.SCOREFLOW_EXPECT_CUDA === '1') expect(info.cuda, 'SCOREFLOW_EXPECT_CUDA=1 but the addon is CPU-only').toBe(true);
    const count = cuda.deviceCount();
    expect(Number.isInteger(count) && count >= 0).toBe(true);
    expect(cuda.isAvailable()).toBe(count > 0);
    expect(() => cuda.synchronize()).not.toThrow();
    if (!info.cuda) {
      expect(cuda.isAvailable()).toBe(false);
      expect(() => generator(0, 'cuda')).toThrow(/CUDA/);
    }
    if (!cuda.isAvailable()) {
      expect(() => randn([2], { device: 'cuda' })).toThrow(expect.objectContaining({ code: 'ERR_DEVICE' }));
    }
    if (process.env.SCOREFLOW_EXPECT_GPU === '1') expect(cuda.isAvailable(), 'SCOREFLOW_EXPECT_GPU=1 but no GPU is usable').toBe(true);
  });
});

describe(`CUDA vs CPU${available ? (DRY ? ' (dry run: cpu stands in for cuda)' : '') : ` (skipped: ${SKIP})`}`, () => {
  it('golden forward of a_ddpmpp on the GPU matches the reference and the CPU (fp32, 1e-4)', (ctx) => {
    ctx.skip(!available, SKIP);
    const io = readNpzFile(FIX + 'a_ddpmpp.npz');
    const cpu = fixtureModel('cpu').model;
    const gpu = fixtureModel(GPU).model;
    expect(gpu.device).toBe(DRY ? 'cpu' : 'cuda:0');
    exactFp32(() => tidy(() => {
      const x = fromHost(io.get('x')!), t = fromHost(io.get('t')!);
      const want = fromHost(io.get('out')!);
      const outCpu = noGrad(() => cpu.forward(x, t));
      const outGpu = noGrad(() => gpu.forward(x.to(GPU), t.to(GPU)));
      expect(outGpu.device).toBe(gpu.device);
      expect(outGpu.shape).toEqual(want.shape);
      expect(maxAbsDiff(outGpu, want)).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(outGpu, outCpu)).toBeLessThanOrEqual(1e-4);
    }));
    cpu.dispose();
    gpu.dispose();
  });

  it('input gradient of the golden forward on the GPU matches the CPU (fp32, 1e-4)', (ctx) => {
    ctx.skip(!available, SKIP);
    const io = readNpzFile(FIX + 'a_ddpmpp.npz');
    const cpu = fixtureModel('cpu').model;
    const gpu = fixtureModel(GPU).model;
    exactFp32(() => tidy(() => {
      const w = rand(io.get('x')!.shape as number[], { generator: generator(3) }); // a fixed cotangent
      const inputGrad = (model: ScoreModel, device: string): Tensor => {
        const x = fromHost(io.get('x')!, device).requiresGrad_();
        const out = model.forward(x, fromHost(io.get('t')!, device));
        return grad(out.mul(w.to(device)).sum(), x)[0]!;
      };
      const gCpu = inputGrad(cpu, 'cpu');
      const gGpu = inputGrad(gpu, GPU);
      expect(gGpu.shape).toEqual(gCpu.shape);
      const scale = gCpu.abs().max().item() as number;
      expect(scale).toBeGreaterThan(0);
      expect(maxAbsDiff(gGpu, gCpu)).toBeLessThanOrEqual(1e-4 * Math.max(1, scale));
    }));
    cpu.dispose();
    gpu.dispose();
  });

  it('a CUDA generator is deterministic and getState/setState resumes its stream', (ctx) => {
    ctx.skip(!available, SKIP);
    tidy(() => {
      const g1 = generator(1234, GPU), g2 = generator(1234, GPU);
      expect(g1.device).toBe(DRY ? 'cpu' : 'cuda:0');
      const a = randn([4096], { device: GPU, generator: g1 });
      const b = randn([4096], { device: GPU, generator: g2 });
      expect(a.device).toBe(DRY ? 'cpu' : 'cuda:0');
      expect(same(a, b)).toBe(true);
      const other = randn([4096], { device: GPU, generator: generator(1235, GPU) });
      expect(same(a, other)).toBe(false);

      const state = g1.getState();
      const next = randn([4096], { device: GPU, generator: g1 });
      const more = rand([777], { device: GPU, generator: g1 });
      expect(same(next, a)).toBe(false);
      g1.setState(state);
      expect(same(randn([4096], { device: GPU, generator: g1 }), next)).toBe(true);
      expect(same(rand([777], { device: GPU, generator: g1 }), more)).toBe(true);

      g2.manualSeed(1234);
      expect(same(randn([4096], { device: GPU, generator: g2 }), a)).toBe(true);
      // A CPU generator draws the same numbers whatever device they land on.
      const onGpu = randn([64], { device: GPU, generator: generator(9) });
      const onCpu = randn([64], { generator: generator(9) });
      expect(same(onGpu, onCpu)).toBe(true);
    });
  });

  it('a state dict saved from a GPU model loads on the CPU and gives the same forward', (ctx) => {
    ctx.skip(!available, SKIP);
    const io = readNpzFile(FIX + 'a_ddpmpp.npz');
    const gpu = fixtureModel(GPU).model;
    const dir = mkdtempSync(join(tmpdir(), 'sf-cuda-ckpt-'));
    try {
      const sd = gpu.stateDict();
      const host: [string, HostTensor][] = [...sd].map(([k, t]) => [k, t.toHost()]);
      for (const t of sd.values()) t.dispose();
      saveTorchFile(join(dir, 'gpu.pth'), stateDict(host));
      const meta = JSON.parse(readFileSync(FIX + 'a_ddpmpp.json', 'utf8'));
      const cpu = new ScoreModel(configFromObject({ model: meta.config.model, data: meta.config.data }), { seed: 1 });
      expect(cpu.loadStateDict(asStateDict(loadTorchFile(join(dir, 'gpu.pth'))))).toEqual({ missing: [], unexpected: [], mismatched: [] });
      cpu.eval();
      const ref = fixtureModel('cpu').model;
      exactFp32(() => tidy(() => {
        const x = fromHost(io.get('x')!), t = fromHost(io.get('t')!);
        const out = noGrad(() => cpu.forward(x, t));
        expect(same(out, noGrad(() => ref.forward(x, t)))).toBe(true); // bit-identical weights
        expect(maxAbsDiff(out, noGrad(() => gpu.forward(x.to(GPU), t.to(GPU))))).toBeLessThanOrEqual(1e-4);
      }));
      cpu.dispose();
      ref.dispose();
    } finally {
      gpu.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a training step on the GPU matches the CPU from the same weights and noise', (ctx) => {
    ctx.skip(!available, SKIP);
    const meta = JSON.parse(readFileSync(FIX + 'a_ddpmpp.json', 'utf8'));
    const config = configFromObject({
      model: meta.config.model, data: meta.config.data,
      training: { sde: 'vpsde', continuous: true, reduce_mean: true, likelihood_weighting: false },
      optim: { lr: 2e-4, warmup: 0, grad_clip: 1 },
    });
    const io = readNpzFile(FIX + 'a_ddpmpp.npz');
    const sde = sdeFromConfig(config);
    const lossFn = getLossFn(sde, config.training, { train: true });
    const B = io.get('x')!.shape[0]!;
    const t = rand([B], { generator: generator(5) }).mul(1 - 1e-5).add(1e-5).keep();
    const z = randn(io.get('x')!.shape as number[], { generator: generator(6) }).keep();

    const step = (device: string) => {
      const { model } = fixtureModel(device);
      model.train();
      const opt = new Optimizer(model.parameters(), config.optim);
      const r = exactFp32(() => tidy(() => {
        opt.zeroGrad();
        const res = lossFn(model, fromHost(io.get('x')!, device), { generator: generator(0, device), t: t.to(device), z: z.to(device) });
        res.loss.backward();
        const loss = res.loss.item() as number;
        const grads = model.parameters().map((p) => p.grad!.to('cpu').keep());
        const gradNorm = readNorm(opt.step(0).gradNorm);
        const params = model.namedParameters().map(([n, p]) => [n, p.to('cpu').keep()] as [string, Tensor]);
        return { loss, gradNorm, grads, params };
      }));
      opt.dispose();
      model.dispose();
      return r;
    };
    const a = step('cpu');
    const b = step(GPU);
    try {
      expect(Number.isFinite(a.loss) && a.loss > 0).toBe(true);
      expect(Math.abs(b.loss - a.loss)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(a.loss)));
      expect(Math.abs(b.gradNorm - a.gradNorm)).toBeLessThanOrEqual(1e-3 * Math.max(1, a.gradNorm));
      expect(b.params.map(([n]) => n)).toEqual(a.params.map(([n]) => n));
      // Gradients, tensor by tensor, relative to the largest gradient entry.
      const gmax = Math.max(...a.grads.map((g) => tidy(() => g.abs().max().item() as number)));
      for (let i = 0; i < a.grads.length; i++) {
        expect(maxAbsDiff(a.grads[i]!, b.grads[i]!), a.params[i]![0]).toBeLessThanOrEqual(1e-3 * gmax);
      }
      // Adam's first update moves each weight by ~lr·sign(g): where g is ~0 the sign may differ between devices,
      // so the updated weights are compared on average (a fraction of lr).
      let sum = 0, count = 0;
      for (let i = 0; i < a.params.length; i++) {
        sum += tidy(() => a.params[i]![1].sub(b.params[i]![1]).abs().sum().item() as number);
        count += a.params[i]![1].numel;
      }
      expect(sum / count).toBeLessThanOrEqual(0.05 * config.optim.lr);
    } finally {
      for (const r of [a, b]) { for (const [, p] of r.params) p.dispose(); for (const g of r.grads) g.dispose(); }
      t.dispose();
      z.dispose();
    }
  });
});
