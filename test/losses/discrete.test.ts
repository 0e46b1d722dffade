import { describe, expect, it } from 'vitest';
import { generator } from '../../src/random.js';
import { tidy } from '../../src/scope.js';
import { tensor } from '../../src/tensor.js';
import { createSde } from '../../src/sde/index.js';
import { discreteLoss, getLossFn, type LossConfig } from '../../src/losses/index.js';
import { G, arr, batch, maxRelErr, noise, tinyNet } from './fixtures.js';

const cfg = (reduce_mean: boolean): LossConfig => ({
  continuous: false, likelihood_weighting: false, importance_weighting: false, reduce_mean,
  score_matching_order: 1, smallest_time: 1e-5,
});

describe('discrete SMLD / DDPM losses against score_sde_pytorch (float64, injected labels and z)', () => {
  for (const g of G.sp.discrete) {
    it(`${g.sde === 'vesde' ? 'SMLD' : 'DDPM'} reduce_mean=${g.reduce_mean}`, () => {
      tidy(() => {
        const fn = getLossFn(createSde(g.sde), cfg(g.reduce_mean));
        const labels = tensor(G.labels, { dtype: 'int64' });
        const r = fn(tinyNet().net, batch(), { generator: generator(0), labels, z: noise() });
        expect(maxRelErr(arr(r.perExample.loss1), g.per_example)).toBeLessThan(1e-11);
        expect(Math.abs(r.loss.item() - g.loss) / g.loss).toBeLessThan(1e-11);
        expect(Array.from(r.t.toArray() as BigInt64Array, Number)).toEqual(G.labels);
      });
    });
  }

  it('draws labels in [0, N) from the generator, reproducibly; rejects the wrong SDE', () => {
    tidy(() => {
      const fn = getLossFn(createSde('vesde'), cfg(false));
      const a = fn(tinyNet().net, batch(), { generator: generator(3) });
      const b = fn(tinyNet().net, batch(), { generator: generator(3) });
      expect(a.loss.item()).toBe(b.loss.item());
      const labels = Array.from(a.t.toArray() as BigInt64Array, Number);
      labels.forEach((l) => expect(l >= 0 && l < 1000).toBe(true));
      expect(() => discreteLoss('ddpm', createSde('vesde'), { reduceMean: true, train: true }))
        .toThrowError(expect.objectContaining({ code: 'ERR_CONFIG' }));
      expect(() => discreteLoss('smld', createSde('subvpsde'), { reduceMean: true, train: true }))
        .toThrowError(expect.objectContaining({ code: 'ERR_CONFIG' }));
    });
  });
});
