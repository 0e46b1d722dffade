/**
 * Where a flax file keeps its weights. flax writes whatever tree the user hands `to_bytes`, so a file may be
 *  - a training State: score_sde / score_flow keep raw weights in `optimizer/target`, optax-era States in
 *    `params`; both keep the EMA in `params_ema`;
 *  - a variables dict: `{params: …}` or `{params_ema: …}`;
 *  - a bare params tree (`to_bytes(state.params_ema)`): the module names are the top-level keys.
 * A bare tree does not say whether it is raw or EMA, so it serves either choice.
 */
import { formatError } from './errors.js';
import { flaxGet } from './flax.js';

export type FlaxWeightsChoice = 'ema' | 'raw';

export interface FlaxParamsTree {
  /** Path of the tree in the file ('optimizer/target', 'params', 'params_ema'; '' for a bare tree). */
  path: string;
  tree: Map<unknown, unknown>;
}

export interface FlaxParamsTrees {
  raw: FlaxParamsTree | null;
  ema: FlaxParamsTree | null;
}

/** Searched in order: score_sde's flax.optim State first, then optax-era States and variables dicts. */
const RAW_PATHS = ['optimizer/target', 'params'];
const EMA_PATHS = ['params_ema'];

/** flax names submodules `<Class>_<k>` (NCSN++: 'Dense_0', 'ResnetBlockBigGANpp_3'; or 'all_modules_0'). */
const MODULE_NAME = /^[A-Za-z]\w*_\d+$/;

const ACCEPTED = "a flax State ('optimizer/target' or 'params', and/or 'params_ema'), a variables dict {'params': …} " +
  "or {'params_ema': …}, or a bare params tree whose top-level keys are module names ('Dense_0', 'all_modules_0', …)";

function isBareParamsTree(tree: unknown): tree is Map<unknown, unknown> {
  return tree instanceof Map && tree.size > 0 && [...tree].every(([k, v]) => typeof k === 'string' && MODULE_NAME.test(k) && v instanceof Map);
}

function describeKeys(tree: unknown): string {
  if (!(tree instanceof Map)) return `the file holds ${tree === null ? 'None' : `a ${typeof tree}`}, not a dict`;
  const keys = [...tree.keys()].map((k) => `'${String(k)}'`);
  if (!keys.length) return 'the file holds an empty dict';
  return `top-level keys found: ${keys.slice(0, 12).join(', ')}${keys.length > 12 ? `, … (${keys.length})` : ''}`;
}

function find(tree: unknown, paths: readonly string[]): FlaxParamsTree | null {
  for (const path of paths) {
    const t = flaxGet(tree, path);
    if (t instanceof Map) return { path, tree: t };
  }
  return null;
}

/** The raw and EMA params trees of a decoded flax file; an error lists the keys found and what is accepted. */
export function locateFlaxParams(tree: unknown): FlaxParamsTrees {
  const raw = find(tree, RAW_PATHS);
  const ema = find(tree, EMA_PATHS);
  if (raw || ema) return { raw, ema };
  if (isBareParamsTree(tree)) return { raw: { path: '', tree }, ema: { path: '', tree } };
  throw formatError(`no flax params tree: ${describeKeys(tree)}; accepted: ${ACCEPTED}`);
}

/**
 * The choice rule: 'ema' takes the EMA weights where the file has them, else its raw ones (a file without
 * an EMA has only those); 'raw' takes the raw weights and refuses a file that holds only an EMA.
 */
export function chooseFlaxWeights<T>(weights: { params: T | null; paramsEma: T | null }, choice: FlaxWeightsChoice): T {
  const chosen = choice === 'ema' ? weights.paramsEma ?? weights.params : weights.params;
  if (chosen) return chosen;
  if (weights.paramsEma) throw formatError("the file holds only EMA weights ('params_ema'), no raw ones ('optimizer/target' or 'params'); use --weights ema");
  throw formatError('the file holds no weights');
}
