/**
 * Mixed precision and the execution layout of the score network (issue 9, the GPU path).
 *
 * - precision 'bf16': bfloat16 autocast around the network forward only (native/autocast.cc). Weights,
 *   optimiser state, EMA and the loss reduction stay float32 (the network returns float32), the ODE
 *   state keeps its own dtype (float64 by default), and backward needs no autocast: the casts are in the
 *   forward graph, so gradients of the float32 parameters come back float32. Device-aware: CPU autocast,
 *   or CUDA autocast on GPUs of compute capability >= 8.0; elsewhere an ERR_DEVICE error says why.
 * - TF32 (cuBLAS matmuls and cuDNN convolutions): a process-wide switch, applied only for CUDA devices.
 * - channels-last: NHWC convolutions; 'auto' turns it on for CUDA, and for bf16 on the CPU (see
 *   resolveChannelsLast for the measurements).
 *
 * Config: training.precision, eval.precision ('fp32' | 'bf16'), training.allow_tf32, eval.allow_tf32,
 * model.channels_last ('auto' | true | false). `executionPolicy(config, stage, device)` resolves them.
 */
import { addon, type Device, type NativeForwardOptions } from './native.js';
import { argError } from './errors.js';
import { isCuda } from './device.js';
import type { Config, DeepReadonly, PrecisionName, ChannelsLastSetting } from './config/index.js';

export type Precision = PrecisionName;
export const PRECISIONS: readonly Precision[] = ['fp32', 'bf16'];
/** Which config section an execution policy comes from. */
export type Stage = 'training' | 'eval';

export const isPrecision = (v: unknown): v is Precision => typeof v === 'string' && (PRECISIONS as readonly string[]).includes(v);

function precisionArg(p: unknown): Precision {
  if (!isPrecision(p)) argError('precision', `one of ${PRECISIONS.map((x) => `'${x}'`).join(', ')}`, p);
  return p;
}

/** Throws ERR_DEVICE with the reason when `precision` cannot run on `device` (ERR_ARG for unknown names). */
export function checkPrecision(precision: Precision, device: Device): void {
  if (precisionArg(precision) !== 'fp32') addon().checkPrecision(precision, device);
}

/** Whether `precision` can run on `device` (checkPrecision without the error). */
export function supportsPrecision(precision: Precision, device: Device): boolean {
  try {
    checkPrecision(precision, device);
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_DEVICE') return false;
    throw e;
  }
}

/**
 * Runs `fn` with `precision` autocast for `device` on the JS thread (fp32: as is). Async native jobs
 * started inside (forwardAsync, backwardAsync, …) inherit the scope; the scope closes when `fn` returns,
 * so await their promises outside if the work after them should run in float32.
 */
export function withAutocast<T>(precision: Precision, device: Device, fn: () => T): T {
  if (precisionArg(precision) === 'fp32') return fn();
  const native = addon();
  native.autocastEnter(device, precision);
  try {
    return fn();
  } finally {
    native.autocastExit();
  }
}

/** The autocast switches of the JS thread (tests: autocast is off again after a bf16 forward). */
export function autocastState(): ReturnType<ReturnType<typeof addon>['autocastState']> {
  return addon().autocastState();
}

/** A function of (x, t) — a score function, a model function — run under `precision` autocast. */
export function withPrecision<A extends unknown[], R>(fn: (...args: A) => R, precision: Precision, device: Device): (...args: A) => R {
  if (precisionArg(precision) === 'fp32') return fn;
  checkPrecision(precision, device);
  return (...args: A) => withAutocast(precision, device, () => fn(...args));
}

/**
 * channels_last: true / false force it; 'auto' = on CUDA, and on the CPU for bf16 only. CPU fp32 gains
 * nothing measurable from NHWC; CPU bf16 needs it: libtorch 1.13's NCHW bfloat16 convolution (no AVX-512)
 * accumulates in bfloat16 (2.7–3.8% error per 3×3 conv at 64–128 channels, against 0.29% — the rounding of
 * inputs and output — for the NHWC kernel), and libtorch 2.x's NCHW bfloat16 kernel is 7–12× slower than
 * its NHWC one.
 */
export function resolveChannelsLast(setting: ChannelsLastSetting, device: Device, precision: Precision = 'fp32'): boolean {
  return setting === 'auto' ? isCuda(device) || precision === 'bf16' : setting;
}

/**
 * TF32 for cuBLAS matmuls and cuDNN convolutions when `device` is CUDA (process-wide; a no-op on the CPU).
 * Returns whether it was applied.
 */
export function applyTf32(on: boolean, device: Device): boolean {
  if (!isCuda(device)) return false;
  addon().setAllowTf32(on);
  return true;
}

export function tf32State(): { cublas: boolean; cudnn: boolean } { return addon().tf32State(); }

/** How the network runs for one stage of a config on one device. */
export interface ExecutionPolicy {
  precision: Precision;
  channelsLast: boolean;
  allowTf32: boolean;
}

/** The policy of `config[stage]` (+ model.channels_last) on `device`; refuses a precision the device lacks. */
export function executionPolicy(config: DeepReadonly<Config>, stage: Stage, device: Device): ExecutionPolicy {
  const sec = config[stage];
  const policy: ExecutionPolicy = {
    precision: precisionArg(sec.precision ?? 'fp32'),
    channelsLast: resolveChannelsLast(config.model.channels_last ?? 'auto', device, sec.precision ?? 'fp32'),
    allowTf32: sec.allow_tf32 ?? true,
  };
  checkPrecision(policy.precision, device);
  return policy;
}

/** The native per-call options of a forward (`workers`: batch slices run at once, src/model/score-model.ts). */
export function forwardOptions(precision: Precision, channelsLast: boolean, workers = 1): NativeForwardOptions | undefined {
  if (precision === 'fp32' && !channelsLast && workers === 1) return undefined;
  return workers === 1 ? { precision, channelsLast } : { precision, channelsLast, workers };
}
