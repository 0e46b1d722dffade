/**
 * The Tensor class: a native libtorch handle with a typed, validated TypeScript surface. Every tensor
 * is one JS object (the native handle's class is this subclass), so ops cost one N-API call.
 */
import { addon, type Device, type NativeTensor, type TypedArray } from './native.js';
import { argError, checkInt, checkShape, ScoreflowError } from './errors.js';
import { DTYPE_BYTES, numel, type DType, type HostTensor } from './host-tensor.js';

const native = addon();

function opIndex(names: string[]): Record<string, number> {
  return Object.fromEntries(names.map((n, i) => [n, i]));
}
const U = opIndex(native.unaryOps);
const B = opIndex(native.binaryOps);
const R = opIndex(native.reduceOps);

export type Operand = Tensor | number | boolean;
export interface CreateOptions { dtype?: DType; device?: Device }

const DTYPES = Object.keys(DTYPE_BYTES) as DType[];
function checkDType(name: string, v: unknown): DType | null {
  if (v === undefined) return null;
  if (!DTYPES.includes(v as DType)) argError(name, `one of ${DTYPES.join(', ')}`, v);
  return v as DType;
}
function checkDevice(name: string, v: unknown): Device | null {
  if (v === undefined) return null;
  if (typeof v !== 'string' || !/^(cpu|cuda(:\d+)?)$/.test(v)) argError(name, "'cpu', 'cuda' or 'cuda:<n>'", v);
  return v;
}
function dims(name: string, d: number | number[] | undefined): number[] | null {
  if (d === undefined) return null;
  const list = typeof d === 'number' ? [d] : d;
  if (!Array.isArray(list) || !list.every(Number.isInteger)) argError(name, 'an integer or an array of integers', d);
  return list;
}

export class Tensor extends (native.NativeTensor as unknown as typeof NativeTensor) {
  // ---- metadata ----
  get shape(): number[] { return this._shape(); }
  get dtype(): DType { return this._dtype(); }
  get device(): Device { return this._device(); }
  get ndim(): number { return this._shape().length; }
  get numel(): number { return this._numel(); }
  get isDisposed(): boolean { return this._isDisposed(); }
  override toString(): string {
    return this.isDisposed ? 'Tensor(disposed)' : `Tensor(shape=[${this.shape}], dtype=${this.dtype}, device=${this.device})`;
  }

  // ---- elementwise ----
  neg(): Tensor { return this._unary(U.neg); }
  exp(): Tensor { return this._unary(U.exp); }
  log(): Tensor { return this._unary(U.log); }
  expm1(): Tensor { return this._unary(U.expm1); }
  log1p(): Tensor { return this._unary(U.log1p); }
  sqrt(): Tensor { return this._unary(U.sqrt); }
  rsqrt(): Tensor { return this._unary(U.rsqrt); }
  square(): Tensor { return this._unary(U.square); }
  abs(): Tensor { return this._unary(U.abs); }
  tanh(): Tensor { return this._unary(U.tanh); }
  sigmoid(): Tensor { return this._unary(U.sigmoid); }
  softplus(): Tensor { return this._unary(U.softplus); }
  relu(): Tensor { return this._unary(U.relu); }
  silu(): Tensor { return this._unary(U.silu); }
  sin(): Tensor { return this._unary(U.sin); }
  cos(): Tensor { return this._unary(U.cos); }
  sign(): Tensor { return this._unary(U.sign); }
  floor(): Tensor { return this._unary(U.floor); }
  ceil(): Tensor { return this._unary(U.ceil); }
  round(): Tensor { return this._unary(U.round); }
  reciprocal(): Tensor { return this._unary(U.reciprocal); }
  erf(): Tensor { return this._unary(U.erf); }
  logicalNot(): Tensor { return this._unary(U.logicalNot); }
  isfinite(): Tensor { return this._unary(U.isfinite); }
  isnan(): Tensor { return this._unary(U.isnan); }

  add(o: Operand): Tensor { return this._binary(B.add, o); }
  sub(o: Operand): Tensor { return this._binary(B.sub, o); }
  mul(o: Operand): Tensor { return this._binary(B.mul, o); }
  div(o: Operand): Tensor { return this._binary(B.div, o); }
  pow(o: Operand): Tensor { return this._binary(B.pow, o); }
  maximum(o: Operand): Tensor { return this._binary(B.maximum, o); }
  minimum(o: Operand): Tensor { return this._binary(B.minimum, o); }
  atan2(o: Operand): Tensor { return this._binary(B.atan2, o); }
  remainder(o: Operand): Tensor { return this._binary(B.remainder, o); }
  eq(o: Operand): Tensor { return this._binary(B.eq, o); }
  ne(o: Operand): Tensor { return this._binary(B.ne, o); }
  lt(o: Operand): Tensor { return this._binary(B.lt, o); }
  le(o: Operand): Tensor { return this._binary(B.le, o); }
  gt(o: Operand): Tensor { return this._binary(B.gt, o); }
  ge(o: Operand): Tensor { return this._binary(B.ge, o); }
  logicalAnd(o: Operand): Tensor { return this._binary(B.logicalAnd, o); }
  logicalOr(o: Operand): Tensor { return this._binary(B.logicalOr, o); }
  /** this + alpha·other in one kernel. */
  axpy(other: Tensor, alpha: number): Tensor { return this._axpy(other, alpha); }

  // In place (return this). Not recorded for autograd on leaves that require grad.
  add_(o: Operand): this { return this._binaryInplace(B.add, o); }
  sub_(o: Operand): this { return this._binaryInplace(B.sub, o); }
  mul_(o: Operand): this { return this._binaryInplace(B.mul, o); }
  div_(o: Operand): this { return this._binaryInplace(B.div, o); }
  /** Copies `src` (broadcast, converted) into this tensor without recording gradients. */
  copy_(src: Tensor): this { return this._copyFrom(src); }
  fill_(value: number): this { return this._fill(value); }
  zero_(): this { return this._fill(0); }

  clamp(min?: number | null, max?: number | null): Tensor {
    if (min == null && max == null) argError('clamp(min, max)', 'at least one bound', [min, max]);
    return this._clamp(min ?? null, max ?? null);
  }
  matmul(o: Tensor): Tensor { return this._matmul(o); }
  softmax(dim: number): Tensor { return this._softmax(checkInt('dim', dim), false); }
  logSoftmax(dim: number): Tensor { return this._softmax(checkInt('dim', dim), true); }

  // ---- reductions (all dims when `dim` is omitted) ----
  sum(dim?: number | number[], keepdim = false): Tensor { return this._reduce(R.sum, dims('dim', dim), keepdim); }
  mean(dim?: number | number[], keepdim = false): Tensor { return this._reduce(R.mean, dims('dim', dim), keepdim); }
  max(dim?: number | number[], keepdim = false): Tensor { return this._reduce(R.max, dims('dim', dim), keepdim); }
  min(dim?: number | number[], keepdim = false): Tensor { return this._reduce(R.min, dims('dim', dim), keepdim); }
  logsumexp(dim: number | number[], keepdim = false): Tensor { return this._reduce(R.logsumexp, dims('dim', dim), keepdim); }
  variance(dim?: number | number[], keepdim = false): Tensor { return this._reduce(R.var, dims('dim', dim), keepdim); }
  std(dim?: number | number[], keepdim = false): Tensor { return this._reduce(R.std, dims('dim', dim), keepdim); }
  all(dim?: number | number[], keepdim = false): Tensor { return this._reduce(R.all, dims('dim', dim), keepdim); }
  any(dim?: number | number[], keepdim = false): Tensor { return this._reduce(R.any, dims('dim', dim), keepdim); }
  norm(p = 2, dim?: number | number[], keepdim = false): Tensor {
    if (typeof p !== 'number') argError('p', 'a number', p);
    return this._norm(p, dims('dim', dim), keepdim);
  }

  // ---- views and layout ----
  reshape(shape: number[]): Tensor { return this._reshape(shapeArg(shape)); }
  view(shape: number[]): Tensor { return this._view(shapeArg(shape)); }
  expand(shape: number[]): Tensor { return this._expand(shapeArg(shape)); }
  permute(order: number[]): Tensor { return this._permute(dims('dims', order)!); }
  transpose(dim0: number, dim1: number): Tensor { return this._transpose(checkInt('dim0', dim0), checkInt('dim1', dim1)); }
  flatten(startDim = 0, endDim = -1): Tensor { return this._flatten(checkInt('startDim', startDim), checkInt('endDim', endDim)); }
  squeeze(dim?: number): Tensor { return this._squeeze(dim === undefined ? null : checkInt('dim', dim)); }
  unsqueeze(dim: number): Tensor { return this._unsqueeze(checkInt('dim', dim)); }
  /** Elements [start, end) with `step` along `dim` (a view). Negative indices count from the end. */
  slice(dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
    return this._slice(checkInt('dim', dim), start ?? null, end ?? null, checkInt('step', step, 1));
  }
  select(dim: number, index: number): Tensor { return this._select(checkInt('dim', dim), checkInt('index', index)); }
  indexSelect(dim: number, index: Tensor): Tensor { return this._indexSelect(checkInt('dim', dim), index); }
  flip(order: number[]): Tensor { return this._flip(dims('dims', order)!); }
  repeat(repeats: number[]): Tensor { return this._repeat(shapeArg(repeats, 'repeats')); }
  chunk(chunks: number, dim = 0): Tensor[] { return this._chunk(checkInt('chunks', chunks, 1), checkInt('dim', dim)); }
  contiguous(): Tensor { return this._contiguous(); }
  clone(): Tensor { return this._clone(); }
  /** A tensor sharing storage but cut from the autograd graph. */
  detach(): Tensor { return this._detach(); }
  to(target: Device | DType, dtype?: DType): Tensor {
    if (DTYPES.includes(target as DType)) return this._to(null, target as DType);
    return this._to(checkDevice('device', target), checkDType('dtype', dtype));
  }

  // ---- host transfer ----
  /** A copy of the elements (float16/bfloat16 as raw bits in a Uint16Array, bool as 0/1 bytes). */
  toArray(): TypedArray { return this._toArray(); }
  item(): number {
    const v = this._item();
    return typeof v === 'boolean' ? Number(v) : v;
  }
  toHost(): HostTensor { return { dtype: this.dtype, shape: this.shape, data: this._toArray() as HostTensor['data'] }; }

  // ---- autograd ----
  get requiresGrad(): boolean { return this._requiresGrad(); }
  set requiresGrad(on: boolean) { this._setRequiresGrad(on); }
  requiresGrad_(on = true): this { return this._setRequiresGrad(on); }
  get grad(): Tensor | null { return this._grad(); }
  zeroGrad(): void { this._zeroGrad(); }
  backward(gradient?: Tensor, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    this._backward(gradient ?? null, opts.retainGraph ?? false, opts.createGraph ?? false);
  }

  // ---- lifetime ----
  /** Removes this tensor from its tidy() scope so it survives the scope's end. */
  keep(): this { return this._keep(); }
}

// Every handle the addon creates from now on is a Tensor.
native.setTensorClass(Tensor);

function shapeArg(v: unknown, name = 'shape'): number[] {
  if (!Array.isArray(v) || !v.every((d) => Number.isInteger(d) && d >= -1)) {
    argError(name, 'an array of integers (-1 infers one dimension)', v);
  }
  return v as number[];
}

// ---------------------------------------------------------------------------------------------------
// Creation

const ARRAY_DTYPES: [new (...a: never[]) => TypedArray, DType][] = [
  [Float32Array, 'float32'], [Float64Array, 'float64'], [BigInt64Array, 'int64'], [Int32Array, 'int32'],
  [Int16Array, 'int16'], [Int8Array, 'int8'], [Uint8Array, 'uint8'],
];

function flattenNested(v: unknown, shape: number[], depth: number, out: number[]): void {
  if (Array.isArray(v)) {
    if (shape.length <= depth) shape.push(v.length);
    else if (shape[depth] !== v.length) argError('data', `a rectangular nested array (length ${shape[depth]} at depth ${depth})`, v.length);
    for (const e of v) flattenNested(e, shape, depth + 1, out);
  } else if (typeof v === 'number' || typeof v === 'boolean') {
    if (depth !== shape.length) argError('data', 'a rectangular nested array', 'a ragged one');
    out.push(Number(v));
  } else {
    argError('data', 'numbers, nested arrays of numbers, or a typed array', v);
  }
}

function converted(values: ArrayLike<number>, dtype: DType): TypedArray {
  switch (dtype) {
    case 'float32': return Float32Array.from(values);
    case 'float64': return Float64Array.from(values);
    case 'int64': return BigInt64Array.from(Array.from(values, (x) => BigInt(Math.trunc(x))));
    case 'int32': return Int32Array.from(values);
    case 'int16': return Int16Array.from(values);
    case 'int8': return Int8Array.from(values);
    case 'uint8': case 'bool': return Uint8Array.from(values, (x) => (dtype === 'bool' ? (x ? 1 : 0) : x));
    default: return Float32Array.from(values);
  }
}

/**
 * Creates a tensor from numbers, nested arrays or a typed array (copied). The dtype defaults to the
 * typed array's own, float32 for plain numbers.
 */
export function tensor(data: number | number[] | unknown[] | TypedArray, opts: CreateOptions & { shape?: number[] } = {}): Tensor {
  const dtype = checkDType('dtype', opts.dtype);
  const device = checkDevice('device', opts.device);
  if (ArrayBuffer.isView(data)) {
    const own = ARRAY_DTYPES.find(([C]) => data instanceof C)?.[1];
    if (!own) argError('data', 'a Float32/Float64/BigInt64/Int32/Int16/Int8/Uint8 array', data);
    const shape = opts.shape ? checkShape('shape', opts.shape) : [data.length];
    if (numel(shape) !== data.length) argError('shape', `a shape with ${data.length} elements`, shape);
    const t = native.fromBuffer(data, shape, own, device) as Tensor;
    if (dtype && dtype !== own) {
      const c = t.to(dtype);
      t.dispose();
      return c;
    }
    return t;
  }
  const shape: number[] = [];
  const flat: number[] = [];
  flattenNested(data, shape, 0, flat);
  const target = opts.shape ? checkShape('shape', opts.shape) : shape;
  if (numel(target) !== flat.length) argError('shape', `a shape with ${flat.length} elements`, target);
  const dt = dtype ?? 'float32';
  if (dt === 'float16' || dt === 'bfloat16') {
    const t = native.fromBuffer(Float32Array.from(flat), target, 'float32', device) as Tensor;
    const c = t.to(dt);
    t.dispose();
    return c;
  }
  return native.fromBuffer(converted(flat, dt), target, dt, device) as Tensor;
}

/** A device tensor from a host tensor (e.g. one read from a checkpoint). */
export function fromHost(h: HostTensor, device?: Device): Tensor {
  return native.fromBuffer(h.data as TypedArray, checkShape('shape', h.shape), h.dtype, checkDevice('device', device)) as Tensor;
}

export function scalar(v: number, opts: CreateOptions = {}): Tensor { return full([], v, opts); }
export function full(shape: number[], value: number, opts: CreateOptions = {}): Tensor {
  if (typeof value !== 'number') argError('value', 'a number', value);
  return native.full(checkShape('shape', shape), value, checkDType('dtype', opts.dtype), checkDevice('device', opts.device)) as Tensor;
}
export function zeros(shape: number[], opts: CreateOptions = {}): Tensor { return full(shape, 0, opts); }
export function ones(shape: number[], opts: CreateOptions = {}): Tensor { return full(shape, 1, opts); }
export function zerosLike(t: Tensor): Tensor { return full(t.shape, 0, { dtype: t.dtype, device: t.device }); }
export function onesLike(t: Tensor): Tensor { return full(t.shape, 1, { dtype: t.dtype, device: t.device }); }
export function arange(start: number, end: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (step === 0 || !Number.isFinite(step)) argError('step', 'a finite non-zero number', step);
  return native.arange(start, end, step, checkDType('dtype', opts.dtype), checkDevice('device', opts.device)) as Tensor;
}
export function linspace(start: number, end: number, steps: number, opts: CreateOptions = {}): Tensor {
  return native.linspace(start, end, checkInt('steps', steps, 0), checkDType('dtype', opts.dtype), checkDevice('device', opts.device)) as Tensor;
}
export function cat(tensors: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) argError('tensors', 'a non-empty array of Tensors', tensors);
  return native.cat(tensors, checkInt('dim', dim)) as Tensor;
}
export function stack(tensors: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) argError('tensors', 'a non-empty array of Tensors', tensors);
  return native.stack(tensors, checkInt('dim', dim)) as Tensor;
}
/** Elementwise `cond ? a : b`. */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  return native.where(cond, a, b) as Tensor;
}

export function isTensor(v: unknown): v is Tensor { return v instanceof Tensor; }

export { ScoreflowError };
