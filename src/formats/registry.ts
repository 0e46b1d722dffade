/**
 * Format detection and dispatch. Every format judges a file by its first bytes and says why it is or is
 * not of its kind; magic bytes decide, the extension only breaks ties (a zip that is an .npz rather than a
 * torch archive; a damaged .safetensors). The first format that claims the file reads it. When none does,
 * or its reader fails, the error names the file and gives each format's verdict, so a file of a kind we do
 * not read is told apart from a damaged file of a kind we do.
 */
import { extname } from 'node:path';
import { FormatError, formatError } from './errors.js';
import { readFlaxCheckpoint } from './flax.js';
import { readInputFile } from './input-file.js';
import { isNpy, readNpy } from './npy.js';
import { readNpz } from './npz.js';
import { readSafetensors, safetensorsMismatch } from './safetensors.js';
import { isTorchLegacy, loadPlainPickle, loadTorchLegacy, loadTorchZip } from './torch-load.js';
import { looksLikeZip, readZip } from './zip.js';

export type FileFormat = 'torch-zip' | 'torch-legacy' | 'flax-msgpack' | 'safetensors' | 'npz' | 'npy' | 'pickle';

export interface ReadResult {
  format: FileFormat;
  /** torch/pickle: the unpickled value; flax: the nested tree; safetensors/npz: Map name → tensor; npy: tensor. */
  value: unknown;
  /** safetensors `__metadata__`. */
  metadata?: Record<string, string>;
}

/** A format's judgement of a file: whether it claims it, and the evidence either way. */
interface Verdict { format: FileFormat; match: boolean; why: string }

/** The file as the formats see it; the zip directory is parsed once, on first use. */
class Probe {
  readonly ext: string;
  private names?: string[] | null;
  constructor(readonly bytes: Uint8Array, name: string) {
    this.ext = extname(name).toLowerCase();
  }
  /** Entry names of a zip file; null when it is not a zip or its directory is damaged. */
  zipNames(): string[] | null {
    if (this.names === undefined) {
      try {
        this.names = looksLikeZip(this.bytes) ? readZip(this.bytes, { verifyCrc: false }).entries.map((e) => e.name) : null;
      } catch {
        this.names = null; // a damaged zip: its reader reports what exactly is wrong
      }
    }
    return this.names;
  }
  /** A zip named .npz, or one of .npy entries only. */
  isNpz(): boolean {
    const names = this.zipNames();
    return looksLikeZip(this.bytes) && (this.ext === '.npz' || (names !== null && names.length > 0 && names.every((n) => n.endsWith('.npy'))));
  }
}

interface FormatSpec {
  format: FileFormat;
  /** [claims the file, why]. */
  judge(p: Probe): [boolean, string];
  read(bytes: Uint8Array): Omit<ReadResult, 'format'>;
}

const NO_ZIP = 'no zip signature PK\\x03\\x04 at the start';
const hex = (b: number | undefined) => (b === undefined ? 'none (empty file)' : `0x${b.toString(16).padStart(2, '0')}`);

/** In detection order (which is also the order of SUPPORTED_FORMATS). */
const FORMATS: readonly FormatSpec[] = [
  {
    format: 'torch-zip',
    judge: (p) => {
      if (!looksLikeZip(p.bytes)) return [false, NO_ZIP];
      if (p.isNpz()) return [false, 'a zip of .npy arrays (an .npz)'];
      const names = p.zipNames();
      return [true, names === null ? 'a zip archive, its directory damaged' : names.some((n) => /(^|\/)data\.pkl$/.test(n))
        ? 'a zip archive holding data.pkl' : 'a zip archive without data.pkl'];
    },
    read: (b) => ({ value: loadTorchZip(b) }),
  },
  {
    format: 'torch-legacy',
    judge: (p) => (isTorchLegacy(p.bytes) ? [true, 'starts with the legacy torch.save magic number']
      : [false, 'no legacy torch.save magic number (a pickled 0x1950a86a20f9469cfc6c) at the start']),
    read: (b) => ({ value: loadTorchLegacy(b) }),
  },
  {
    format: 'flax-msgpack',
    judge: (p) => {
      const b = p.bytes[0];
      if (b === undefined || !((b & 0xf0) === 0x80 || b === 0xde || b === 0xdf)) return [false, `first byte ${hex(b)} does not open a msgpack map`];
      if (b === 0x80 && p.bytes.length > 1) return [false, 'starts with 0x80, an empty msgpack map with more data after it (a pickle PROTO opcode?)'];
      if (p.ext === '.safetensors' || safetensorsMismatch(p.bytes) === null) return [false, 'its first bytes read as a safetensors header'];
      return [true, `starts with the msgpack map byte ${hex(b)}`];
    },
    read: (b) => ({ value: readFlaxCheckpoint(b) }),
  },
  {
    format: 'safetensors',
    judge: (p) => {
      const mismatch = safetensorsMismatch(p.bytes);
      if (mismatch === null) return [true, 'starts with a safetensors header length and JSON header'];
      return p.ext === '.safetensors' ? [true, `named .safetensors, although ${mismatch}`] : [false, mismatch];
    },
    read: (b) => {
      const st = readSafetensors(b);
      return { value: st.tensors, metadata: st.metadata };
    },
  },
  {
    format: 'npz',
    judge: (p) => (!looksLikeZip(p.bytes) ? [false, NO_ZIP] : p.isNpz() ? [true, p.ext === '.npz' ? 'a zip archive named .npz' : 'a zip of .npy arrays']
      : [false, 'a zip archive whose entries are not all .npy arrays']),
    read: (b) => ({ value: readNpz(b) }),
  },
  {
    format: 'npy',
    judge: (p) => (isNpy(p.bytes) ? [true, 'starts with \\x93NUMPY'] : [false, 'no \\x93NUMPY magic at the start']),
    read: (b) => ({ value: readNpy(b) }),
  },
  {
    format: 'pickle',
    judge: (p) => (p.bytes[0] === 0x80 && p.bytes[1]! >= 2 && p.bytes[1]! <= 5 ? [true, `starts with a protocol-${p.bytes[1]} pickle header`]
      : [false, 'no pickle header (0x80, protocol 2-5) at the start']),
    read: (b) => ({ value: loadPlainPickle(b) }),
  },
];

export const SUPPORTED_FORMATS: readonly FileFormat[] = FORMATS.map((f) => f.format);

function judgeAll(bytes: Uint8Array, name: string): Verdict[] {
  const probe = new Probe(bytes, name);
  return FORMATS.map((f) => {
    const [match, why] = f.judge(probe);
    return { format: f.format, match, why };
  });
}

/** Returns the format, or null when nothing matches. `name` (a path or file name) only breaks ties. */
export function detectFormat(bytes: Uint8Array, name = ''): FileFormat | null {
  return judgeAll(bytes, name).find((v) => v.match)?.format ?? null;
}

const verdictList = (vs: Verdict[]) => vs.map((v) => `${v.format}: ${v.why}`).join('; ');

export function readCheckpoint(bytes: Uint8Array, name = ''): ReadResult {
  const verdicts = judgeAll(bytes, name);
  const hit = verdicts.find((v) => v.match);
  if (!hit) {
    throw formatError(`unrecognised file format${name ? ` for '${name}'` : ''}; supported: ${SUPPORTED_FORMATS.join(', ')}, ` +
      `and each rejects it (${verdictList(verdicts)})`);
  }
  const spec = FORMATS.find((f) => f.format === hit.format)!;
  try {
    return { format: hit.format, ...spec.read(bytes) };
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    const file = name ? `${name}: ` : '';
    if (e.unsupported) throw new FormatError(`${file}${e.message}`, { cause: e, unsupported: true });
    throw new FormatError(`${file}read as ${hit.format} (${hit.why}), which failed: ${e.message}. ` +
      `No other format matches (${verdictList(verdicts.filter((v) => v !== hit))})`, { cause: e });
  }
}

export function readCheckpointFile(path: string): ReadResult {
  return readCheckpoint(readInputFile(path), path);
}
