import { describe, expect, it } from 'vitest';
import type { HostTensor } from '../../src/host-tensor.js';
import { readSafetensors, writeSafetensors } from '../../src/formats/safetensors.js';
import { expectFormatError } from './helpers.js';

const tensors = new Map<string, HostTensor>([
  ['w', { dtype: 'float32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }],
  ['h', { dtype: 'bfloat16', shape: [1], data: new Uint16Array([0x3f80]) }],
  ['n', { dtype: 'int64', shape: [], data: new BigInt64Array([9n]) }],
  ['m', { dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) }],
]);

describe('safetensors', () => {
  it('round-trips tensors and metadata; header is 8-byte aligned JSON', () => {
    const bytes = writeSafetensors(tensors, { format: 'pt' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header.w).toEqual({ dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] });
    expect(header.h.dtype).toBe('BF16');
    expect(header.__metadata__).toEqual({ format: 'pt' });
    const back = readSafetensors(bytes);
    expect(back.metadata).toEqual({ format: 'pt' });
    expect([...back.tensors.keys()]).toEqual(['w', 'h', 'n', 'm']);
    for (const [k, t] of tensors) expect(back.tensors.get(k)).toEqual(t);
  });

  it('rejects truncated files and shape/offset mismatches', () => {
    const bytes = writeSafetensors(tensors);
    expectFormatError(() => readSafetensors(bytes.subarray(0, bytes.length - 4)), /outside the file/);
    expectFormatError(() => readSafetensors(bytes.subarray(0, 5)), /truncated/);
    const mk = (h: object) => {
      const j = new TextEncoder().encode(JSON.stringify(h));
      const out = new Uint8Array(8 + j.length + 16);
      new DataView(out.buffer).setBigUint64(0, BigInt(j.length), true);
      out.set(j, 8);
      return out;
    };
    expectFormatError(() => readSafetensors(mk({ a: { dtype: 'F32', shape: [5], data_offsets: [0, 16] } })), /does not match/);
    expectFormatError(() => readSafetensors(mk({ a: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } })), /unsupported dtype/);
  });
});
