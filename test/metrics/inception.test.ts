// Inception-v3 (native/nn/inception.cc) architecture tests. No real weights exist here, so:
//  - the state-dict key list and shapes equal pytorch-fid's FID Inception (fid_inception_keys.json: the
//    state_dict() of a torch model built from a reading of pytorch-fid src/pytorch_fid/inception.py and
//    torchvision's Inception3(num_classes=1008, aux_logits=False), torch 1.13);
//  - a golden forward (fid_inception_golden.npz) of that torch model with deterministic weights
//    w_k[i] = sin(0.37·i + 1.3·k) (k = index among state-dict entries without num_batches_tracked, scaled
//    per kind as in formulaWeights below) on x[i] = sin(0.1·i), x [2,3,32,32] → bilinear 299×299;
//  - random-weight forwards give finite outputs of the right shapes for both variants.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InceptionV3, guessVariant } from '../../src/metrics/index.js';
import { arange, fromHost, full, type Tensor } from '../../src/tensor.js';
import { tidy } from '../../src/scope.js';
import { readNpzFile } from '../../src/formats/npz.js';
import { DATA } from './helpers.js';

const KEYS = JSON.parse(readFileSync(join(DATA, 'fid_inception_keys.json'), 'utf8')) as [string, number[]][];

function formulaWeights(net: InceptionV3): void {
  const sd = net.stateDict();
  const host = new Map<string, Tensor>();
  let k = 0;
  for (const [name, t] of sd) {
    if (name.endsWith('num_batches_tracked')) continue;
    const n = t.numel;
    const s = arange(0, n, 1, { dtype: 'float64' }).mul(0.37).add(1.3 * k).sin();
    let v: Tensor;
    if (name.endsWith('conv.weight')) v = s.mul(2 / Math.sqrt(n / t.shape[0]));
    else if (name === 'fc.weight') v = s.div(Math.sqrt(2048));
    else if (name.endsWith('bn.weight')) v = s.mul(0.1).add(1);
    else if (name.endsWith('running_var')) v = s.add(1).mul(0.25).add(1);
    else v = s.mul(0.1);
    host.set(name, v.to('float32').reshape(t.shape));
    k++;
  }
  for (const t of sd.values()) t.dispose();
  net.loadStateDict(host);
}

describe('InceptionV3 (fid variant)', () => {
  it('has exactly the pytorch-fid FID Inception state-dict keys, order and shapes', () => {
    const net = new InceptionV3();
    try {
      expect(net.variant).toBe('fid');
      expect(net.numClasses).toBe(1008);
      expect(net.stateDictKeys()).toEqual(KEYS.map(([k]) => k));
      tidy(() => {
        const sd = net.stateDict();
        for (const [k, shape] of KEYS) expect([k, sd.get(k)!.shape]).toEqual([k, shape]);
      });
      const params = KEYS.filter(([k]) => /\.(weight|bias)$/.test(k)).reduce((s, [, sh]) => s + sh.reduce((a, b) => a * b, 1), 0);
      expect(net.numParameters()).toBe(params);
      expect(net.numParameters()).toBe(23_850_960);
    } finally {
      net.dispose();
    }
  });

  it('reproduces the torch forward with deterministic weights (pool3 and logits)', () => {
    const golden = readNpzFile(join(DATA, 'fid_inception_golden.npz'));
    const net = new InceptionV3();
    try {
      tidy(() => {
        formulaWeights(net);
        const x = arange(0, 2 * 3 * 32 * 32, 1, { dtype: 'float64' }).mul(0.1).sin().to('float32').reshape([2, 3, 32, 32]);
        const { pool3, logits } = net.forward(x);
        expect(pool3.shape).toEqual([2, 2048]);
        expect(logits.shape).toEqual([2, 1008]);
        const p = fromHost(golden.get('pool3')!);
        const l = fromHost(golden.get('logits')!);
        expect(pool3.sub(p).abs().max().item()).toBeLessThan(1e-4 * Math.max(1, p.abs().max().item()));
        expect(logits.sub(l).abs().max().item()).toBeLessThan(1e-4 * Math.max(1, l.abs().max().item()));
        // The TF quirks matter: torchvision's blocks (padding counted in avg pools, avg pool in Mixed_7c)
        // with the same weights give clearly different features.
        const tv = new InceptionV3({ variant: 'torchvision', numClasses: 1008 });
        try {
          const sd = net.stateDict();
          tv.loadStateDict(sd, { strict: false });
          for (const t of sd.values()) t.dispose();
          expect(tv.forward(x).pool3.sub(p).abs().max().item()).toBeGreaterThan(1e-2 * p.abs().max().item());
        } finally {
          tv.dispose();
        }
      });
    } finally {
      net.dispose();
    }
  });

  it('maps uint8 images with (x − 127.5)/127.5 and accepts any size (resized to 299)', () => {
    const net = new InceptionV3({ seed: 3 });
    try {
      tidy(() => {
        const u8 = arange(0, 3 * 20 * 24, 1, { dtype: 'int64' }).remainder(256).to('uint8').reshape([1, 3, 20, 24]);
        const f = u8.to('float32').sub(127.5).div(127.5);
        const a = net.forward(u8);
        const b = net.forward(f);
        expect(a.pool3.sub(b.pool3).abs().max().item()).toBeLessThan(1e-5);
        expect(a.pool3.isfinite().all().item()).toBe(1);
        expect(a.logits.isfinite().all().item()).toBe(1);
        expect(a.pool3.min().item()).toBeGreaterThanOrEqual(0); // mean of ReLU outputs
      });
    } finally {
      net.dispose();
    }
  });

  it('activations() batches, repeats grayscale to RGB, and loads strict state dicts', async () => {
    const net = new InceptionV3({ seed: 1 });
    try {
      tidy(() => {
        const imgs = full([3, 1, 16, 16], 0.2);
        const { pool3, logits } = net.activations(imgs, { batchSize: 2 });
        expect(pool3.shape).toEqual([3, 2048]);
        expect(logits.shape).toEqual([3, 1008]);
        const one = net.forward(imgs.slice(0, 2, 3).repeat([1, 3, 1, 1]));
        expect(one.pool3.sub(pool3.slice(0, 2, 3)).abs().max().item()).toBeLessThan(1e-5);
      });
      const r = await net.forwardAsync(full([1, 3, 8, 8], 0));
      expect(r.pool3.shape).toEqual([1, 2048]);
      r.pool3.dispose();
      r.logits.dispose();
      // num_batches_tracked may be absent (old state dicts); anything else missing is an error
      const sd = net.stateDict();
      const noCounters = new Map([...sd].filter(([k]) => !k.endsWith('num_batches_tracked')));
      expect(net.loadStateDict(noCounters).missing).toEqual([]);
      const partial = new Map([...noCounters].slice(1));
      expect(() => net.loadStateDict(partial)).toThrow(/missing Conv2d_1a_3x3\.conv\.weight/);
      for (const t of sd.values()) t.dispose();
      expect(guessVariant(new Map([['fc.weight', { shape: [1008, 2048] }]]))).toBe('fid');
      expect(guessVariant(new Map([['fc.weight', { shape: [1000, 2048] }]]))).toBe('torchvision');
    } finally {
      net.dispose();
    }
  });
});

describe('InceptionV3 (torchvision variant)', () => {
  it('has the ImageNet head and AuxLogits parameters, and gives finite outputs', () => {
    const net = new InceptionV3({ variant: 'torchvision', seed: 2 });
    try {
      expect(net.numClasses).toBe(1000);
      expect(net.numParameters()).toBe(27_161_264);
      const keys = net.stateDictKeys();
      expect(keys.filter((k) => k.startsWith('AuxLogits.'))).toContain('AuxLogits.fc.weight');
      expect(keys.indexOf('AuxLogits.conv0.conv.weight')).toBeGreaterThan(keys.indexOf('Mixed_6e.branch_pool.bn.num_batches_tracked'));
      expect(keys.indexOf('AuxLogits.fc.bias')).toBeLessThan(keys.indexOf('Mixed_7a.branch3x3_1.conv.weight'));
      tidy(() => {
        const { pool3, logits } = net.forward(full([1, 3, 299, 299], 0.5));
        expect(logits.shape).toEqual([1, 1000]);
        expect(pool3.isfinite().all().item()).toBe(1);
      });
    } finally {
      net.dispose();
    }
  });
  it('rejects unknown variants and bad inputs', () => {
    expect(() => new InceptionV3({ variant: 'keras' as never })).toThrow(/variant/);
    const net = new InceptionV3();
    try {
      expect(() => tidy(() => net.forward(full([1, 4, 8, 8], 0)))).toThrow(/\[N, 3, H, W\]/);
    } finally {
      net.dispose();
    }
  });
});
