/**
 * safetensors files: u64 little-endian header length N, an N-byte JSON header
 * {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}} (padded with spaces
 * to a multiple of 8, as the reference writer does), then the tensor bytes (offsets relative to the end of
 * the header). Everything is validated so a bad header cannot read outside the data section.
 */
import { writeFileSync } from 'node:fs';
import { DTYPE_BYTES, type DType, type HostTensor, hostBytes, hostDataFromBytes, numel } from '../host-tensor.js';
import { formatError, unsupportedError } from './errors.js';
import { readFileWith } from './input-file.js';
import { checkTensor } from './tensor-util.js';

const TO_ST: Record<DType, string> = {
  float64: 'F64', float32: 'F32', float16: 'F16', bfloat16: 'BF16', int64: 'I64', int32: 'I32', int16: 'I16',
  int8: 'I8', uint8: 'U8', bool: 'BOOL',
};
const FROM_ST: Record<string, DType> = Object.fromEntries(Object.entries(TO_ST).map(([k, v]) => [v, k as DType]));

export interface Safetensors {
  tensors: Map<string, HostTensor>;
  metadata: Record<string, string>;
}

/** Why the bytes cannot be a safetensors file (a sane header length followed by '{'), or null when they can. */
export function safetensorsMismatch(bytes: Uint8Array): string | null {
  if (bytes.length < 10) return `${bytes.length} bytes are too few for a header`;
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n < 2n || n > BigInt(bytes.length - 8)) return `its first 8 bytes, read as a header length, say ${n} bytes but ${bytes.length - 8} follow`;
  return bytes[8] === 0x7b ? null : "no JSON '{' after the 8-byte header length";
}


export function readSafetensors(bytes: Uint8Array): Safetensors {
  if (bytes.length < 8) throw formatError('safetensors: truncated file');
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(bytes.length - 8)) throw formatError('safetensors: header length exceeds the file (truncated?)');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + Number(n))));
  } catch (e) {
    throw formatError(`safetensors: header is not valid JSON: ${(e as Error).message}`, e);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw formatError('safetensors: header is not an object');
  const data = bytes.subarray(8 + Number(n));
  const tensors = new Map<string, HostTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = (info ?? {}) as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: off } = (info ?? {}) as { dtype?: string; shape?: unknown; data_offsets?: unknown };
    const dt = FROM_ST[dtype ?? ''];
    if (!dt) throw unsupportedError(`safetensors: tensor '${name}' has unsupported dtype '${String(dtype)}' (scoreflow reads ${Object.keys(FROM_ST).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw formatError(`safetensors: tensor '${name}' has a bad shape`);
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw formatError(`safetensors: tensor '${name}' has bad data_offsets`);
    }
    const [b, e] = off as [number, number];
    const need = numel(shape) * DTYPE_BYTES[dt];
    if (e < b || e - b !== need) throw formatError(`safetensors: tensor '${name}' shape [${shape.join(', ')}] does not match its ${e - b} bytes`);
    if (e > data.length) throw formatError(`safetensors: tensor '${name}' lies outside the file (truncated?)`);
    tensors.set(name, { dtype: dt, shape: [...shape] as number[], data: hostDataFromBytes(dt, data.subarray(b, e)) });
  }
  return { tensors, metadata };
}

export function writeSafetensors(tensors: Map<string, HostTensor> | Record<string, HostTensor>, metadata?: Record<string, string>): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw formatError("safetensors: '__metadata__' is not a valid tensor name");
    checkTensor(t, `safetensors '${name}'`);
    const size = t.data.byteLength;
    header[name] = { dtype: TO_ST[t.dtype], shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  const json = JSON.stringify(header);
  const utf8 = new TextEncoder();
  let hbytes = utf8.encode(json);
  const pad = (8 - (hbytes.length % 8)) % 8;
  if (pad) hbytes = utf8.encode(json + ' '.repeat(pad));
  const out = new Uint8Array(8 + hbytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hbytes.length), true);
  out.set(hbytes, 8);
  let p = 8 + hbytes.length;
  for (const [, t] of entries) {
    out.set(hostBytes(t), p);
    p += t.data.byteLength;
  }
  return out;
}

export function readSafetensorsFile(path: string): Safetensors {
  return readFileWith(path, readSafetensors);
}

export function writeSafetensorsFile(path: string, tensors: Map<string, HostTensor> | Record<string, HostTensor>, metadata?: Record<string, string>): void {
  writeFileSync(path, writeSafetensors(tensors, metadata));
}
