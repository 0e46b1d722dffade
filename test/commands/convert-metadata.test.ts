// `convert` to .safetensors records where the weights came from without local paths: the input's file
// name, its format, which weights, the config's name and scoreflow's version; and `inspect` shows it.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { conversionMetadata, run as convert } from '../../src/commands/convert.js';
import { run as inspect } from '../../src/commands/inspect.js';
import { readSafetensorsFile } from '../../src/formats/safetensors.js';
import { REFERENCE_FIXTURES } from '../reference-fixtures.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

async function quiet(fn: () => Promise<void>): Promise<string> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => { lines.push(s); };
  try { await fn(); } finally { console.log = log; }
  return lines.join('\n');
}

describe('safetensors metadata of a conversion', () => {
  // A folder deep in a user-specific place, so that a leaked path would be visible.
  const dir = join(mkdtempSync(join(tmpdir(), 'sf-meta-')), 'home', userInfo().username, 'secret-project');
  mkdirSync(dir, { recursive: true });
  const input = join(dir, 'ckpt_a.pth');
  copyFileSync(REFERENCE_FIXTURES + 'ckpt_a.pth', input);

  it('a training checkpoint: base name, format, weights, version; no path', async () => {
    const out = join(dir, 'ema.safetensors');
    await quiet(() => convert({ input, output: out, weights: 'ema' }, []));
    const { metadata } = readSafetensorsFile(out);
    expect(metadata).toEqual({ format: 'pt', source: 'ckpt_a.pth', source_format: 'torch-zip', weights: 'ema', scoreflow_version: VERSION });
    const text = JSON.stringify(metadata);
    for (const leak of [dir, tmpdir(), homedir(), 'secret-project', '/']) expect(text).not.toContain(leak);
    // The raw file too: the header is the only place a path could hide.
    const raw = readFileSync(out);
    const header = raw.subarray(8, 8 + Number(raw.readBigUInt64LE(0))).toString('utf8');
    expect(header).not.toContain(dir);
    expect(header).not.toContain('secret-project');
    expect(await quiet(() => inspect({ file: out }))).toContain(`  metadata: format=pt, source=ckpt_a.pth, source_format=torch-zip, weights=ema, scoreflow_version=${VERSION}\n`);
  });

  it('a config given as a file is named by its file name only; a bundled one by its name', () => {
    const w = { weights: new Map(), format: 'flax-msgpack' as const, choice: 'raw' as const, kind: '' };
    expect(conversionMetadata(join(dir, 'checkpoint_7'), w, join(dir, 'my_model.json'))).toEqual({
      format: 'pt', source: 'checkpoint_7', source_format: 'flax-msgpack', weights: 'raw', config: 'my_model.json', scoreflow_version: VERSION,
    });
    expect(conversionMetadata('checkpoint_7', w, 'score_flow/vp/cifar10_ddpmpp_continuous').config).toBe('score_flow/vp/cifar10_ddpmpp_continuous');
    expect(conversionMetadata('checkpoint_7', w, './configs/x').config).toBe('x');
  });
});
