"""Regenerates the golden data for test/formats with Debian's torch 1.13 (/usr/bin/python3).

Uses only torch, numpy and msgpack (no reference-repository code). Run from the repository root:
    /usr/bin/python3 test/data/formats/make_golden.py [test/data/reference]
    /usr/bin/python3 test/data/formats/make_golden.py --resave <written-by-ts.pt> <out.pt>
"""
import collections, json, os, sys
import numpy as np
import torch

OUT = os.path.dirname(os.path.abspath(__file__))
FIX = sys.argv[1] if len(sys.argv) > 1 else 'test/data/reference'


def summary(t):
    t = t.detach()
    flat = t.reshape(-1)
    if t.dtype == torch.bool:
        vals = [int(v) for v in flat[:4].tolist()]
        s = float(flat.sum())
    elif t.dtype.is_floating_point:
        vals = [float(v) for v in flat[:4].to(torch.float64).tolist()]
        s = float(flat.to(torch.float64).sum())
    else:
        vals = [int(v) for v in flat[:4].tolist()]
        s = float(flat.to(torch.float64).sum())
    return {'dtype': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape), 'first': vals, 'sum': s,
            'last': float(flat[-1]) if flat.numel() else None}


def fixtures_golden():
    sd = torch.load(os.path.join(FIX, 'a_ddpmpp.pth'))
    g = {'keys': list(sd.keys()), 'tensors': {k: summary(v) for k, v in sd.items()},
         'n_params': int(sum(v.numel() for k, v in sd.items() if k != 'sigmas'))}
    json.dump(g, open(os.path.join(OUT, 'a_ddpmpp_golden.json'), 'w'))

    ck = torch.load(os.path.join(FIX, 'ckpt_a.pth'))
    opt = ck['optimizer']
    pg = opt['param_groups'][0]
    g = {
        'step': ck['step'],
        'ema': {'decay': ck['ema']['decay'], 'num_updates': ck['ema']['num_updates'],
                'n_shadow': len(ck['ema']['shadow_params']),
                'shadow': {str(i): summary(ck['ema']['shadow_params'][i]) for i in (0, 1, 2, 100, 287)}},
        'model_first_keys': list(ck['model'].keys())[:3],
        'optimizer': {
            'n_state': len(opt['state']),
            'state': {str(i): {'step': summary(opt['state'][i]['step']), 'exp_avg': summary(opt['state'][i]['exp_avg']),
                               'exp_avg_sq': summary(opt['state'][i]['exp_avg_sq'])} for i in (0, 5, 287)},
            'lr': float(pg['lr']), 'lr_type': type(pg['lr']).__name__, 'betas': list(pg['betas']), 'eps': pg['eps'],
            'weight_decay': pg['weight_decay'], 'amsgrad': pg['amsgrad'], 'params_len': len(pg['params']),
        },
    }
    json.dump(g, open(os.path.join(OUT, 'ckpt_a_golden.json'), 'w'))


def mixed():
    torch.manual_seed(0)
    base = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
    d = collections.OrderedDict()
    d['f32'] = base
    d['f32_t'] = base.permute(2, 0, 1)           # non-contiguous view sharing the storage
    d['f32_slice'] = base[1, 1:, ::2]            # offset + strides
    d['f64'] = torch.linspace(-1, 1, 5, dtype=torch.float64)
    d['f16'] = torch.tensor([1.5, -2.25, 65504.0, 6.1e-5], dtype=torch.float16)
    d['bf16'] = torch.tensor([1.5, -3.0, 1e30], dtype=torch.bfloat16)
    d['i64'] = torch.tensor([7, -8, 2**40], dtype=torch.int64)
    d['i32'] = torch.tensor([1, -2], dtype=torch.int32)
    d['i16'] = torch.tensor([300, -300], dtype=torch.int16)
    d['i8'] = torch.tensor([-5, 6], dtype=torch.int8)
    d['u8'] = torch.tensor([0, 255], dtype=torch.uint8)
    d['b'] = torch.tensor([True, False, True])
    d['scalar'] = torch.tensor(3.25)
    d['empty'] = torch.zeros(0, 3)
    d['param'] = torch.nn.Parameter(torch.ones(2, 2))
    obj = {
        'sd': d, 'step': 7, 'lr': np.float64(2e-4), 'n64': np.int64(-3), 'arr': np.arange(6, dtype=np.float32).reshape(2, 3),
        'arr_f': np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3)), 'dev': torch.device('cpu'),
        'dtype': torch.float16, 'tup': (1, 2.5, 'x'), 'lst': [None, True, False, b'raw\x00\xff'], 'ikeys': {0: 'a', 5: 'b'},
        'big': 2**70, 'neg': -123456789, 'float_int': 2.0, 'uni': 'héllo ✓',
    }
    torch.save(obj, os.path.join(OUT, 'mixed_zip.pt'))
    torch.save(obj, os.path.join(OUT, 'mixed_legacy.pt'), _use_new_zipfile_serialization=False)
    g = {k: summary(v) for k, v in d.items()}
    json.dump(g, open(os.path.join(OUT, 'mixed_golden.json'), 'w'))


def resave(src, dst):
    """Round-trip check: torch.load a file our TypeScript writer produced, then torch.save it again."""
    obj = torch.load(src)
    torch.save(obj, dst)
    print('re-saved', src, '->', dst, type(obj).__name__)


def tiny_flax():
    """A flax-style (score_flow State) msgpack checkpoint of a tiny DDPM++-shaped model, plus the same
    parameters in torch layout. Module classes are listed by hand here, independently of the TS classifier."""
    import msgpack
    rng = np.random.default_rng(0)
    nf, temb = 4, 8
    # (flax class, torch local params {name: torch shape})
    def res(i, o, conv2=False):
        p = {'GroupNorm_0.weight': [i], 'GroupNorm_0.bias': [i], 'Conv_0.weight': [o, i, 3, 3], 'Conv_0.bias': [o],
             'Dense_0.weight': [o, temb], 'Dense_0.bias': [o], 'GroupNorm_1.weight': [o], 'GroupNorm_1.bias': [o],
             'Conv_1.weight': [o, o, 3, 3], 'Conv_1.bias': [o]}
        if conv2:
            p.update({'Conv_2.weight': [o, i, 1, 1], 'Conv_2.bias': [o]})
        return ('ResnetBlockBigGANpp', p)
    def attn(c):
        p = {'GroupNorm_0.weight': [c], 'GroupNorm_0.bias': [c]}
        for k in range(4):
            p[f'NIN_{k}.W'] = [c, c]; p[f'NIN_{k}.b'] = [c]
        return ('AttnBlockpp', p)
    modules = [('Dense', {'weight': [temb, nf], 'bias': [temb]}), ('Dense', {'weight': [temb, temb], 'bias': [temb]}),
               ('Conv', {'weight': [nf, 3, 3, 3], 'bias': [nf]}), res(4, 4), res(4, 4, True), res(4, 8, True), attn(8),
               res(8, 8), attn(8), res(8, 8), res(16, 8, True), res(8, 8, True), res(12, 4, True),
               ('GroupNorm', {'weight': [4], 'bias': [4]}), ('Conv', {'weight': [3, 4, 3, 3], 'bias': [3]})]
    counters = {}
    torch_sd = collections.OrderedDict()
    torch_sd['sigmas'] = torch.linspace(1, 0.1, 5, dtype=torch.float64)
    flax_params, names = {}, []
    def to_flax(sub, leaf, arr):
        kind = sub.rsplit('_', 1)[0] if sub else None
        if leaf == 'weight' and arr.ndim == 4: return 'kernel', arr.transpose(2, 3, 1, 0)
        if leaf == 'weight' and arr.ndim == 2: return 'kernel', arr.T
        if leaf == 'weight' and arr.ndim == 1: return 'scale', arr
        return leaf, arr
    for idx, (cls, params) in enumerate(modules):
        k = counters.get(cls, 0); counters[cls] = k + 1
        fname = f'{cls}_{k}'; names.append((idx, fname))
        node = flax_params.setdefault(fname, {})
        for local, shape in params.items():
            arr = rng.standard_normal(shape).astype(np.float32)
            torch_sd[f'all_modules.{idx}.{local}'] = torch.from_numpy(arr.copy())
            parts = local.split('.')
            sub, leaf = ('.'.join(parts[:-1]), parts[-1])
            fl, farr = to_flax(sub, leaf, arr)
            tgt = node.setdefault(sub, {}) if sub else node
            tgt[fl] = np.ascontiguousarray(farr)
    def mapleaves(tree, f):
        return {k: mapleaves(v, f) if isinstance(v, dict) else f(v) for k, v in tree.items()}
    ema = mapleaves(flax_params, lambda a: (a * 0.5).astype(np.float32))
    pstates = mapleaves(flax_params, lambda a: {'grad_ema': (a * 0.1).astype(np.float32), 'grad_sq_ema': (a * a).astype(np.float32)})
    state = {'step': 12, 'optimizer': {'target': flax_params, 'state': {'step': np.int32(12), 'param_states': pstates}},
             'lr': np.float64(2e-4), 'model_state': {}, 'ema_rate': 0.999, 'params_ema': ema,
             'rng': np.array([0, 4000000000], dtype=np.uint32)}
    def ext(obj):
        if isinstance(obj, np.ndarray):
            return msgpack.ExtType(1, msgpack.packb((obj.shape, obj.dtype.name, obj.tobytes('C')), use_bin_type=True))
        if isinstance(obj, np.generic):
            a = np.asarray(obj)
            return msgpack.ExtType(3, msgpack.packb((a.shape, a.dtype.name, a.tobytes('C')), use_bin_type=True))
        raise TypeError(type(obj))
    open(os.path.join(OUT, 'tiny_flax_checkpoint'), 'wb').write(msgpack.packb(state, default=ext, strict_types=True, use_bin_type=True))
    def torchify(tree_fn):
        out = collections.OrderedDict()
        for key, t in torch_sd.items():
            if key == 'sigmas': continue
            out[key] = tree_fn(t)
        return out
    torch.save({'params': torch_sd, 'ema': torchify(lambda t: t * 0.5), 'm': torchify(lambda t: t * 0.1),
                'v': torchify(lambda t: t * t), 'flax_names': names}, os.path.join(OUT, 'tiny_flax_expected.pt'))


def npz_files():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    b = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int64, order='F')
    c = np.array([1.5, -2.0], dtype='>f8')          # big-endian
    d = np.array([True, False])
    e = np.array([1, 65535], dtype=np.uint16)
    f = np.array(3.5, dtype=np.float16)              # 0-d
    np.savez(os.path.join(OUT, 'plain.npz'), a, b, named=c)
    np.savez_compressed(os.path.join(OUT, 'compressed.npz'), a=a, b=b, c=c, d=d, e=e, f=f)
    np.save(os.path.join(OUT, 'fortran.npy'), b)


def zip64_file():
    """A small archive that still uses zip64 records (zipfile's limits lowered), for the zip64 reader path."""
    import zipfile
    old = zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT
    zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = 100, 2
    try:
        with zipfile.ZipFile(os.path.join(OUT, 'zip64.zip'), 'w', zipfile.ZIP_STORED) as z:
            for i in range(3):
                z.writestr(f'entry{i}.bin', bytes(range(256)) * (i + 1))
    finally:
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = old


def protocols():
    """torch.save with pickle protocols 4 and 5 (STACK_GLOBAL, FRAME, MEMOIZE, in-band numpy buffers)."""
    obj = {'t': torch.arange(4, dtype=torch.float32).reshape(2, 2).t(), 'arr': np.arange(6, dtype=np.float32).reshape(2, 3),
           'arr_f': np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3)), 'lr': np.float64(0.5), 'b': b'xy',
           's': {1, 2}, 'fs': frozenset([3]), 'od': collections.OrderedDict(a=1), 'long': 'z' * 300}
    for p in (4, 5):
        torch.save(obj, os.path.join(OUT, f'proto{p}.pt'), pickle_protocol=p)


if __name__ == '__main__' and len(sys.argv) == 4 and sys.argv[1] == '--resave':
    resave(sys.argv[2], sys.argv[3])
elif __name__ == '__main__':
    if os.path.exists(os.path.join(FIX, 'a_ddpmpp.pth')):
        fixtures_golden()
    mixed()
    tiny_flax()
    npz_files()
    zip64_file()
    protocols()

