/**
 * Validation of a complete config: every field typed and range-checked, unknown keys rejected (naming
 * the key path and listing the valid keys), then cross-field checks that mirror the references'
 * assertions and crashes (documented in the spec) so that they surface at load time, not hours into a run.
 */
import { ConfigError, describeValue } from './errors.js';
import { SCHEMA, TOP_LEVEL_KEYS, expectedText, isSectionName, type FieldSpec } from './schema.js';
import type { Config, DeepReadonly } from './types.js';
import { closest } from '../suggest.js';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function hasOwn(o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

export function unknownKeyMessage(path: string, key: string, valid: readonly string[], source?: string, field?: string): string {
  const where = path ? `'${path}.${key}'` : `'${key}'`;
  const level = path ? `under '${path}'` : 'at the top level';
  const near = nearestKeys(path, key, valid, field);
  const hint = near.length ? `did you mean ${near.map((k) => `'${k}'`).join(' or ')}? ` : '';
  return `unknown config key ${where}${source ? ` in ${source}` : ''}; ${hint}valid keys ${level}: ${valid.join(', ')}`;
}

/**
 * Dotted keys the user probably meant by `key` under `path`: the nearest valid key by edit distance
 * (`training.n_iter` → `training.n_iters`), else the sections holding that field (`training.lr` →
 * `optim.lr`; a top-level `batch_size` → `training.batch_size`, `eval.batch_size`). `field` is the name
 * after an unknown section (`optimizer.lr` → `optim.lr`): it says more than the section's name.
 */
function nearestKeys(path: string, key: string, valid: readonly string[], field?: string): string[] {
  const near = closest(key, valid);
  if (near !== undefined) return [path ? `${path}.${near}` : near];
  const name = field ?? key;
  return TOP_LEVEL_KEYS.filter((s) => s !== path && isSectionName(s) && hasOwn(SCHEMA[s], name)).map((s) => `${s}.${name}`);
}

/**
 * Checks only the shape of a (possibly partial) config: known keys, sections are objects.
 * Used on every config file before merging so that a typo names the file it is in.
 */
export function checkKeys(raw: unknown, source?: string, allowExtends = false): string[] {
  const issues: string[] = [];
  const src = source ? ` in ${source}` : '';
  if (!isPlainObject(raw)) {
    issues.push(`config${src}: expected an object, received ${describeValue(raw)}`);
    return issues;
  }
  const topValid = allowExtends ? ['extends', ...TOP_LEVEL_KEYS] : [...TOP_LEVEL_KEYS];
  for (const k of Object.keys(raw)) {
    if (k === 'extends' && allowExtends) continue;
    if (!(TOP_LEVEL_KEYS as readonly string[]).includes(k)) {
      issues.push(unknownKeyMessage('', k, topValid, source));
      continue;
    }
    if (isSectionName(k)) {
      const sec = raw[k];
      if (!isPlainObject(sec)) {
        issues.push(`config.${k}${src}: expected an object with keys ${Object.keys(SCHEMA[k]).join(', ')}, received ${describeValue(sec)}`);
        continue;
      }
      const valid = Object.keys(SCHEMA[k]);
      for (const f of Object.keys(sec)) {
        if (!valid.includes(f)) issues.push(unknownKeyMessage(k, f, valid, source));
      }
    }
  }
  return issues;
}

/** Returns the normalized value or an issue string. Lists are copied. */
export function checkField(path: string, spec: FieldSpec, v: unknown): { ok: true; value: unknown } | { ok: false; issue: string } {
  const bad = (): { ok: false; issue: string } =>
    ({ ok: false, issue: `config.${path}: expected ${expectedText(spec)}, received ${describeValue(v)}` });
  switch (spec.kind) {
    case 'bool':
      return typeof v === 'boolean' ? { ok: true, value: v } : bad();
    case 'int': {
      if (typeof v !== 'number' || !Number.isInteger(v)) return bad();
      if (spec.oneOf && !spec.oneOf.includes(v)) return bad();
      if (spec.min !== undefined && v < spec.min) return bad();
      if (spec.max !== undefined && v > spec.max) return bad();
      return { ok: true, value: v };
    }
    case 'number': {
      if (typeof v !== 'number' || !Number.isFinite(v)) return bad();
      if (spec.min !== undefined && (spec.minExclusive ? v <= spec.min : v < spec.min)) return bad();
      if (spec.max !== undefined && (spec.maxExclusive ? v >= spec.max : v > spec.max)) return bad();
      return { ok: true, value: v };
    }
    case 'enum':
      if (spec.orBool && typeof v === 'boolean') return { ok: true, value: v };
      return typeof v === 'string' && spec.values.includes(v) ? { ok: true, value: v } : bad();
    case 'string': {
      if (v === null && spec.nullable) return { ok: true, value: null };
      if (typeof v !== 'string') return bad();
      if (spec.pattern && !spec.pattern.test(v)) return bad();
      return { ok: true, value: v };
    }
    case 'intList': {
      if (!Array.isArray(v)) return bad();
      if (spec.minLength !== undefined && v.length < spec.minLength) return bad();
      for (const e of v) {
        if (typeof e !== 'number' || !Number.isInteger(e)) return bad();
        if (spec.min !== undefined && e < spec.min) return bad();
      }
      return { ok: true, value: [...v] };
    }
    case 'numberList': {
      if (!Array.isArray(v)) return bad();
      if (spec.minLength !== undefined && v.length < spec.minLength) return bad();
      for (const e of v) if (typeof e !== 'number' || !Number.isFinite(e)) return bad();
      return { ok: true, value: [...v] };
    }
  }
}

/** GroupNorm(min(C // 4, 32)) needs C divisible by the group count. */
function groupNormOk(c: number): boolean {
  const g = Math.min(Math.floor(c / 4), 32);
  return g >= 1 && c % g === 0;
}

/** Channel counts that NCSN++ feeds to GroupNorm layers (spec §4.3, non-progressive path). */
export function ncsnppGroupNormChannels(nf: number, chMult: readonly number[], numResBlocks: number): number[] {
  const out = new Set<number>();
  const hs: number[] = [nf];
  let inCh = nf;
  const L = chMult.length;
  for (let l = 0; l < L; l++) {
    for (let i = 0; i < numResBlocks; i++) {
      out.add(inCh);
      inCh = nf * chMult[l]!;
      out.add(inCh);
      hs.push(inCh);
    }
    if (l < L - 1) { out.add(inCh); hs.push(inCh); }
  }
  out.add(inCh);
  for (let l = L - 1; l >= 0; l--) {
    for (let i = 0; i < numResBlocks + 1; i++) {
      const skip = hs.pop() ?? nf;
      out.add(inCh + skip);
      inCh = nf * chMult[l]!;
      out.add(inCh);
    }
  }
  return [...out].sort((a, b) => a - b);
}

/** Cross-field checks on an already type-checked config. */
export function crossChecks(c: Config): string[] {
  const issues: string[] = [];
  const t = c.training;
  if (t.likelihood_weighting && !t.continuous) {
    issues.push('config.training.likelihood_weighting: likelihood weighting needs continuous training (training.continuous=true); the references assert it off for discrete SMLD/DDPM training');
  }
  if (t.importance_weighting && !t.likelihood_weighting) {
    issues.push('config.training.importance_weighting: importance sampling of t only applies together with likelihood weighting; set training.likelihood_weighting=true as well (the score_flow README repeats the first flag by mistake)');
  }
  if (t.importance_weighting && t.sde === 'vesde') {
    issues.push("config.training.importance_weighting: not available for training.sde='vesde' (the references implement it for 'vpsde' and 'subvpsde' only)");
  }
  if (!t.continuous && t.sde === 'subvpsde') {
    issues.push("config.training.continuous: discrete training exists for 'vpsde' (DDPM) and 'vesde' (SMLD) only, received continuous=false with sde 'subvpsde'");
  }
  if (t.score_matching_order > 1 && !t.reduce_mean) {
    issues.push(`config.training.score_matching_order: order ${t.score_matching_order} needs training.reduce_mean=true (asserted by mle_score_ode)`);
  }
  if (t.score_matching_order > 1 && !t.continuous) {
    issues.push(`config.training.score_matching_order: order ${t.score_matching_order} needs training.continuous=true`);
  }
  for (const k of ['log_freq', 'eval_freq', 'snapshot_freq', 'snapshot_freq_for_preemption'] as const) {
    if (t[k] % t.n_jitted_steps !== 0) {
      issues.push(`config.training.${k}: expected a multiple of training.n_jitted_steps (${t.n_jitted_steps}), received ${t[k]}`);
    }
  }
  const s = c.sampling;
  if (s.method === 'pc') {
    if (t.sde === 'subvpsde' && s.corrector === 'langevin') {
      issues.push("config.sampling.corrector: 'langevin' needs the SDE's discrete alphas, which 'subvpsde' lacks (crashes in the references); use 'ald' or 'none'");
    }
    if (s.predictor === 'ancestral_sampling' && t.sde === 'subvpsde') {
      issues.push("config.sampling.predictor: 'ancestral_sampling' is defined for 'vpsde' and 'vesde' only, received sde 'subvpsde'");
    }
    if (s.predictor === 'ancestral_sampling' && s.probability_flow) {
      issues.push("config.sampling.predictor: 'ancestral_sampling' does not support sampling.probability_flow=true");
    }
  }
  const e = c.eval;
  if (e.begin_ckpt > e.end_ckpt) {
    issues.push(`config.eval.begin_ckpt: expected <= eval.end_ckpt (${e.end_ckpt}), received ${e.begin_ckpt}`);
  }
  const m = c.model;
  if (m.sigma_max <= m.sigma_min) {
    issues.push(`config.model.sigma_max: expected > model.sigma_min (${m.sigma_min}), received ${m.sigma_max}`);
  }
  if (m.beta_max <= m.beta_min) {
    issues.push(`config.model.beta_max: expected > model.beta_min (${m.beta_min}), received ${m.beta_max}`);
  }
  const L = m.ch_mult.length;
  const size = c.data.image_size;
  const factor = 2 ** (L - 1);
  if (size % factor !== 0) {
    issues.push(`config.data.image_size: expected a multiple of 2^(len(model.ch_mult)-1) = ${factor} (model.ch_mult has ${L} levels), received ${size}`);
  } else {
    const resolutions = Array.from({ length: L }, (_, l) => size / 2 ** l);
    for (const r of m.attn_resolutions) {
      if (!resolutions.includes(r)) {
        issues.push(`config.model.attn_resolutions: ${r} is not a feature-map size of this network; with image_size ${size} and ${L} levels the sizes are ${resolutions.join(', ')}`);
      }
    }
  }
  const badGn = ncsnppGroupNormChannels(m.nf, m.ch_mult, m.num_res_blocks).filter((ch) => !groupNormOk(ch));
  if (badGn.length) {
    issues.push(`config.model.nf: GroupNorm(min(C/4, 32)) cannot split ${badGn.join(', ')} channels evenly with nf ${m.nf} and ch_mult [${m.ch_mult.join(', ')}]; use nf a multiple of 32 (or of 4 for small nets)`);
  }
  return issues;
}

/**
 * Validates a complete config object (no `extends`) and returns a normalized deep copy.
 * Throws ConfigError (code 'ERR_CONFIG') listing every problem found.
 */
export function validateConfig(raw: unknown, source?: string): Config {
  const issues = checkKeys(raw, source, false);
  if (!isPlainObject(raw)) throw new ConfigError(issues.join('\n'), issues);
  const out: Record<string, unknown> = {};
  for (const top of TOP_LEVEL_KEYS) {
    if (!hasOwn(raw, top)) {
      issues.push(`config.${top}: missing${isSectionName(top) ? ' section' : ''}${source ? ` in ${source}` : ''}`);
      continue;
    }
    if (isSectionName(top)) {
      const sec = raw[top];
      if (!isPlainObject(sec)) continue; // reported by checkKeys
      const specs = SCHEMA[top] as Record<string, FieldSpec>;
      const o: Record<string, unknown> = {};
      for (const [k, spec] of Object.entries(specs)) {
        if (!hasOwn(sec, k)) {
          issues.push(`config.${top}.${k}: missing; expected ${expectedText(spec)}`);
          continue;
        }
        const r = checkField(`${top}.${k}`, spec, sec[k]);
        if (r.ok) o[k] = r.value; else issues.push(r.issue);
      }
      out[top] = o;
    } else {
      const r = checkField(top, SCHEMA[top], raw[top]);
      if (r.ok) out[top] = r.value; else issues.push(r.issue);
    }
  }
  if (issues.length === 0) issues.push(...crossChecks(out as unknown as Config));
  if (issues.length) {
    const head = issues.length === 1 ? issues[0]! : `invalid config${source ? ` (${source})` : ''}:\n  ${issues.join('\n  ')}`;
    throw new ConfigError(head, issues);
  }
  return out as unknown as Config;
}

export function deepFreeze<T>(o: T): DeepReadonly<T> {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o as DeepReadonly<T>;
}
