/**
 * Small, fast, seedable PRNG (xoshiro128**, seeded through splitmix32) whose whole state is four uint32s:
 * `getState()` / `setState()` make a stream resumable bit for bit (e.g. across a training restart).
 */

/** splitmix32 step: returns [output, nextState]. */
function splitmix32(s: number): [number, number] {
  s = (s + 0x9e3779b9) >>> 0;
  let z = s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  z = (z ^ (z >>> 16)) >>> 0;
  return [z, s];
}

/** Mixes integers (e.g. seed, stream id, epoch) into one well-scrambled uint32 seed. */
export function deriveSeed(...parts: number[]): number {
  let h = 0x243f6a88;
  for (const p of parts) {
    // fold in the value as two 32-bit halves so that large integers (up to 2^53) are distinguished
    const lo = p >>> 0;
    const hi = Math.floor(p / 4294967296) >>> 0;
    for (const w of [lo, hi]) {
      h = splitmix32((h ^ w) >>> 0)[0];
      h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    }
  }
  return h >>> 0;
}

export type PrngState = [number, number, number, number];

export class Prng {
  private s0 = 0; private s1 = 0; private s2 = 0; private s3 = 0;

  constructor(seed: number | PrngState = 0) {
    if (Array.isArray(seed)) this.setState(seed);
    else this.reseed(seed);
  }

  reseed(seed: number): void {
    if (!Number.isFinite(seed)) throw new TypeError(`Prng seed must be a finite number, received ${seed}`);
    let s = deriveSeed(seed);
    const out: number[] = [];
    for (let i = 0; i < 4; i++) { const [z, n] = splitmix32(s); out.push(z); s = n; }
    if ((out[0]! | out[1]! | out[2]! | out[3]!) === 0) out[0] = 1;
    [this.s0, this.s1, this.s2, this.s3] = out as PrngState;
  }

  getState(): PrngState {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  setState(st: readonly number[]): void {
    if (!Array.isArray(st) || st.length !== 4 || st.some((v) => !Number.isInteger(v) || v < 0 || v > 0xffffffff)) {
      throw new TypeError(`Prng state must be 4 uint32 values, received ${JSON.stringify(st)}`);
    }
    if ((st[0]! | st[1]! | st[2]! | st[3]!) === 0) throw new TypeError('Prng state must not be all zero');
    [this.s0, this.s1, this.s2, this.s3] = [st[0]! >>> 0, st[1]! >>> 0, st[2]! >>> 0, st[3]! >>> 0];
  }

  /** Next uint32. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 24 random bits (exactly representable as float32, never rounds up to 1). */
  nextFloat32(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  nextFloat64(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Unbiased integer in [0, n), n <= 2^32. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 4294967296) throw new RangeError(`nextInt: n must be an integer in [1, 2^32], received ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const r = this.nextUint32();
      if (r < limit) return r % n;
    }
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<A extends unknown[] | Int32Array | Uint32Array | Float64Array>(a: A): A {
    const arr = a as unknown as unknown[];
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = arr[i]; arr[i] = arr[j]; arr[j] = tmp;
    }
    return a;
  }

  /** A permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
