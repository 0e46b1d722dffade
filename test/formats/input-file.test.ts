// Input files that cannot be read (missing, a folder, no permission) give ERR_IO errors naming the path
// and what was expected, not Node's "ENOENT: no such file or directory, open …"; format errors of the
// path-taking readers name the file too.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScoreflowError } from '../../src/errors.js';
import { readFlaxCheckpointFile } from '../../src/formats/flax.js';
import { CHECKPOINT_INPUT, checkInputFile, inputFileError, readInputFile } from '../../src/formats/input-file.js';
import { readNpyFile } from '../../src/formats/npy.js';
import { readNpzFile } from '../../src/formats/npz.js';
import { readReferenceCheckpoint } from '../../src/formats/reference-checkpoint.js';
import { readCheckpointFile } from '../../src/formats/registry.js';
import { readSafetensorsFile } from '../../src/formats/safetensors.js';
import { loadTorchFile } from '../../src/formats/torch-load.js';

function errorOf(fn: () => unknown): ScoreflowError {
  try { fn(); } catch (e) { expect(e).toBeInstanceOf(ScoreflowError); return e as ScoreflowError; }
  throw new Error('expected an error');
}

describe('unreadable input files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sf-input-'));
  const folder = join(dir, 'checkpoints');
  mkdirSync(folder);
  writeFileSync(join(folder, 'checkpoint_1.pth'), 'x');
  const junk = join(dir, 'junk.bin');
  writeFileSync(junk, 'not a checkpoint at all');

  it('missing: names the path and what was expected', () => {
    const e = errorOf(() => readCheckpointFile(join(dir, 'nope.pth')));
    expect(e.code).toBe('ERR_IO');
    expect(e.message).toBe(`checkpoint not found: ${join(dir, 'nope.pth')} (no such file); expected ${CHECKPOINT_INPUT.expected}: check the path`);
    expect(errorOf(() => checkInputFile(join(dir, 'nope.pth'))).message).toMatch(/^checkpoint not found: .*nope\.pth/);
    expect(errorOf(() => readInputFile(join(junk, 'x.pth'))).message).toMatch(/not found: .*junk\.bin\/x\.pth \(a part of the path is a file/);
  });

  it('a folder: says so and lists what is inside', () => {
    for (const fn of [() => readInputFile(folder), () => checkInputFile(folder)]) {
      const e = errorOf(fn);
      expect(e.code).toBe('ERR_IO');
      expect(e.message).toBe(`checkpoint ${folder} is a folder; expected ${CHECKPOINT_INPUT.expected}: name a file inside it (it holds checkpoint_1.pth)`);
    }
  });

  it('no permission: names the path and the fix', () => {
    const denied = Object.assign(new Error(`EACCES: permission denied, open '${junk}'`), { code: 'EACCES' });
    const e = inputFileError(junk, denied, CHECKPOINT_INPUT) as ScoreflowError;
    expect(e.code).toBe('ERR_IO');
    expect(e.message).toBe(`checkpoint ${junk} cannot be read (permission denied); expected ${CHECKPOINT_INPUT.expected} readable by this user: check its permissions (ls -l ${junk})`);
    const bug = new TypeError('not an fs error');
    expect(inputFileError(junk, bug, CHECKPOINT_INPUT)).toBe(bug);
  });

  it.skipIf(process.getuid?.() === 0)('no permission, for real (not as root)', () => {
    const locked = join(dir, 'locked.pth');
    writeFileSync(locked, 'x');
    chmodSync(locked, 0o000);
    expect(errorOf(() => readCheckpointFile(locked)).message).toMatch(/locked\.pth cannot be read \(permission denied\)/);
    expect(errorOf(() => checkInputFile(locked)).message).toMatch(/permission denied/);
  });

  it('every path-taking reader names the path in its errors', () => {
    const missing = join(dir, 'missing.npz');
    expect(errorOf(() => readNpzFile(missing)).message).toMatch(/^array file not found: .*missing\.npz/);
    for (const read of [readNpzFile, readNpyFile, readSafetensorsFile, loadTorchFile, readFlaxCheckpointFile, readReferenceCheckpoint, readCheckpointFile]) {
      const e = errorOf(() => read(junk));
      expect(e.code, read.name).toBe('ERR_FORMAT');
      expect(e.message, read.name).toContain(junk);
    }
  });
});
