/**
 * Command-line overrides in the references' (ml_collections config_flags) convention:
 *   --config.training.likelihood_weighting=true
 *   --config.model.ch_mult=1,2,2     or  --config.model.ch_mult=[1,2,2]  or  (1,2,2)
 *   --config.optim.lr=1e-4  --config.data.root=/data/cifar  --config.seed 7
 * A boolean flag given without a value means true. The value is parsed to the field's type.
 */
import { ConfigError, describeValue } from './errors.js';
import { SCHEMA, TOP_LEVEL_KEYS, expectedText, fieldSpecAt, isSectionName, type FieldSpec } from './schema.js';
import { unknownKeyMessage } from './validate.js';

export interface Override {
  /** Dotted path without the `config.` prefix, split: ['training', 'batch_size']. */
  path: string[];
  value: unknown;
  /** The argument(s) it came from, for messages. */
  arg: string;
}

const PREFIX = '--config.';

/** Resolves a dotted key path against the schema, throwing an ERR_CONFIG that lists the valid keys. */
export function resolveOverridePath(dotted: string, arg: string): { path: string[]; spec: FieldSpec } {
  const path = dotted.split('.');
  if (path.some((p) => p.length === 0)) {
    throw new ConfigError(`override ${JSON.stringify(arg)}: malformed key path '${dotted}'`);
  }
  const top = path[0]!;
  if (!(TOP_LEVEL_KEYS as readonly string[]).includes(top)) {
    throw new ConfigError(`override ${JSON.stringify(arg)}: ${unknownKeyMessage('', top, TOP_LEVEL_KEYS, undefined, path[1])}`);
  }
  if (isSectionName(top)) {
    const valid = Object.keys(SCHEMA[top]);
    if (path.length === 1) {
      throw new ConfigError(`override ${JSON.stringify(arg)}: 'config.${top}' is a section, not a field; valid keys under '${top}': ${valid.join(', ')}`);
    }
    if (!valid.includes(path[1]!)) {
      throw new ConfigError(`override ${JSON.stringify(arg)}: ${unknownKeyMessage(top, path[1]!, valid)}`);
    }
    if (path.length > 2) {
      throw new ConfigError(`override ${JSON.stringify(arg)}: 'config.${top}.${path[1]}' is a field, it has no key '${path.slice(2).join('.')}'`);
    }
  } else if (path.length > 1) {
    throw new ConfigError(`override ${JSON.stringify(arg)}: 'config.${top}' is a field, it has no key '${path.slice(1).join('.')}'`);
  }
  return { path, spec: fieldSpecAt(path)! };
}

function stripQuotes(s: string): string {
  const t = s.trim();
  if (t.length >= 2 && ((t[0] === '"' && t.at(-1) === '"') || (t[0] === "'" && t.at(-1) === "'"))) return t.slice(1, -1);
  return t;
}

function parseNumberToken(tok: string): number | undefined {
  const t = tok.trim();
  if (t === '' || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}

function parseList(raw: string): string[] {
  let t = raw.trim();
  if ((t.startsWith('[') && t.endsWith(']')) || (t.startsWith('(') && t.endsWith(')'))) t = t.slice(1, -1).trim();
  if (t === '') return [];
  const parts = t.split(',').map((p) => p.trim());
  if (parts.length > 1 && parts.at(-1) === '') parts.pop(); // Python's one-tuple "(16,)"
  return parts;
}

/** Parses the text of an override value to the type of the field. */
export function parseOverrideValue(dotted: string, spec: FieldSpec, raw: string, arg: string): unknown {
  const fail = (received: string): never => {
    throw new ConfigError(`override ${JSON.stringify(arg)}: config.${dotted} expects ${expectedText(spec)}, received ${received}`);
  };
  const text = raw.trim();
  switch (spec.kind) {
    case 'bool': {
      const l = text.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(l)) return true;
      if (['false', '0', 'no', 'off'].includes(l)) return false;
      return fail(JSON.stringify(raw));
    }
    case 'int': case 'number': {
      const n = parseNumberToken(text);
      if (n === undefined) return fail(JSON.stringify(raw));
      return n;
    }
    case 'enum': {
      const v = stripQuotes(text);
      if (spec.orBool && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
      return v;
    }
    case 'string': {
      if (spec.nullable && (text === 'null' || text === 'None' || text === '')) return null;
      return stripQuotes(raw);
    }
    case 'intList': case 'numberList': {
      const parts = parseList(text);
      return parts.map((p) => {
        const n = parseNumberToken(p);
        if (n === undefined) return fail(`${JSON.stringify(raw)} (element ${JSON.stringify(p)} is not a number)`);
        return n;
      });
    }
  }
}

/**
 * Parses override arguments. Accepts `--config.a.b=v`, `--config.a.b v`, a bare boolean flag
 * `--config.a.b` (= true), and the same forms without the `--config.` prefix (`a.b=v`).
 * Returns overrides in order (later ones win when applied).
 */
export function parseOverrides(args: readonly string[]): Override[] {
  const out: Override[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    let body: string;
    if (arg.startsWith(PREFIX)) body = arg.slice(PREFIX.length);
    else if (arg.startsWith('config.')) body = arg.slice('config.'.length);
    else if (arg.startsWith('-')) throw new ConfigError(`override ${JSON.stringify(arg)}: expected --config.<section>.<key>=<value>`);
    else body = arg;
    const eq = body.indexOf('=');
    const dotted = eq >= 0 ? body.slice(0, eq) : body;
    const { path, spec } = resolveOverridePath(dotted, arg);
    let rawValue: string;
    let shown = arg;
    if (eq >= 0) {
      rawValue = body.slice(eq + 1);
    } else {
      const next = args[i + 1];
      if (spec.kind === 'bool' && (next === undefined || next.startsWith('--') || !/^(true|false|1|0|yes|no|on|off)$/i.test(next))) {
        rawValue = 'true';
      } else if (next === undefined) {
        throw new ConfigError(`override ${JSON.stringify(arg)}: missing value for config.${dotted} (expected ${expectedText(spec)})`);
      } else {
        rawValue = next;
        shown = `${arg} ${next}`;
        i++;
      }
    }
    out.push({ path, value: parseOverrideValue(dotted, spec, rawValue, shown), arg: shown });
  }
  return out;
}

/** Applies overrides to a (merged, mutable) config tree in place. */
export function applyOverrides(tree: Record<string, unknown>, overrides: readonly Override[]): void {
  for (const o of overrides) {
    if (o.path.length === 1) {
      tree[o.path[0]!] = o.value;
    } else {
      const sec = tree[o.path[0]!];
      if (typeof sec !== 'object' || sec === null || Array.isArray(sec)) {
        throw new ConfigError(`override ${JSON.stringify(o.arg)}: config.${o.path[0]} is ${describeValue(sec)}, not a section`);
      }
      (sec as Record<string, unknown>)[o.path[1]!] = o.value;
    }
  }
}
