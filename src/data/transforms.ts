/**
 * Per-batch data transforms of the references' input pipeline (datasets.py) and the data scaler (spec §3):
 *  - uint8 → float32 in [0, 1] (x / 255),
 *  - random horizontal flip (per image, probability ½; training only),
 *  - uniform dequantization x ← (255·x + u) / 256 with u ~ U[0, 1) per pixel,
 *  - scaler: 2x − 1 when `data.centered`, identity otherwise; inverse scaler (x + 1) / 2 or identity.
 * The scaler is kept separate from the loader (the references apply it in the train/eval step).
 */
import type { Prng } from './prng.js';

/** x/255 for every element of a uint8 buffer. */
export function uint8ToUnitFloat(src: Uint8Array, dst: Float32Array = new Float32Array(src.length), dstOffset = 0): Float32Array {
  for (let i = 0; i < src.length; i++) dst[dstOffset + i] = src[i]! / 255;
  return dst;
}

/** Flips image CHW data in place left↔right (reverses every row). */
export function flipHorizontal(img: Float32Array | Uint8Array, c: number, h: number, w: number, offset = 0): void {
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      let a = offset + (ch * h + y) * w;
      let b = a + w - 1;
      while (a < b) {
        const t = img[a]!; img[a] = img[b]!; img[b] = t;
        a++; b--;
      }
    }
  }
}

/**
 * Uniform dequantization in place: x ∈ {0, 1/255, …, 1} → (255·x + u)/256, u ~ U[0,1) from `rng`.
 * Computed from the integer pixel value to avoid float drift: (k + u)/256.
 */
export function uniformDequantize(x: Float32Array, rng: Prng, offset = 0, length = x.length - offset): void {
  for (let i = offset; i < offset + length; i++) {
    const k = Math.round(x[i]! * 255);
    x[i] = (k + rng.nextFloat32()) / 256;
  }
}

export interface Scaler {
  /** y = scale·x + shift. */
  readonly scale: number;
  readonly shift: number;
  (x: number): number;
  /** Applies in place to a float array and returns it. */
  apply(x: Float32Array | Float64Array): Float32Array | Float64Array;
}

function makeScaler(scale: number, shift: number): Scaler {
  const f = ((x: number) => scale * x + shift) as Scaler;
  Object.defineProperties(f, {
    scale: { value: scale }, shift: { value: shift },
    apply: {
      value: (x: Float32Array | Float64Array) => {
        if (scale !== 1 || shift !== 0) for (let i = 0; i < x.length; i++) x[i] = scale * x[i]! + shift;
        return x;
      },
    },
  });
  return f;
}

/** Data normalizer: [0,1] → [−1,1] (2x − 1) if centered, else identity (references' get_data_scaler). */
export function getDataScaler(centered: boolean): Scaler {
  return centered ? makeScaler(2, -1) : makeScaler(1, 0);
}

/** Inverse data normalizer: [−1,1] → [0,1] ((x + 1)/2) if centered, else identity. */
export function getDataInverseScaler(centered: boolean): Scaler {
  return centered ? makeScaler(0.5, 0.5) : makeScaler(1, 0);
}

/**
 * Float images in [0,1] (NCHW) → uint8 NHWC as the references save samples: clip(x·255, 0, 255) truncated
 * (np.clip(...).astype(np.uint8)).
 */
export function samplesToUint8Nhwc(x: Float32Array | Float64Array, n: number, c: number, h: number, w: number): Uint8Array {
  const out = new Uint8Array(n * h * w * c);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let xx = 0; xx < w; xx++) {
          const v = x[((b * c + ch) * h + y) * w + xx]! * 255;
          out[((b * h + y) * w + xx) * c + ch] = v <= 0 || Number.isNaN(v) ? 0 : v >= 255 ? 255 : Math.trunc(v);
        }
  return out;
}
