/**
 * The references' training checkpoints, interpreted into one typed shape (spec §10):
 *  - score_sde_pytorch: torch.save of {optimizer: Adam state_dict, model: DataParallel state dict
 *    ('module.' prefixes), ema: {decay, num_updates, shadow_params}, step}.
 *  - score_sde / score_flow (flax): msgpack of State {step, optimizer: {target, state: {step,
 *    param_states: {…: {grad_ema, grad_sq_ema}}}}, lr, ema_rate, params_ema, rng, model_state}.
 * and the reverse (`toReferenceCheckpoint`) so Python's reference code can resume from our state.
 */
import type { HostTensor } from '../host-tensor.js';
import { formatError } from './errors.js';
import { readBytesOrPath } from './input-file.js';
import { flaxGet, readFlaxCheckpoint } from './flax.js';
import { locateFlaxParams } from './flax-params.js';
import { buildFlaxToTorchMap, flaxParamsToTorch, topLevelNames, torchToFlaxParams, type FlaxMapOptions, type LeafMapping } from './flax-torch-map.js';
import { OrderedDict, PyFloat, dictEntries, dictGet, tuple } from './py-values.js';
import { isHostTensor, toNumbers } from './tensor-util.js';
import { loadTorch } from './torch-load.js';

export interface ParamGroup {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  /** Indices into the optimizer's parameter list. */
  params: number[];
  /** Every key of the group as stored (foreach, maximize, capturable, …); torch 1.13 defaults if absent. */
  raw?: Map<unknown, unknown>;
}

export interface AdamState {
  /** Per parameter (in param-id order); null where Adam has no state yet. */
  step: (number | null)[];
  expAvg: (HostTensor | null)[];
  expAvgSq: (HostTensor | null)[];
  paramGroups: ParamGroup[];
}

export interface EmaState {
  decay: number;
  numUpdates: number;
  /** In `model.parameters()` order: only trainable parameters (no buffers such as `sigmas`). */
  shadowParams: HostTensor[];
}

export interface ReferenceCheckpoint {
  /** State dict with the DataParallel 'module.' prefix removed, in file order. */
  model: Map<string, HostTensor>;
  ema: EmaState;
  optimizer: AdamState;
  step: number;
}

function num(v: unknown, what: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (isHostTensor(v) && v.data.length === 1) return toNumbers(v)[0]!;
  throw formatError(`reference checkpoint: ${what} is not a number`);
}

function tensor(v: unknown, what: string): HostTensor {
  if (!isHostTensor(v)) throw formatError(`reference checkpoint: ${what} is not a tensor`);
  return v;
}

/** Removes DataParallel's 'module.' prefix (from every key, or none). */
export function stripModulePrefix(sd: Map<string, HostTensor>): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const [k, v] of sd) out.set(k.startsWith('module.') ? k.slice(7) : k, v);
  return out;
}

function parseAdam(opt: unknown): AdamState {
  const state = dictGet(opt, 'state');
  const groups = dictGet(opt, 'param_groups');
  if (state === undefined || !Array.isArray(groups)) throw formatError('reference checkpoint: optimizer is not an Adam state_dict');
  const paramGroups: ParamGroup[] = groups.map((g, gi) => {
    const betas = dictGet(g, 'betas');
    const params = dictGet(g, 'params');
    if (!Array.isArray(betas) || betas.length !== 2) throw formatError(`reference checkpoint: param_groups[${gi}].betas is malformed`);
    if (!Array.isArray(params)) throw formatError(`reference checkpoint: param_groups[${gi}].params is malformed`);
    return {
      lr: num(dictGet(g, 'lr'), 'lr'),
      betas: [num(betas[0], 'beta1'), num(betas[1], 'beta2')],
      eps: num(dictGet(g, 'eps'), 'eps'),
      weightDecay: num(dictGet(g, 'weight_decay') ?? 0, 'weight_decay'),
      amsgrad: dictGet(g, 'amsgrad') === true,
      params: params.map((p) => num(p, 'param id')),
      raw: new Map(dictEntries(g)),
    };
  });
  const n = paramGroups.reduce((a, g) => Math.max(a, ...g.params.map((p) => p + 1)), 0);
  const out: AdamState = { step: new Array(n).fill(null), expAvg: new Array(n).fill(null), expAvgSq: new Array(n).fill(null), paramGroups };
  for (const [k, s] of dictEntries(state)) {
    const i = num(k, 'state key');
    if (!(i >= 0 && i < n)) throw formatError(`reference checkpoint: optimizer state for unknown parameter ${i}`);
    out.step[i] = num(dictGet(s, 'step'), `state[${i}].step`);
    out.expAvg[i] = tensor(dictGet(s, 'exp_avg'), `state[${i}].exp_avg`);
    out.expAvgSq[i] = tensor(dictGet(s, 'exp_avg_sq'), `state[${i}].exp_avg_sq`);
  }
  return out;
}

/** Interprets an already-loaded score_sde_pytorch checkpoint value. */
export function interpretReferenceCheckpoint(value: unknown): ReferenceCheckpoint {
  const model = dictGet(value, 'model');
  const ema = dictGet(value, 'ema');
  if (!(model instanceof Map)) throw formatError("reference checkpoint: no 'model' state dict");
  if (ema === undefined) throw formatError("reference checkpoint: no 'ema' entry");
  const sd = new Map<string, HostTensor>();
  for (const [k, v] of model) sd.set(String(k), tensor(v, `model['${String(k)}']`));
  const shadow = dictGet(ema, 'shadow_params');
  if (!Array.isArray(shadow)) throw formatError('reference checkpoint: ema.shadow_params is not a list');
  return {
    model: stripModulePrefix(sd),
    ema: {
      decay: num(dictGet(ema, 'decay'), 'ema.decay'),
      numUpdates: num(dictGet(ema, 'num_updates'), 'ema.num_updates'),
      shadowParams: shadow.map((t, i) => tensor(t, `ema.shadow_params[${i}]`)),
    },
    optimizer: parseAdam(dictGet(value, 'optimizer')),
    step: num(dictGet(value, 'step'), 'step'),
  };
}

export function readReferenceCheckpoint(bytesOrPath: Uint8Array | string): ReferenceCheckpoint {
  return readBytesOrPath(bytesOrPath, (bytes) => interpretReferenceCheckpoint(loadTorch(bytes)));
}

/** torch 1.13 Adam param-group keys, in its order (lr … amsgrad are overwritten from the group). */
const ADAM_DEFAULTS: [string, unknown][] = [
  ['lr', 0], ['betas', null], ['eps', 0], ['weight_decay', 0], ['amsgrad', false], ['maximize', false],
  ['foreach', null], ['capturable', false], ['differentiable', false], ['fused', false], ['params', []],
];

/**
 * The inverse: a value for `saveTorch` that score_sde_pytorch's `restore_checkpoint` accepts (DataParallel
 * keys, Adam state with float32 scalar `step` tensors as torch ≥ 1.12 stores them).
 */
export function toReferenceCheckpoint(ck: ReferenceCheckpoint, options: { modulePrefix?: boolean } = {}): Map<string, unknown> {
  const prefix = options.modulePrefix === false ? '' : 'module.';
  const state = new Map<number, unknown>();
  ck.optimizer.expAvg.forEach((m, i) => {
    if (!m) return;
    const step = ck.optimizer.step[i] ?? 0;
    state.set(i, new Map<string, unknown>([
      ['step', { dtype: 'float32', shape: [], data: new Float32Array([step]) } satisfies HostTensor],
      ['exp_avg', m],
      ['exp_avg_sq', ck.optimizer.expAvgSq[i]],
    ]));
  });
  const groups = ck.optimizer.paramGroups.map((g) => {
    const raw = new Map<unknown, unknown>(g.raw ?? ADAM_DEFAULTS);
    raw.set('lr', new PyFloat(g.lr));
    raw.set('betas', tuple(new PyFloat(g.betas[0]), new PyFloat(g.betas[1])));
    raw.set('eps', new PyFloat(g.eps));
    raw.set('weight_decay', g.weightDecay);
    raw.set('amsgrad', g.amsgrad);
    raw.set('params', [...g.params]);
    return raw;
  });
  const model = new OrderedDict<string, HostTensor>();
  for (const [k, v] of ck.model) model.set(prefix + k, v);
  return new Map<string, unknown>([
    ['optimizer', new Map<string, unknown>([['state', state], ['param_groups', groups]])],
    ['model', model],
    ['ema', new Map<string, unknown>([['decay', new PyFloat(ck.ema.decay)], ['num_updates', ck.ema.numUpdates], ['shadow_params', [...ck.ema.shadowParams]]])],
    ['step', ck.step],
  ]);
}

// ---------------------------------------------------------------------------------------------------------
// flax (score_sde / score_flow / mle_score_ode)

export interface FlaxReferenceState {
  /** Raw weights (optimizer.target or params) in torch names/layouts, or null when the file has only an EMA. */
  params: Map<string, HostTensor> | null;
  /** params_ema converted likewise (use for inference), or null when absent (see `chooseFlaxWeights`). */
  paramsEma: Map<string, HostTensor> | null;
  /** Adam moments (grad_ema / grad_sq_ema) in torch names/layouts, or null when absent. */
  expAvg: Map<string, HostTensor> | null;
  expAvgSq: Map<string, HostTensor> | null;
  step: number;
  optimizerStep: number | null;
  lr: number | null;
  emaRate: number | null;
  mapping: LeafMapping[];
}

function optionalNum(v: unknown): number | null {
  return v === undefined || v === null ? null : num(v, 'value');
}

/** Moments live in a tree shaped like params whose leaves are {grad_ema, grad_sq_ema}. */
function momentTree(paramStates: unknown, leaf: string, mapping: readonly LeafMapping[]): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  const shaped = mapping.map((m) => ({ ...m, flaxPath: `${m.flaxPath}/${leaf}` }));
  for (const [k, v] of flaxParamsToTorch(paramStates, shaped)) out.set(k, v);
  return out;
}

/**
 * Interprets a flax file (a State, a variables dict or a bare params tree: `locateFlaxParams`) given our
 * model's torch key list (key, shape) in state-dict order.
 */
export function interpretFlaxState(tree: unknown, torchKeys: Iterable<readonly [string, readonly number[]]>, options: FlaxMapOptions = {}): FlaxReferenceState {
  const { raw, ema } = locateFlaxParams(tree);
  const mapping = buildFlaxToTorchMap(torchKeys, { ...options, flaxNames: options.flaxNames ?? topLevelNames((raw ?? ema)!.tree) });
  const params = raw && flaxParamsToTorch(raw.tree, mapping);
  const paramStates = flaxGet(tree, 'optimizer/state/param_states');
  return {
    params,
    // A bare tree fills both slots: convert it once.
    paramsEma: ema && (ema.tree === raw?.tree ? params : flaxParamsToTorch(ema.tree, mapping)),
    expAvg: paramStates === undefined ? null : momentTree(paramStates, 'grad_ema', mapping),
    expAvgSq: paramStates === undefined ? null : momentTree(paramStates, 'grad_sq_ema', mapping),
    step: num(flaxGet(tree, 'step') ?? 0, 'step'),
    optimizerStep: optionalNum(flaxGet(tree, 'optimizer/state/step')),
    lr: optionalNum(flaxGet(tree, 'lr')),
    emaRate: optionalNum(flaxGet(tree, 'ema_rate')),
    mapping,
  };
}

export interface FlaxStateInput {
  params: ReadonlyMap<string, HostTensor>;
  paramsEma?: ReadonlyMap<string, HostTensor>;
  expAvg?: ReadonlyMap<string, HostTensor>;
  expAvgSq?: ReadonlyMap<string, HostTensor>;
  step: number;
  lr?: number;
  emaRate?: number;
  /** jax PRNG key, stored as uint32[2] by the references (written here as int64). */
  rng?: HostTensor;
}

/**
 * A score_sde/score_flow-layout State tree (for `writeFlaxCheckpoint`) from torch-layout tensors: the
 * inverse of `interpretFlaxState`, using `mapping` from `buildFlaxToTorchMap`.
 */
export function toFlaxState(s: FlaxStateInput, mapping: readonly LeafMapping[]): Map<string, unknown> {
  const target = torchToFlaxParams(s.params, mapping);
  const state = new Map<string, unknown>([['step', s.step]]);
  if (s.expAvg && s.expAvgSq) {
    const m = torchToFlaxParams(s.expAvg, mapping);
    const v = torchToFlaxParams(s.expAvgSq, mapping);
    const zip = (a: unknown, b: unknown): unknown => {
      if (isHostTensor(a)) return new Map<string, unknown>([['grad_ema', a], ['grad_sq_ema', b]]);
      const out = new Map<string, unknown>();
      for (const [k, x] of a as Map<string, unknown>) out.set(k, zip(x, (b as Map<string, unknown>).get(k)));
      return out;
    };
    state.set('param_states', zip(m, v));
  }
  const tree = new Map<string, unknown>([
    ['step', s.step],
    ['optimizer', new Map<string, unknown>([['target', target], ['state', state]])],
    ['lr', s.lr ?? 0],
    ['model_state', new Map()],
    ['ema_rate', s.emaRate ?? 0.999],
    ['params_ema', torchToFlaxParams(s.paramsEma ?? s.params, mapping)],
  ]);
  if (s.rng) tree.set('rng', s.rng);
  return tree;
}

export function readFlaxReferenceState(bytesOrPath: Uint8Array | string, torchKeys: Iterable<readonly [string, readonly number[]]>, options?: FlaxMapOptions): FlaxReferenceState {
  return readBytesOrPath(bytesOrPath, (bytes) => interpretFlaxState(readFlaxCheckpoint(bytes), torchKeys, options));
}
