/**
 * CIFAR-10 python-version batches: a pickled dict {'batch_label', 'labels', 'data', 'filenames'} written by
 * Python 2's cPickle (protocol 2; str keys; 'data' a numpy uint8 array [10000, 3072] whose raw bytes are a
 * py2 str). Read with the project's code-free pickle VM and its numpy reconstruction (src/formats); keys may
 * also be bytes (b'data', as a Python 3 re-pickle would write), and `_codecs.encode` (protocol-2 bytes) is
 * accepted. Nothing else is whitelisted.
 */
import { isHostTensor } from '../../formats/tensor-util.js';
import { numpyGlobals } from '../../formats/numpy-pickle.js';
import { loadPickle } from '../../formats/pickle.js';
import { DataError } from '../errors.js';

function latin1Bytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

function keyName(k: unknown): string | undefined {
  if (typeof k === 'string') return k;
  if (k instanceof Uint8Array) return String.fromCharCode(...k);
  return undefined;
}

export function readCifarPythonBatch(bytes: Uint8Array, path: string): { images: Uint8Array; labels: Int32Array } {
  const what = `CIFAR-10 python batch ${path}`;
  let value: unknown;
  try {
    value = loadPickle(bytes, {
      globals: {
        ...numpyGlobals(),
        '_codecs.encode': (s: unknown, enc: unknown) => {
          if (typeof s !== 'string' || (enc !== 'latin1' && enc !== 'latin-1')) throw new Error('_codecs.encode: only (str, "latin1") is supported');
          return latin1Bytes(s);
        },
      },
    }).value;
  } catch (e) {
    throw new DataError(`${what}: not a readable pickle (${(e as Error).message}); expected the python version of CIFAR-10 (a pickled dict with 'data' and 'labels')`);
  }
  if (!(value instanceof Map)) throw new DataError(`${what}: expected a pickled dict with 'data' and 'labels', found ${typeof value}`);
  const entries = new Map<string, unknown>();
  for (const [k, v] of value) { const n = keyName(k); if (n !== undefined) entries.set(n, v); }
  const data = entries.get('data');
  const labelList = entries.get('labels') ?? entries.get('fine_labels');
  if (!isHostTensor(data)) throw new DataError(`${what}: missing 'data' numpy array (keys: ${[...entries.keys()].join(', ')})`);
  if (data.dtype !== 'uint8' || data.shape.length !== 2 || data.shape[1] !== 3072) {
    throw new DataError(`${what}: 'data' is ${data.dtype} [${data.shape.join(', ')}], expected uint8 [N, 3072]`);
  }
  if (entries.has('fine_labels')) throw new DataError(`${what}: this is CIFAR-100 (has 'fine_labels'), expected CIFAR-10`);
  if (!Array.isArray(labelList)) throw new DataError(`${what}: missing 'labels' list (keys: ${[...entries.keys()].join(', ')})`);
  const n = data.shape[0]!;
  if (labelList.length !== n) throw new DataError(`${what}: ${n} images but ${labelList.length} labels`);
  const labels = new Int32Array(n);
  labelList.forEach((l, i) => {
    const v = Number(l);
    if (!Number.isInteger(v) || v < 0 || v > 9) throw new DataError(`${what}: label ${String(l)} at index ${i}, expected 0..9`);
    labels[i] = v;
  });
  return { images: data.data as Uint8Array, labels };
}
