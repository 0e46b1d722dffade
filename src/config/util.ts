/** Helpers around resolved configs: flat views, differences, help text. */
import { SCHEMA, TOP_LEVEL_KEYS, expectedText, isSectionName, type FieldSpec } from './schema.js';
import { DEFAULT_CONFIG } from './schema.js';
import type { Config, DeepReadonly } from './types.js';

type AnyConfig = Config | DeepReadonly<Config>;

/** Leaf values by dotted path ('training.batch_size' → 128), in schema order. */
export function flattenConfig(c: AnyConfig): [string, unknown][] {
  const out: [string, unknown][] = [];
  const rec = c as unknown as Record<string, unknown>;
  for (const top of TOP_LEVEL_KEYS) {
    if (isSectionName(top)) {
      const sec = rec[top] as Record<string, unknown>;
      for (const k of Object.keys(SCHEMA[top])) out.push([`${top}.${k}`, sec[k]]);
    } else out.push([top, rec[top]]);
  }
  return out;
}

/** Paths whose values differ between two configs (lists compared element-wise). */
export function diffConfigs(a: AnyConfig, b: AnyConfig): { path: string; a: unknown; b: unknown }[] {
  const fb = new Map(flattenConfig(b));
  const out: { path: string; a: unknown; b: unknown }[] = [];
  for (const [p, va] of flattenConfig(a)) {
    const vb = fb.get(p);
    if (JSON.stringify(va) !== JSON.stringify(vb)) out.push({ path: p, a: va, b: vb });
  }
  return out;
}

/** Command-line style override arguments that turn `base` into `target` (e.g. to record a run's command). */
export function overridesBetween(base: AnyConfig, target: AnyConfig): string[] {
  return diffConfigs(base, target).map(({ path, b }) =>
    `--config.${path}=${Array.isArray(b) ? `[${(b as unknown[]).join(',')}]` : b === null ? 'null' : String(b)}`);
}

/** One line per field: path, what it accepts, and the built-in default — for `--help`. */
export function configHelp(): string[] {
  const lines: string[] = [];
  const def = new Map(flattenConfig(DEFAULT_CONFIG));
  for (const top of TOP_LEVEL_KEYS) {
    const specs: [string, FieldSpec][] = isSectionName(top)
      ? Object.entries(SCHEMA[top] as Record<string, FieldSpec>).map(([k, s]) => [`${top}.${k}`, s])
      : [[top, SCHEMA[top]]];
    for (const [path, spec] of specs) {
      lines.push(`--config.${path}: ${expectedText(spec)} (default ${JSON.stringify(def.get(path))})`);
    }
  }
  return lines;
}
