import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REFERENCE_FIXTURES } from '../reference-fixtures.js';
import {
  ConfigError, DEFAULT_CONFIG, SCHEMA, configFromObject, listConfigs, loadConfig, parseOverrides, validateConfig,
  cloneConfig, ncsnppGroupNormChannels, diffConfigs, overridesBetween, configHelp, flattenConfig,
} from '../../src/config/index.js';

function configError(fn: () => unknown): ConfigError {
  try { fn(); } catch (e) {
    expect(e).toBeInstanceOf(Error);
    expect((e as ConfigError).code).toBe('ERR_CONFIG');
    return e as ConfigError;
  }
  throw new Error('expected an ERR_CONFIG error');
}

const REFERENCE_CONFIGS = [
  'score_flow/vp/cifar10_ddpmpp_continuous', 'score_flow/vp/cifar10_ddpmpp_deep_continuous',
  'score_flow/subvp/cifar10_ddpmpp_continuous', 'score_flow/subvp/cifar10_ddpmpp_deep_continuous',
  'score_flow/vp/imagenet32_ddpmpp_continuous', 'score_flow/vp/imagenet32_ddpmpp_deep_continuous',
  'score_flow/subvp/imagenet32_ddpmpp_continuous', 'score_flow/subvp/imagenet32_ddpmpp_deep_continuous',
  'score_sde_pytorch/vp/cifar10_ddpmpp_continuous', 'score_sde_pytorch/vp/cifar10_ddpmpp_deep_continuous',
  'score_sde_pytorch/subvp/cifar10_ddpmpp_continuous', 'score_sde_pytorch/subvp/cifar10_ddpmpp_deep_continuous',
  'mle_score_ode/ve/cifar10_ncsnpp_continuous', 'mle_score_ode/ve/cifar10_ncsnpp_deep_continuous',
  'mle_score_ode/ve/imagenet32_ncsnpp_continuous', 'mle_score_ode/ve/imagenet32_ncsnpp_deep_continuous',
  'fmnist_small', 'fmnist_small_lw_is',
];

describe('config files', () => {
  it('every reference configuration exists and validates', () => {
    const names = listConfigs();
    for (const n of REFERENCE_CONFIGS) expect(names).toContain(n);
    for (const n of names) expect(() => loadConfig(n)).not.toThrow();
  });

  it('defaults validate and are the DDPM++ VP values', () => {
    const c = loadConfig('defaults');
    expect(c).toEqual(DEFAULT_CONFIG);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.model.ch_mult)).toBe(true);
  });

  it('score_flow cifar10 DDPM++ VP matches spec §7.1', () => {
    const c = loadConfig('score_flow/vp/cifar10_ddpmpp_continuous');
    expect(c.training).toMatchObject({
      batch_size: 128, n_iters: 1300001, snapshot_freq: 50000, log_freq: 100, eval_freq: 100,
      snapshot_freq_for_preemption: 10000, snapshot_sampling: true, likelihood_weighting: false,
      importance_weighting: false, continuous: true, n_jitted_steps: 5, reduce_mean: true, smallest_time: 1e-5,
      sde: 'vpsde', score_matching_order: 1,
    });
    expect(c.deq).toEqual({ n_iters: 300001, ema_rate: 0.99, dropout: 0.0, offset: true, architecture: 'auto', filters: 0, components: 0, blocks: 0, heads: 0 });
    expect(c.sampling).toMatchObject({ method: 'ode', smallest_time: 1e-3, n_steps_each: 1, noise_removal: true, probability_flow: false, snr: 0.16 });
    expect(c.eval).toMatchObject({
      begin_ckpt: 26, end_ckpt: 26, ckpt_id: 26, batch_size: 1024, enable_sampling: false, num_samples: 50000,
      enable_loss: false, enable_bpd: true, bpd_dataset: 'test', num_repeats: 5, bound: false, dsm: true,
      dequantizer: false, offset: true,
    });
    expect(c.data).toMatchObject({ dataset: 'CIFAR10', image_size: 32, random_flip: true, centered: true, uniform_dequantization: false, num_channels: 3 });
    expect(c.model).toMatchObject({
      sigma_min: 0.01, sigma_max: 50, num_scales: 1000, beta_min: 0.1, beta_max: 20, dropout: 0.1,
      embedding_type: 'positional', data_init: false, trainable_embedding: false, name: 'ncsnpp', scale_by_sigma: false,
      ema_rate: 0.9999, normalization: 'GroupNorm', nonlinearity: 'swish', nf: 128, ch_mult: [1, 2, 2, 2],
      num_res_blocks: 4, attn_resolutions: [16], resamp_with_conv: true, conditional: true, fir: false,
      fir_kernel: [1, 3, 3, 1], skip_rescale: true, resblock_type: 'biggan', progressive: 'none',
      progressive_input: 'none', progressive_combine: 'sum', attention_type: 'ddpm', init_scale: 0, fourier_scale: 16, conv_size: 3,
    });
    expect(c.optim).toEqual({ weight_decay: 0, optimizer: 'Adam', lr: 2e-4, beta1: 0.9, eps: 1e-8, warmup: 5000, grad_clip: 1 });
    expect(c.seed).toBe(42);
  });

  it('deep and subVP variants differ exactly where the references do', () => {
    const vp = loadConfig('score_flow/vp/cifar10_ddpmpp_continuous');
    const deep = loadConfig('score_flow/vp/cifar10_ddpmpp_deep_continuous');
    expect(deep.training.n_iters).toBe(950001);
    expect([deep.eval.begin_ckpt, deep.eval.end_ckpt, deep.eval.ckpt_id]).toEqual([19, 19, 19]);
    expect(deep.model.num_res_blocks).toBe(8);
    const d = cloneConfig(deep);
    d.training.n_iters = vp.training.n_iters; d.eval.begin_ckpt = d.eval.end_ckpt = d.eval.ckpt_id = 26; d.model.num_res_blocks = 4;
    expect(d).toEqual(vp);

    const sub = loadConfig('score_flow/subvp/cifar10_ddpmpp_continuous');
    expect(sub.training.sde).toBe('subvpsde');
    expect(sub.training.smallest_time).toBe(1e-2);
    expect(sub.sampling.smallest_time).toBe(1e-2);
    const subDeep = loadConfig('score_flow/subvp/cifar10_ddpmpp_deep_continuous');
    expect(subDeep.training).toMatchObject({ sde: 'subvpsde', smallest_time: 1e-2, n_iters: 950001 });
    expect(subDeep.model.num_res_blocks).toBe(8);
  });

  it('imagenet32 configs: dataset, no flip, dropout 0, one repeat, VP eps 1e-5 [quirk]', () => {
    for (const n of ['score_flow/vp/imagenet32_ddpmpp_continuous', 'score_flow/subvp/imagenet32_ddpmpp_deep_continuous']) {
      const c = loadConfig(n);
      expect(c.data).toMatchObject({ dataset: 'ImageNet', random_flip: false, centered: true });
      expect(c.model.dropout).toBe(0);
      expect(c.eval.num_repeats).toBe(1);
      expect(c.eval.batch_size).toBe(1024);
    }
    expect(loadConfig('score_flow/vp/imagenet32_ddpmpp_continuous').training.smallest_time).toBe(1e-5);
    expect(loadConfig('score_flow/vp/imagenet32_ddpmpp_deep_continuous').training.n_iters).toBe(950001);
  });

  it('score_sde_pytorch DDPM++ configs: pc sampler, log 50, eval loss 9..26', () => {
    const c = loadConfig('score_sde_pytorch/subvp/cifar10_ddpmpp_deep_continuous');
    expect(c.training).toMatchObject({ sde: 'subvpsde', log_freq: 50, n_iters: 950001, reduce_mean: true, continuous: true, smallest_time: 1e-5 });
    expect(c.sampling).toMatchObject({ method: 'pc', predictor: 'euler_maruyama', corrector: 'none', smallest_time: 1e-3 });
    expect(c.eval).toMatchObject({ begin_ckpt: 9, end_ckpt: 26, enable_loss: true, enable_bpd: false });
    expect(c.model.num_res_blocks).toBe(8);
    expect(c.model.ema_rate).toBe(0.9999);
  });

  it('mle_score_ode VE NCSN++ configs', () => {
    const c = loadConfig('mle_score_ode/ve/cifar10_ncsnpp_continuous');
    expect(c.training).toMatchObject({ sde: 'vesde', batch_size: 48, n_iters: 4000001, n_jitted_steps: 1, reduce_mean: true, score_matching_order: 1 });
    expect(c.model).toMatchObject({ fir: true, progressive_input: 'residual', embedding_type: 'fourier', scale_by_sigma: true, ema_rate: 0.999, num_res_blocks: 4 });
    expect(c.data.centered).toBe(false);
    expect(c.sampling).toMatchObject({ method: 'ode', smallest_time: 1e-5 });
    expect(c.eval).toMatchObject({ batch_size: 2000, enable_sampling: true });
    const d = loadConfig('mle_score_ode/ve/cifar10_ncsnpp_deep_continuous');
    expect(d.sampling).toMatchObject({ method: 'pc', predictor: 'reverse_diffusion', corrector: 'langevin' });
    expect(d.model.num_res_blocks).toBe(8);
    const i = loadConfig('mle_score_ode/ve/imagenet32_ncsnpp_deep_continuous');
    expect(i.training.n_iters).toBe(1400001);
    expect(i.data).toMatchObject({ dataset: 'ImageNet', random_flip: false });
    expect(i.sampling.method).toBe('ode');
  });

  it('mle_score_ode DDPM++ configs (high-order DSM fine-tuning)', () => {
    const c = loadConfig('mle_score_ode/vp/cifar10_ddpmpp_deep_continuous', ['--config.training.score_matching_order=3']);
    expect(c.training).toMatchObject({ sde: 'vpsde', n_iters: 2050001, batch_size: 48, n_jitted_steps: 1, score_matching_order: 3, reduce_mean: true });
    expect(c.model.num_res_blocks).toBe(8);
    expect(c.eval.ckpt_id).toBe(19);
    const s = loadConfig('mle_score_ode/subvp/imagenet32_ddpmpp_deep_continuous');
    expect(s.training).toMatchObject({ sde: 'subvpsde', n_iters: 950001, smallest_time: 1e-2 });
    expect(loadConfig('mle_score_ode/vp/imagenet32_ddpmpp_continuous').training.n_iters).toBe(1400001);
    expect(configError(() => loadConfig('mle_score_ode/vp/cifar10_ddpmpp_continuous', ['--config.training.score_matching_order=2', '--config.training.reduce_mean=false'])).message).toContain('reduce_mean');
  });

  it('fmnist_small is small, and fmnist_small_lw_is only adds LW + IS', () => {
    const c = loadConfig('fmnist_small');
    expect(c.data).toMatchObject({ dataset: 'FashionMNIST', image_size: 28, num_channels: 1 });
    expect(c.model).toMatchObject({ nf: 32, ch_mult: [1, 2], num_res_blocks: 1, attn_resolutions: [] });
    expect(c.training).toMatchObject({ sde: 'vpsde', continuous: true, batch_size: 64 });
    expect(c.training.n_iters).toBeLessThanOrEqual(1000);
    expect(c.training.log_freq).toBeLessThanOrEqual(20);
    const lw = loadConfig('fmnist_small_lw_is');
    expect(lw.training.likelihood_weighting).toBe(true);
    expect(lw.training.importance_weighting).toBe(true);
    const x = cloneConfig(lw); x.training.likelihood_weighting = false; x.training.importance_weighting = false;
    expect(x).toEqual(c);
  });
});

describe('overrides', () => {
  it('parses booleans, numbers, strings, lists and null to the field type', () => {
    const c = loadConfig('fmnist_small', [
      '--config.training.likelihood_weighting=true', '--config.training.importance_weighting=True',
      '--config.model.ch_mult=1,2', '--config.model.attn_resolutions=[14]', '--config.optim.lr=1e-4',
      '--config.data.root=/data/fmnist', '--config.sampling.method=ode', '--config.seed', '7',
      '--config.model.fir_kernel=(1, 3, 3, 1)', '--config.training.snapshot_sampling', '--config.data.random_flip=0',
    ]);
    expect(c.training.likelihood_weighting).toBe(true);
    expect(c.training.importance_weighting).toBe(true);
    expect(c.model.ch_mult).toEqual([1, 2]);
    expect(c.model.attn_resolutions).toEqual([14]);
    expect(c.optim.lr).toBe(1e-4);
    expect(c.data.root).toBe('/data/fmnist');
    expect(c.sampling.method).toBe('ode');
    expect(c.seed).toBe(7);
    expect(c.model.fir_kernel).toEqual([1, 3, 3, 1]);
    expect(c.data.random_flip).toBe(false);
    expect(loadConfig('fmnist_small', ['--config.model.attn_resolutions=[]']).model.attn_resolutions).toEqual([]);
    expect(loadConfig('score_flow/vp/cifar10_ddpmpp_continuous', ['--config.model.attn_resolutions=(16,)']).model.attn_resolutions).toEqual([16]);
    expect(loadConfig('fmnist_small', ['--config.data.root=null']).data.root).toBeNull();
    expect(loadConfig('fmnist_small', ['training.batch_size=8']).training.batch_size).toBe(8);
  });

  it('later overrides win', () => {
    expect(loadConfig('fmnist_small', ['--config.training.batch_size=8', '--config.training.batch_size=16']).training.batch_size).toBe(16);
  });

  it('type errors name the key, the expected and the received value', () => {
    let e = configError(() => loadConfig('fmnist_small', ['--config.training.batch_size=abc']));
    expect(e.message).toContain('config.training.batch_size');
    expect(e.message).toContain('integer');
    expect(e.message).toContain('"abc"');
    e = configError(() => loadConfig('fmnist_small', ['--config.training.batch_size=2.5']));
    expect(e.message).toMatch(/config\.training\.batch_size: expected an integer >= 1, received 2\.5/);
    e = configError(() => loadConfig('fmnist_small', ['--config.training.batch_size=0']));
    expect(e.message).toContain('received 0');
    e = configError(() => loadConfig('fmnist_small', ['--config.training.likelihood_weighting=maybe']));
    expect(e.message).toContain('boolean');
    expect(e.message).toContain('"maybe"');
    e = configError(() => loadConfig('fmnist_small', ['--config.training.sde=ddpm']));
    expect(e.message).toContain("'vpsde', 'subvpsde', 'vesde'");
    expect(e.message).toContain('"ddpm"');
    e = configError(() => loadConfig('fmnist_small', ['--config.model.ch_mult=1,x']));
    expect(e.message).toContain('config.model.ch_mult');
    e = configError(() => loadConfig('fmnist_small', ['--config.training.smallest_time=1']));
    expect(e.message).toContain('< 1');
    e = configError(() => loadConfig('fmnist_small', ['--config.eval.hutchinson=normal']));
    expect(e.message).toContain("'rademacher', 'gaussian', 'exact'");
  });

  it('unknown paths list the valid keys at that level', () => {
    let e = configError(() => loadConfig('fmnist_small', ['--config.training.lr=1']));
    expect(e.message).toContain("'training.lr'");
    expect(e.message).toContain('batch_size, n_iters, snapshot_freq');
    e = configError(() => loadConfig('fmnist_small', ['--config.optimizer.lr=1']));
    expect(e.message).toContain("'optimizer'");
    expect(e.message).toContain('training, sampling, eval, data, model, optim, deq, seed, device');
    e = configError(() => loadConfig('fmnist_small', ['--config.model=3']));
    expect(e.message).toContain('valid keys under \'model\'');
    e = configError(() => parseOverrides(['--config.seed.x=1']));
    expect(e.message).toContain('is a field');
    e = configError(() => parseOverrides(['--lr=1']));
    expect(e.message).toContain('--config.');
    e = configError(() => parseOverrides(['--config.optim.lr']));
    expect(e.message).toContain('missing value');
  });

  it('errors say which override or file set the bad value', () => {
    let e = configError(() => loadConfig('fmnist_small', ['--config.training.batch_size=0']));
    expect(e.message).toBe('config.training.batch_size: expected an integer >= 1, received 0 (number) (set by override "--config.training.batch_size=0")');
    const dir = mkdtempSync(join(tmpdir(), 'scoreflow-cfg-'));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ extends: 'fmnist_small', model: { dropout: 1.5 } }));
    e = configError(() => loadConfig(join(dir, 'bad.json')));
    expect(e.message).toContain(`config.model.dropout: expected a finite number >= 0 and < 1, received 1.5 (number) (set in ${join(dir, 'bad.json')})`);
  });

  it('cross-field checks', () => {
    let e = configError(() => loadConfig('fmnist_small', ['--config.training.importance_weighting=true']));
    expect(e.message).toContain('likelihood_weighting');
    e = configError(() => loadConfig('mle_score_ode/ve/cifar10_ncsnpp_continuous', ['--config.training.likelihood_weighting=true', '--config.training.importance_weighting=true']));
    expect(e.message).toContain('vesde');
    e = configError(() => loadConfig('fmnist_small', ['--config.model.ch_mult=1,2,2,2']));
    expect(e.message).toContain('config.data.image_size');
    e = configError(() => loadConfig('fmnist_small', ['--config.model.attn_resolutions=16']));
    expect(e.message).toContain('28, 14');
    e = configError(() => loadConfig('score_flow/vp/cifar10_ddpmpp_continuous', ['--config.training.log_freq=7']));
    expect(e.message).toContain('n_jitted_steps');
    e = configError(() => loadConfig('score_flow/subvp/cifar10_ddpmpp_continuous', ['--config.sampling.method=pc', '--config.sampling.corrector=langevin']));
    expect(e.message).toContain('subvpsde');
    e = configError(() => loadConfig('fmnist_small', ['--config.model.nf=30']));
    expect(e.message).toContain('GroupNorm');
    e = configError(() => loadConfig('fmnist_small', ['--config.model.sigma_max=0.001']));
    expect(e.message).toContain('sigma_min');
  });

  it('GroupNorm channel list of the DDPM++ cifar10 net', () => {
    expect(ncsnppGroupNormChannels(128, [1, 2, 2, 2], 4)).toEqual([128, 256, 384, 512]);
  });
});

describe('validation and files', () => {
  it('rejects unknown keys with the path and the valid keys, and reports every problem', () => {
    const raw = cloneConfig(DEFAULT_CONFIG) as unknown as Record<string, Record<string, unknown>>;
    raw.model!.channels = 3;
    raw.training!.batch_size = -1;
    raw.optim!.lr = 'fast';
    const e = configError(() => validateConfig(raw));
    expect(e.issues.length).toBe(3);
    expect(e.message).toContain("unknown config key 'model.channels'");
    expect(e.message).toContain('valid keys under \'model\': name, nf, ch_mult');
    expect(e.message).toContain('config.training.batch_size: expected an integer >= 1, received -1 (number)');
    expect(e.message).toContain('config.optim.lr: expected a finite number >= 0, received "fast" (string)');
  });

  it('reports missing fields and sections', () => {
    const raw = cloneConfig(DEFAULT_CONFIG) as unknown as Record<string, unknown>;
    delete raw.deq;
    delete (raw.training as Record<string, unknown>).sde;
    const e = configError(() => validateConfig(raw));
    expect(e.message).toContain('config.deq: missing section');
    expect(e.message).toContain("config.training.sde: missing; expected one of 'vpsde'");
  });

  it('schema covers every default field', () => {
    for (const [sec, fields] of Object.entries(SCHEMA)) {
      if (sec === 'seed' || sec === 'device') continue;
      expect(Object.keys(fields).sort()).toEqual(Object.keys((DEFAULT_CONFIG as unknown as Record<string, object>)[sec]!).sort());
    }
  });

  it('resolves extends chains by name and relative path, and detects cycles', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scoreflow-cfg-'));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'base.json'), JSON.stringify({ $comment: 'c', extends: 'defaults', training: { batch_size: 32, '// why': 'comment' }, model: { nf: 64 } }));
    writeFileSync(join(dir, 'sub', 'mid.json'), JSON.stringify({ extends: '../base.json', training: { n_iters: 10 }, model: { ch_mult: [1, 2] } }));
    writeFileSync(join(dir, 'leaf.json'), JSON.stringify({ extends: 'sub/mid', training: { batch_size: 16 } }));
    const c = loadConfig('leaf', [], { configsDir: dir });
    expect(c.training.batch_size).toBe(16);
    expect(c.training.n_iters).toBe(10);
    expect(c.model.nf).toBe(64);
    expect(c.model.ch_mult).toEqual([1, 2]);
    expect(c.model.num_res_blocks).toBe(DEFAULT_CONFIG.model.num_res_blocks);
    expect(loadConfig(join(dir, 'leaf.json'), [], { configsDir: dir }).training.batch_size).toBe(16);
    // extends a repository config by name
    writeFileSync(join(dir, 'mine.json'), JSON.stringify({ extends: 'fmnist_small', training: { n_iters: 3 } }));
    expect(loadConfig(join(dir, 'mine.json')).model.nf).toBe(32);

    writeFileSync(join(dir, 'a.json'), JSON.stringify({ extends: 'b' }));
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ extends: 'a' }));
    expect(configError(() => loadConfig('a', [], { configsDir: dir })).message).toContain('cycle');

    writeFileSync(join(dir, 'typo.json'), JSON.stringify({ extends: 'base', trainig: { batch_size: 1 } }));
    const e = configError(() => loadConfig('typo', [], { configsDir: dir }));
    expect(e.message).toContain("'trainig'");
    expect(e.message).toContain('typo.json');
    expect(e.message).toContain('extends, training, sampling');

    writeFileSync(join(dir, 'bad.json'), '{ "extends": "base", ');
    expect(configError(() => loadConfig('bad', [], { configsDir: dir })).message).toContain('not valid JSON');
    expect(configError(() => loadConfig('nope', [], { configsDir: dir })).message).toContain('available configs');
  });

  it('accepts the reference fixture config (score_sde_pytorch layout)', () => {
    const fx = JSON.parse(readFileSync(REFERENCE_FIXTURES + 'a_ddpmpp.json', 'utf8')) as { config: Record<string, unknown> };
    const { name: _name, ...cfg } = fx.config;
    const c = configFromObject(cfg);
    expect(c.model).toMatchObject({ nf: 16, ch_mult: [1, 2, 2], num_res_blocks: 2, attn_resolutions: [16] });
    expect(c.device).toBe('cpu');
  });

  it('configFromObject fills from defaults or an extends name', () => {
    const c = configFromObject({ extends: 'fmnist_small', training: { batch_size: 4 } }, ['--config.seed=1']);
    expect(c.training.batch_size).toBe(4);
    expect(c.model.nf).toBe(32);
    expect(c.seed).toBe(1);
    expect(configFromObject({ model: { nf: 64 } }).model.nf).toBe(64);
  });
});

describe('helpers', () => {
  it('flatten, diff, overridesBetween round trip, help text', () => {
    const a = loadConfig('fmnist_small');
    const b = loadConfig('fmnist_small', ['--config.model.ch_mult=1,2,2', '--config.data.root=/x', '--config.training.likelihood_weighting=true']);
    expect(flattenConfig(a).length).toBe(Object.values(SCHEMA).reduce((n, s) => n + (typeof (s as { kind?: string }).kind === 'string' ? 1 : Object.keys(s).length), 0));
    expect(diffConfigs(a, b).map((d) => d.path)).toEqual(['training.likelihood_weighting', 'data.root', 'model.ch_mult']);
    const args = overridesBetween(a, b);
    expect(loadConfig('fmnist_small', args)).toEqual(b);
    const help = configHelp();
    expect(help).toContain('--config.training.batch_size: an integer >= 1 (default 128)');
    expect(help.some((l) => l.startsWith('--config.eval.hutchinson: one of'))).toBe(true);
  });
});
