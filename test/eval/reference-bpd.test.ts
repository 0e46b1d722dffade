/**
 * Agreement with score_sde_pytorch's likelihood.py on the golden DDPM++ model (a_ddpmpp) for four fixed images
 * and a fixed Rademacher probe: the reference's numbers (and how the inputs were made) are in
 * test/data/eval/reference_bpd.json; the uint8 images and the probe in reference_inputs.npz.
 * Checked: the references' defaults eps = rtol = atol = 1e-5 (~1270 NFE: ~1.5 min here on 2 cores, ~12 min for
 * the reference). The JSON also records a loose-tolerance case (1e-3) that is ill-conditioned for this
 * untrained model (the adaptive path is chaotic: 1e-6 input changes move bpd by 0.04), not compared. Even at
 * the defaults, float32 rounding alone (the reference with 1 vs 2 BLAS threads) moves the reference's bpd by up
 * to 0.02 for this model, so 5e-3 is as tight as this comparison can meaningfully be; we are at 2.3e-3.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { readNpzFile } from '../../src/formats/npz.js';
import { loadTorchFile, asStateDict } from '../../src/formats/torch-load.js';
import { configFromObject } from '../../src/config/index.js';
import { ScoreModel } from '../../src/model/score-model.js';
import { sdeFromConfig, getScoreFn } from '../../src/sde/index.js';
import { odeLikelihood, registerProbe } from '../../src/likelihood/index.js';
import { fromHost } from '../../src/tensor.js';
import { tidy } from '../../src/scope.js';
import { setNumThreads } from '../../src/device.js';
import { generator } from '../../src/random.js';
import { REFERENCE_FIXTURES } from '../reference-fixtures.js';

const FIX = REFERENCE_FIXTURES;
const DATA = new URL('../data/eval/', import.meta.url).pathname;
const ref = JSON.parse(readFileSync(DATA + 'reference_bpd.json', 'utf8'));

interface Case { name: string; check: boolean; eps: number; rtol: number; atol: number; bpd: number[]; nfe: number }

describe('ODE bits/dim vs score_sde_pytorch likelihood.py (golden a_ddpmpp)', () => {
  for (const c of (ref.cases as Case[]).filter((k) => k.check)) {
    it(`${c.name}: eps ${c.eps}, rtol/atol ${c.rtol}: bpd per image within 5e-3 (nfe ${c.nfe})`, () => {
      setNumThreads(2);
      const meta = JSON.parse(readFileSync(FIX + 'a_ddpmpp.json', 'utf8'));
      const config = configFromObject({ model: meta.config.model, data: meta.config.data, training: { sde: 'vpsde', continuous: true } });
      const model = new ScoreModel(config, { seed: 0 });
      model.loadStateDict(asStateDict(loadTorchFile(FIX + 'a_ddpmpp.pth')));
      model.eval();
      const io = readNpzFile(DATA + 'reference_inputs.npz');
      const images = io.get('images')!;
      const probe = io.get('probe')!;
      expect(images.shape).toEqual([4, 3, 32, 32]);
      registerProbe('golden-fixed', (shape) => {
        expect(shape).toEqual(probe.shape);
        return fromHost({ dtype: 'float32', shape: probe.shape, data: Float32Array.from(probe.data as Int8Array) });
      });
      try {
        tidy(() => {
          const u8 = images.data as Uint8Array;
          const data = new Float32Array(u8.length);
          for (let i = 0; i < u8.length; i++) data[i] = ((u8[i]! + 0.5) / 256) * 2 - 1; // midpoint dequantization, centered scaler
          const x = fromHost({ dtype: 'float32', shape: images.shape, data });
          const sde = sdeFromConfig(config);
          const scoreFn = getScoreFn(sde, model, { continuous: true, train: false });
          const r = odeLikelihood(scoreFn, sde, x, { eps: c.eps, rtol: c.rtol, atol: c.atol, hutchinson: 'golden-fixed', generator: generator(0), offset: 'centered' });
          const got = Array.from(r.bpd.toArray() as Float64Array);
          console.log(`reference bpd ${c.bpd.map((v) => v.toFixed(6)).join(' ')} nfe ${c.nfe}\nscoreflow bpd ${got.map((v) => v.toFixed(6)).join(' ')} nfe ${r.nfe}`);
          got.forEach((v, i) => expect(Math.abs(v - c.bpd[i]!)).toBeLessThan(5e-3));
          expect(Math.abs(r.nfe - c.nfe)).toBeLessThanOrEqual(Math.ceil(c.nfe * 0.1));
        });
      } finally {
        model.dispose();
      }
    }, 900_000);
  }
});
