import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNpzFile } from '../../src/formats/npz.js';
import type { HostTensor } from '../../src/host-tensor.js';

export const DATA = join(dirname(fileURLToPath(import.meta.url)), '..', 'data', 'metrics');

/**
 * test/data/metrics/activations.npz: small random activation sets (numpy default_rng 20261123, d = 16):
 * a [200,16] N(0,1); b [150,16] correlated with mean 0.5; c1 [10,16], c2 [12,16] (fewer rows than
 * dimensions: singular covariances); logits [64,10]; mu_a, sigma_a, mu_b, sigma_b = np.mean / np.cov(rowvar=False).
 * expected.json: values computed independently with numpy/scipy on those arrays — FID via
 * scipy.linalg.sqrtm(Σa·Σb) (pytorch-fid's formula) and via numpy eigh (tfgan's), KID with tfgan's block
 * estimator written in numpy ([mean, std], std null for one block), IS with numpy softmax/KL.
 */
export function activations(): Map<string, HostTensor> { return readNpzFile(join(DATA, 'activations.npz')); }

export interface Expected {
  fid_ab_scipy: number; fid_ab_eigh: number; fid_aa: number; fid_c_eigh: number; 'fid_c_scipy_eps1e-6': number;
  kid_ab_block1024: [number, number | null]; kid_ab_block50: [number, number]; kid_ab_block7: [number, number];
  kid_c_block1024: [number, number | null]; is_random_logits: number;
}
export function expected(): Expected { return JSON.parse(readFileSync(join(DATA, 'expected.json'), 'utf8')) as Expected; }
