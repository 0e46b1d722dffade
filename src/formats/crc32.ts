/**
 * CRC-32 (IEEE, as zip uses). Node >= 20.15 ships a native `zlib.crc32`; older runtimes get a table-driven
 * fallback, so zip reading/writing never depends on the Node minor version.
 */
import * as zlib from 'node:zlib';

let table: Uint32Array | undefined;

function jsCrc32(data: Uint8Array, crc = 0): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const nativeCrc32 = (zlib as unknown as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;

export function crc32(data: Uint8Array, crc = 0): number {
  return nativeCrc32 ? nativeCrc32(data, crc) >>> 0 : jsCrc32(data, crc);
}
