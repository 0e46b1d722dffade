/**
 * Config files: JSON in `configs/` (one per configuration), each
 *   { "extends": "<other config name | path | defaults>", ...partial config }
 * merged deeply over what it extends (objects merge key by key; arrays and scalars replace).
 * A name resolves to `<configsDir>/<name>.json` (names may contain '/', e.g. `score_flow/vp/cifar10_ddpmpp_continuous`);
 * a path (absolute, or starting with ./ or ../, or ending in .json) is taken as is — relative to the file
 * that extends it, or to the working directory for the top-level call. `defaults` (or a missing `extends`)
 * is the built-in DEFAULT_CONFIG. Keys named `$comment` or starting with `//` are comments and ignored.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './errors.js';
import { applyOverrides, parseOverrides } from './overrides.js';
import { DEFAULT_CONFIG } from './schema.js';
import type { Config, DeepReadonly } from './types.js';
import { checkKeys, deepFreeze, validateConfig } from './validate.js';

/** The repository's `configs/` folder (works from src/config and from dist/config). */
export const DEFAULT_CONFIGS_DIR: string = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'configs');

export interface LoadOptions {
  /** Folder that config names resolve against (default: the repository's configs/). */
  configsDir?: string;
  /** Base for relative paths given to loadConfig itself (default: process.cwd()). */
  cwd?: string;
}

export type ResolvedConfig = DeepReadonly<Config>;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Deep merge: `over` wins; objects merge recursively; arrays and scalars replace. Mutates and returns `base`. */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(over)) {
    const b = base[k];
    if (isPlainObject(v) && isPlainObject(b)) deepMerge(b, v);
    else base[k] = isPlainObject(v) || Array.isArray(v) ? clone(v) : v;
  }
  return base;
}

function looksLikePath(s: string): boolean {
  return isAbsolute(s) || s.startsWith('./') || s.startsWith('../') || s.endsWith('.json');
}

/** Resolves a config reference to a file path (or 'defaults'). */
export function resolveConfigRef(ref: string, opts: { configsDir: string; relativeTo: string }): string {
  if (ref === 'defaults') return 'defaults';
  if (looksLikePath(ref)) {
    const p = isAbsolute(ref) ? ref : resolve(opts.relativeTo, ref);
    if (existsSync(p) && statSync(p).isFile()) return p;
    // "name.json" may also be a name under configsDir
    if (!isAbsolute(ref) && !ref.startsWith('.')) {
      const q = join(opts.configsDir, ref);
      if (existsSync(q)) return q;
    }
    throw new ConfigError(`config file not found: ${p}${isAbsolute(ref) ? '' : ` (resolved from ${JSON.stringify(ref)} relative to ${opts.relativeTo})`}`);
  }
  const p = join(opts.configsDir, `${ref}.json`);
  if (existsSync(p)) return p;
  const names = listConfigs(opts.configsDir);
  throw new ConfigError(`unknown config ${JSON.stringify(ref)}: no file ${p}; available configs: ${names.length ? names.join(', ') : '(none)'}, or 'defaults', or a path to a .json file`);
}

/** Names of the configs under a folder (recursively), without the .json extension. */
export function listConfigs(configsDir: string = DEFAULT_CONFIGS_DIR): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let entries: string[];
    try { entries = readdirSync(d); } catch { return; }
    for (const e of entries.sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (e.endsWith('.json')) out.push(relative(configsDir, p).split(sep).join('/').replace(/\.json$/, ''));
    }
  };
  walk(configsDir);
  return out;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try { raw = JSON.parse(text); } catch (e) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(raw)) throw new ConfigError(`config file ${path}: expected a JSON object at the top level`);
  if ('extends' in raw && typeof raw.extends !== 'string') {
    throw new ConfigError(`config file ${path}: "extends" must be a string (a config name, a path, or "defaults"), received ${JSON.stringify(raw.extends)}`);
  }
  stripComments(raw);
  const issues = checkKeys(raw, path, true);
  if (issues.length) throw new ConfigError(issues.length === 1 ? issues[0]! : `invalid config file ${path}:\n  ${issues.join('\n  ')}`, issues);
  return raw;
}

/** Keys `$comment` or starting with `//` (at the top level or in a section) are comments: dropped. */
export function isCommentKey(k: string): boolean {
  return k === '$comment' || k.startsWith('//');
}

function stripComments(o: Record<string, unknown>): void {
  for (const k of Object.keys(o)) {
    if (isCommentKey(k)) delete o[k];
    else if (isPlainObject(o[k])) stripComments(o[k] as Record<string, unknown>);
  }
}

/** Where each leaf value came from: 'section.key' (or 'seed') → file path or override argument. */
export type ConfigOrigins = Map<string, string>;

function recordOrigins(layer: Record<string, unknown>, origin: string, origins: ConfigOrigins): void {
  for (const [k, v] of Object.entries(layer)) {
    if (isPlainObject(v)) for (const f of Object.keys(v)) origins.set(`${k}.${f}`, origin);
    else origins.set(k, origin);
  }
}

/** Resolves the `extends` chain of a file and returns the merged (unvalidated) tree. */
export function resolveConfigTree(ref: string, opts: LoadOptions = {}, origins?: ConfigOrigins): Record<string, unknown> {
  const configsDir = opts.configsDir ?? DEFAULT_CONFIGS_DIR;
  const chain: string[] = [];
  const layers: Record<string, unknown>[] = [];
  let current = resolveConfigRef(ref, { configsDir, relativeTo: opts.cwd ?? process.cwd() });
  while (current !== 'defaults') {
    if (chain.includes(current)) {
      throw new ConfigError(`config "extends" cycle: ${[...chain, current].join(' -> ')}`);
    }
    chain.push(current);
    const raw = readConfigFile(current);
    const { extends: parent, ...rest } = raw;
    layers.push(rest);
    current = resolveConfigRef(typeof parent === 'string' ? parent : 'defaults', { configsDir, relativeTo: dirname(current) });
  }
  const tree = clone(DEFAULT_CONFIG) as unknown as Record<string, unknown>;
  for (let i = layers.length - 1; i >= 0; i--) {
    deepMerge(tree, layers[i]!);
    if (origins) recordOrigins(layers[i]!, chain[i]!, origins);
  }
  return tree;
}

/** Appends "(set in <file>)" / "(set by override ...)" to issues about a field whose value came from there. */
function annotate(e: unknown, origins: ConfigOrigins): never {
  if (!(e instanceof ConfigError)) throw e;
  const issues = e.issues.map((m) => {
    const k = /^config\.([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)?):/.exec(m)?.[1];
    const o = k !== undefined ? origins.get(k) : undefined;
    return o ? `${m} (${o.startsWith('override') ? 'set by' : 'set in'} ${o})` : m;
  });
  const head = issues.length === 1 ? issues[0]! : `${e.message.split('\n')[0]}\n  ${issues.join('\n  ')}`;
  throw new ConfigError(head, issues);
}

function overrideOrigins(overrides: ReturnType<typeof parseOverrides>, origins: ConfigOrigins): void {
  for (const o of overrides) origins.set(o.path.join('.'), `override ${JSON.stringify(o.arg)}`);
}

/**
 * Loads a config by name (`fmnist_small`, `score_flow/vp/cifar10_ddpmpp_continuous`, `defaults`) or path,
 * applies command-line overrides (`--config.training.batch_size=64`, ...), validates it, and returns it
 * deeply frozen. Throws ConfigError (code 'ERR_CONFIG').
 */
export function loadConfig(nameOrPath: string, overrides: readonly string[] = [], opts: LoadOptions = {}): ResolvedConfig {
  const origins: ConfigOrigins = new Map();
  const tree = resolveConfigTree(nameOrPath, opts, origins);
  const parsed = parseOverrides(overrides);
  applyOverrides(tree, parsed);
  overrideOrigins(parsed, origins);
  try {
    return deepFreeze(validateConfig(tree, nameOrPath));
  } catch (e) {
    return annotate(e, origins);
  }
}

/** Validates and freezes a config object given in code (e.g. one read back from a checkpoint's folder). */
export function configFromObject(obj: unknown, overrides: readonly string[] = []): ResolvedConfig {
  if (!isPlainObject(obj)) throw new ConfigError('config: expected an object');
  const { extends: parent, ...rest } = obj;
  const issues = checkKeys(rest, undefined, false);
  if (issues.length) throw new ConfigError(issues.length === 1 ? issues[0]! : `invalid config:\n  ${issues.join('\n  ')}`, issues);
  const origins: ConfigOrigins = new Map();
  const tree = typeof parent === 'string' ? resolveConfigTree(parent, {}, origins) : (clone(DEFAULT_CONFIG) as unknown as Record<string, unknown>);
  deepMerge(tree, clone(rest));
  recordOrigins(rest, 'the given object', origins);
  const parsed = parseOverrides(overrides);
  applyOverrides(tree, parsed);
  overrideOrigins(parsed, origins);
  try {
    return deepFreeze(validateConfig(tree));
  } catch (e) {
    return annotate(e, origins);
  }
}

/** A mutable deep copy of a resolved config (for code that wants to tweak one in memory). */
export function cloneConfig(c: ResolvedConfig | Config): Config {
  return clone(c) as Config;
}
