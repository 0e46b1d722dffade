import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/formats/registry.js';
import { writeSafetensors } from '../../src/formats/safetensors.js';
import { DATA } from './helpers.js';

/** Corrupted and truncated inputs may fail, but only with ERR_FORMAT — never a crash or a stray TypeError. */
describe('every reader survives corrupted input', () => {
  const files: [string, Uint8Array][] = [
    ...['mixed_zip.pt', 'mixed_legacy.pt', 'proto5.pt', 'plain.npz', 'compressed.npz', 'fortran.npy', 'zip64.zip'].map(
      (f) => [f, new Uint8Array(readFileSync(join(DATA, f)))] as [string, Uint8Array]),
    ['tiny_flax_checkpoint', new Uint8Array(readFileSync(join(DATA, 'tiny_flax_checkpoint'))).subarray(0, 4000)],
    ['x.safetensors', writeSafetensors({ a: { dtype: 'float32', shape: [3], data: new Float32Array(3) } })],
  ];
  for (const [name, src] of files) {
    it(name, () => {
      let seed = 7;
      const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
      let failures = 0;
      for (let trial = 0; trial < 150; trial++) {
        let b = Uint8Array.from(src);
        if (trial % 3 === 0) b = b.subarray(0, Math.floor(rnd() * b.length));
        else for (let k = 0; k < 1 + (trial % 5); k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
        try {
          readCheckpoint(b, name);
        } catch (e) {
          failures++;
          if ((e as { code?: string }).code !== 'ERR_FORMAT') throw new Error(`${name} trial ${trial}: ${String(e)}`, { cause: e });
        }
      }
      expect(failures).toBeGreaterThan(0);
    });
  }
});
