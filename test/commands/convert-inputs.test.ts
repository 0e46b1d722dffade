// `convert` and `inspect` on the inputs testers gave them: a plain pickle of a state dict (read, not
// mistaken for msgpack), a flax file without --config, an input path that is not there.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run as convert } from '../../src/commands/convert.js';
import { run as inspect } from '../../src/commands/inspect.js';
import { readSafetensorsFile } from '../../src/formats/safetensors.js';
import { toNumbers } from '../../src/formats/tensor-util.js';
import { DATA } from '../formats/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'sf-convert-inputs-'));
const PLAIN = join(DATA, 'plain_state_dict.pkl'); // CPython pickle.dump(OrderedDict of numpy arrays, protocol=2)

async function output(fn: () => Promise<void>): Promise<string> {
  const log = console.log;
  const lines: string[] = [];
  console.log = (s: string) => { lines.push(s); };
  try { await fn(); } finally { console.log = log; }
  return lines.join('\n');
}

describe('convert / inspect inputs', () => {
  it('a plain pickle of a state dict is inspected and converted', async () => {
    expect(await output(() => inspect({ file: PLAIN, keys: true }))).toMatch(
      /^.*plain_state_dict\.pkl: pickle, state dict\n  2 tensors, 8 elements; dtypes float32×1, float64×1\n  conv\.weight\t\[2, 3\]\tfloat32\n  conv\.bias\t\[2\]\tfloat64/);
    const out = join(dir, 'plain.safetensors');
    await output(() => convert({ input: PLAIN, output: out, weights: 'ema' }, []));
    const st = readSafetensorsFile(out).tensors;
    expect([...st.keys()]).toEqual(['conv.weight', 'conv.bias']);
    expect(toNumbers(st.get('conv.weight')!)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('a flax checkpoint without --config says to name the model config', async () => {
    const flax = join(DATA, 'tiny_flax_checkpoint');
    await expect(convert({ input: flax, output: join(dir, 'f.pth'), weights: 'ema' }, [])).rejects.toMatchObject({
      code: 'ERR_ARG', message: expect.stringMatching(/^--config: .*tiny_flax_checkpoint is a flax checkpoint, which holds no torch parameter names; name the model config/),
    });
  });

  it('a missing input names the path', async () => {
    const missing = join(dir, 'nope.pth');
    for (const p of [convert({ input: missing, output: join(dir, 'o.pth') }, []), inspect({ file: missing })]) {
      await expect(p).rejects.toMatchObject({ code: 'ERR_IO', message: expect.stringMatching(new RegExp(`^checkpoint not found: ${missing} \\(no such file\\)`)) });
    }
  });
});
