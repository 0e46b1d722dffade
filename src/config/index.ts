export * from './types.js';
export { ConfigError, describeValue } from './errors.js';
export { SCHEMA, DEFAULT_CONFIG, TOP_LEVEL_KEYS, expectedText, fieldSpecAt, type FieldSpec } from './schema.js';
export { validateConfig, checkKeys, crossChecks, deepFreeze, ncsnppGroupNormChannels } from './validate.js';
export { parseOverrides, parseOverrideValue, applyOverrides, type Override } from './overrides.js';
export {
  loadConfig, configFromObject, cloneConfig, listConfigs, resolveConfigTree, resolveConfigRef, deepMerge,
  DEFAULT_CONFIGS_DIR, type LoadOptions, type ResolvedConfig, type ConfigOrigins,
} from './load.js';
export { flattenConfig, diffConfigs, overridesBetween, configHelp } from './util.js';
