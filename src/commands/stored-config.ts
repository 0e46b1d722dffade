/**
 * A config stored in a checkpoint, said briefly: the bundled config it differs least from, plus the
 * overrides that turn that one into it (`fmnist_small --config.model.nf=8 …`), as a user would have typed it.
 */
import { configFromObject, diffConfigs, listConfigs, loadConfig, overridesBetween } from '../config/index.js';
import type { ConfigSummary } from './inspect-report.js';

export function summariseStoredConfig(stored: unknown): ConfigSummary {
  let config: ReturnType<typeof configFromObject>;
  try {
    config = configFromObject(stored);
  } catch (e) {
    return { unreadable: (e as Error).message.split('\n')[0]!, value: stored };
  }
  let best = { name: 'defaults', diffs: diffConfigs(loadConfig('defaults'), config).length };
  for (const name of listConfigs()) {
    const diffs = diffConfigs(loadConfig(name), config).length;
    if (diffs < best.diffs) best = { name, diffs };
  }
  return { base: best.name, overrides: overridesBetween(loadConfig(best.name), config), value: stored };
}
