import { describe, expect, it } from 'vitest';
import { tensor, Tensor } from '../../src/tensor.js';
import { grad, gradAsync, backwardAsync, noGrad, enableGrad, isGradEnabled } from '../../src/autograd.js';
import { tidy } from '../../src/scope.js';
import { randn, generator } from '../../src/random.js';

const f64 = (t: Tensor) => Array.from(t.toArray() as Float64Array);

// f(x) = Σ sin(x)·x² + exp(x0·x1): an analytic function with a dense Hessian.
function f(x: Tensor): Tensor {
  const a = x.sin().mul(x.square()).sum();
  const b = x.select(0, 0).mul(x.select(0, 1)).exp();
  return a.add(b);
}

function finiteDiff(fn: (x: Float64Array) => number, x: Float64Array, h = 1e-6): number[] {
  return Array.from(x, (_, i) => {
    const p = Float64Array.from(x); p[i] += h;
    const m = Float64Array.from(x); m[i] -= h;
    return (fn(p) - fn(m)) / (2 * h);
  });
}

describe('autograd', () => {
  it('backward gradients equal central finite differences (float64)', () => {
    tidy(() => {
      const x0 = new Float64Array([0.3, -0.7, 1.1]);
      const x = tensor(x0).requiresGrad_();
      f(x).backward();
      const fd = finiteDiff((v) => tidy(() => f(tensor(v)).item()), x0);
      f64(x.grad!).forEach((g, i) => expect(g).toBeCloseTo(fd[i], 7));
    });
  });

  it('double backward: Hessian-vector products equal finite differences of the gradient', () => {
    tidy(() => {
      const x0 = new Float64Array([0.3, -0.7, 1.1]);
      const dir = [1, -1, 1];
      const v = tensor(new Float64Array(dir));
      const x = tensor(x0).requiresGrad_();
      const [g] = grad(f(x), x, { createGraph: true });
      const [hv] = grad(g!.mul(v).sum(), x);
      const gradAt = (p: Float64Array) => tidy(() => {
        const xp = tensor(p).requiresGrad_();
        return f64(grad(f(xp), xp)[0]!);
      });
      const h = 1e-6;
      const plus = gradAt(Float64Array.from(x0, (e, i) => e + h * dir[i]));
      const minus = gradAt(Float64Array.from(x0, (e, i) => e - h * dir[i]));
      f64(hv!).forEach((e, i) => expect(e).toBeCloseTo((plus[i] - minus[i]) / (2 * h), 6));
    });
  });

  it('third derivatives through createGraph (d³/dx³ of x⁴ = 24x)', () => {
    tidy(() => {
      const x = tensor(new Float64Array([0.5, 2])).requiresGrad_();
      const [g1] = grad(x.pow(4).sum(), x, { createGraph: true });
      const [g2] = grad(g1!.sum(), x, { createGraph: true });
      const [g3] = grad(g2!.sum(), x);
      expect(f64(g3!)).toEqual([12, 48]);
    });
  });

  it('vector–Jacobian products with gradOutputs, unused inputs, and grad-mode scopes', () => {
    tidy(() => {
      const x = tensor(new Float64Array([1, 2])).requiresGrad_();
      const unused = tensor(new Float64Array([1])).requiresGrad_();
      const [gx, gu] = grad(x.mul(3), [x, unused], { gradOutputs: [tensor(new Float64Array([1, 10]))], allowUnused: true });
      expect(f64(gx!)).toEqual([3, 30]);
      expect(gu).toBeNull();
      noGrad(() => {
        expect(isGradEnabled()).toBe(false);
        expect(x.mul(2).requiresGrad).toBe(false);
        enableGrad(() => expect(x.mul(2).requiresGrad).toBe(true));
      });
      expect(isGradEnabled()).toBe(true);
      expect(x.detach().requiresGrad).toBe(false);
    });
  });

  it('async grad and backward give the sync results', async () => {
    const gen = generator(3);
    const x = randn([4, 5], { dtype: 'float64', generator: gen }).requiresGrad_();
    const w = randn([5, 2], { dtype: 'float64', generator: gen });
    const loss = () => x.matmul(w).tanh().sum();
    const [gs] = grad(loss(), x);
    const [ga] = await gradAsync(loss(), x);
    expect(f64(ga!)).toEqual(f64(gs!));
    await backwardAsync(loss());
    expect(f64(x.grad!)).toEqual(f64(gs!));
    await expect(gradAsync(x.sum(), w)).rejects.toMatchObject({ code: 'ERR_TORCH' });
    for (const t of [x, w, gs!, ga!]) t.dispose();
  });
});
