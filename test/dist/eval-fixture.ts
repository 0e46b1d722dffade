// The tiny evaluation both sides of test/dist/eval.test.ts run: an untrained 8×8 model, 5 fake images,
// eval batch 2 (2 batches per pass, 2 passes: 4 bits/dim rounds), the eval loss on.
import { ChunkedImageDataset, Prng } from '../../src/data/index.js';

export const EVAL_TINY = [
  'model.nf=8', 'data.image_size=8', 'eval.batch_size=2', 'eval.num_repeats=2', 'eval.begin_ckpt=1', 'eval.end_ckpt=1',
  'eval.rtol=1e-2', 'eval.atol=1e-2', 'device=cpu', 'model.init_scale=1.0', 'eval.enable_loss=true',
];

export function evalDataset(): ChunkedImageDataset {
  const rng = new Prng(1);
  const images = new Uint8Array(5 * 64);
  for (let i = 0; i < images.length; i++) images[i] = Math.floor(rng.nextFloat32() * 256);
  return new ChunkedImageDataset('fake', 'test', 1, 8, 8, [{ images, labels: null }], 'memory');
}
