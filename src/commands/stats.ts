/**
 * `scoreflow stats --config <c> --out stats.npz [--inception weights.pth]`: Inception pool_3 activations
 * (and logits) of a dataset, written as a reference stats file — `pool_3` (the references' format, what
 * score_sde's assets/stats/*_stats.npz hold), `mu`/`sigma` (pytorch-fid's) and `logits`. See docs/metrics.md.
 */
import { resolve } from 'node:path';
import { loadConfig } from '../config/index.js';
import { datasetFromConfig, type Split } from '../data/index.js';
import { resolveDevice } from '../device.js';
import { ScoreflowError } from '../errors.js';
import { cat, fromHost, type Tensor } from '../tensor.js';
import { tidy } from '../scope.js';
import { InceptionV3, inceptionScore, writeReferenceStats } from '../metrics/index.js';
import { Progress } from '../train/progress.js';

export async function run(args: Record<string, unknown>, overrides: string[]): Promise<void> {
  const config = loadConfig(String(args.config), overrides);
  const out = resolve(String(args.out));
  const weights = (args.inception as string | undefined) ?? process.env.SCOREFLOW_INCEPTION;
  if (!weights) {
    throw new ScoreflowError('ERR_ARG', 'scoreflow stats: no Inception weights. Pass --inception <file> (pytorch-fid ' +
      'pt_inception-2015-12-05-6726825d.pth, or a file converted from it) or set SCOREFLOW_INCEPTION; see docs/metrics.md.');
  }
  const device = resolveDevice(config.device); // --device reaches it as config.device (src/cli.ts)
  // --batch-size and --max-images are checked when the command line is parsed (commands/index.ts).
  const batchSize = (args['batch-size'] as number | undefined) ?? 50;
  const split = String(args.split ?? 'train') as Split;
  const ds = datasetFromConfig(config.data, split);
  const limit = Math.min(ds.length, (args['max-images'] as number | undefined) ?? ds.length);
  if (limit < 2) throw new ScoreflowError('ERR_DATA', `scoreflow stats: the ${split} split of ${ds.name} has ${ds.length} images; FID/KID statistics need at least 2`);

  const net = weights === 'random'
    ? new InceptionV3({ seed: 0, device })  // smoke tests only: the numbers mean nothing
    : InceptionV3.fromFile(weights, { device });
  const started = Date.now();
  const pools: Tensor[] = [];
  const logits: Tensor[] = [];
  try {
    console.error(`scoreflow stats: ${ds.name} ${split} (${limit} of ${ds.length} images, ${ds.channels}×${ds.height}×${ds.width}) ` +
      `through Inception-v3 (${net.variant}${weights === 'random' ? ', RANDOM weights' : ''}) on ${net.device}`);
    const per = ds.channels * ds.height * ds.width;
    const batches = Math.ceil(limit / batchSize);
    const progress = new Progress({ total: limit, label: 'stats', unit: 'img', intervalMs: 10_000 });
    for (let s = 0; s < limit; s += batchSize) {
      const n = Math.min(batchSize, limit - s);
      const buf = new Uint8Array(n * per);
      for (let i = 0; i < n; i++) ds.readImage(s + i, buf, i * per);
      const x = tidy(() => {
        const t = fromHost({ dtype: 'uint8', shape: [n, ds.channels, ds.height, ds.width], data: buf });
        return ds.channels === 1 ? t.repeat([1, 3, 1, 1]) : t;
      });
      try {
        const o = await net.forwardAsync(x);
        pools.push(tidy(() => o.pool3.to('cpu')));
        logits.push(tidy(() => o.logits.to('cpu')));
        o.pool3.dispose();
        o.logits.dispose();
      } finally {
        x.dispose();
      }
      progress.tick(n, { batch: `${s / batchSize + 1}/${batches}` });
    }
    progress.done();
    tidy(() => {
      const p = cat(pools, 0);
      const l = cat(logits, 0);
      writeReferenceStats(out, p, { logits: l });
      const is = inceptionScore(l);
      console.error(`scoreflow stats: wrote ${out} (pool_3 [${p.shape}], mu, sigma, logits [${l.shape}]) in ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s; Inception score of the data: ${is.toFixed(3)}`);
    });
  } finally {
    for (const t of [...pools, ...logits]) t.dispose();
    net.dispose();
  }
}
