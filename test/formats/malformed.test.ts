import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { dumpPickle } from '../../src/formats/pickle-writer.js';
import { PyReduce, tuple } from '../../src/formats/py-values.js';
import { loadTorch, loadTorchLegacy } from '../../src/formats/torch-load.js';
import { saveTorch } from '../../src/formats/torch-save.js';
import { readZip, writeZip } from '../../src/formats/zip.js';
import { DATA, expectFormatError } from './helpers.js';

const enc = new TextEncoder();
const zipOf = (pkl: Uint8Array, extra: { name: string; data: Uint8Array }[] = []) =>
  writeZip([{ name: 'archive/data.pkl', data: pkl }, ...extra, { name: 'archive/version', data: enc.encode('3\n') }], { align: 64 });

/** A pickle that rebuilds one float tensor of `size` over storage '0' holding `numel` floats. */
function tensorPickle(size: number[], numel: number, offset = 0): Uint8Array {
  const storage = { persid: true };
  const floatStorage = { global: true };
  const stride = size.map((_, i) => size.slice(i + 1).reduce((a, b) => a * b, 1));
  return dumpPickle(new PyReduce('torch._utils', '_rebuild_tensor_v2', [storage, offset, tuple(...size), tuple(...stride), false, new Map()]), (v, w) => {
    if (v === floatStorage) w.global('torch', 'FloatStorage');
    else if (v === storage) w.persid(tuple<unknown>('storage', floatStorage, '0', 'cpu', numel));
    else return false;
    return true;
  });
}

describe('malformed torch files give ERR_FORMAT errors', () => {
  const good = saveTorch(new Map([['w', { dtype: 'float32', shape: [4], data: new Float32Array([1, 2, 3, 4]) }]]));

  it('truncated zip', () => {
    expectFormatError(() => loadTorch(good.subarray(0, good.length - 30)), /truncated zip/);
    expectFormatError(() => loadTorch(good.subarray(0, 200)), /truncated zip/);
  });

  it('wrong magic', () => {
    expectFormatError(() => loadTorch(enc.encode('GIF89a not a checkpoint')), /wrong magic/);
    expectFormatError(() => loadTorchLegacy(dumpPickle(123)), /wrong magic/);
  });

  it('a pickle calling os.system inside a torch zip', () => {
    const evil = dumpPickle(new PyReduce('os', 'system', ['touch /tmp/pwned']));
    expectFormatError(() => loadTorch(zipOf(evil)), /unknown pickle global 'os\.system'/);
    const evil2 = dumpPickle(new Map([['x', new PyReduce('subprocess', 'check_output', [['id']])]]));
    expectFormatError(() => loadTorch(zipOf(evil2)), /unknown pickle global 'subprocess\.check_output'/);
  });

  it('missing storage record', () => {
    const names = readZip(good).entries.map((e) => e.name);
    const zip = readZip(good);
    const without = writeZip(names.filter((n) => !n.includes('/data/')).map((n) => ({ name: n, data: zip.read(n) })), { align: 64 });
    expectFormatError(() => loadTorch(without), /missing storage record 'data\/0'/);
  });

  it('tensor shape larger than its storage (shape mismatch)', () => {
    const storage = { name: 'archive/data/0', data: new Uint8Array(16) };
    expectFormatError(() => loadTorch(zipOf(tensorPickle([2, 3], 4), [storage])), /exceeds its storage of 4 elements/);
    expectFormatError(() => loadTorch(zipOf(tensorPickle([4], 4, 2), [storage])), /exceeds its storage/);
    expectFormatError(() => loadTorch(zipOf(tensorPickle([4], 8), [storage])), /has 16 bytes, needs 32/);
  });

  it('corrupt pickle inside the zip', () => {
    const zip = readZip(good);
    const pkl = zip.read('archive/data.pkl');
    const storage = { name: 'archive/data/0', data: zip.read('archive/data/0') };
    expectFormatError(() => loadTorch(zipOf(pkl.subarray(0, pkl.length - 5), [storage])), /truncated pickle|no STOP/);
  });

  it('truncated legacy file', () => {
    const legacy = readFileSync(join(DATA, 'mixed_legacy.pt'));
    expectFormatError(() => loadTorch(legacy.subarray(0, legacy.length - 3)), /truncated file/);
    expectFormatError(() => loadTorch(legacy.subarray(0, 400)), /truncated pickle|no STOP/);
  });

  it('never crashes on random corruption', () => {
    let seed = 1;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (const src of [good, readFileSync(join(DATA, 'mixed_zip.pt')), readFileSync(join(DATA, 'mixed_legacy.pt'))]) {
      for (let trial = 0; trial < 200; trial++) {
        const b = Uint8Array.from(src);
        for (let k = 0; k < 4; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
        try {
          loadTorch(b, { verifyCrc: false });
        } catch (e) {
          if ((e as { code?: string }).code !== 'ERR_FORMAT') throw e;
        }
      }
    }
  });
});
