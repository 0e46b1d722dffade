// File-system faults that cannot be made portably (read-only mounts, a full disk) are injected into node:fs.
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResumePoints } from '../../src/train/resume-points.js';
import { openWorkdir } from '../../src/workdir/open.js';

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  return { ...real, writeSync: vi.fn(real.writeSync), mkdirSync: vi.fn(real.mkdirSync), openSync: vi.fn(real.openSync) };
});

const errno = (code: string) => Object.assign(new Error(`${code}: injected`), { code });
const real = await vi.importActual<typeof import('node:fs')>('node:fs');

afterEach(() => {
  vi.mocked(fs.writeSync).mockImplementation(real.writeSync);
  vi.mocked(fs.mkdirSync).mockImplementation(real.mkdirSync);
  vi.mocked(fs.openSync).mockImplementation(real.openSync);
});

describe('file-system faults', () => {
  it('ENOSPC during a checkpoint save names the path, keeps the newest resume point as it was and leaves no temp file', () => {
    const p = new ResumePoints(join(fs.mkdtempSync(join(tmpdir(), 'sf-enospc-')), 'checkpoints-meta'));
    p.save(new TextEncoder().encode('state 2'), 2);
    vi.mocked(fs.writeSync).mockImplementation(() => { throw errno('ENOSPC'); });
    expect(() => p.save(new TextEncoder().encode('state 3'), 3)).toThrow(expect.objectContaining({
      code: 'ERR_IO', message: `cannot write ${p.newest}: no space left on device (ENOSPC); the file there is unchanged`,
    }));
    expect(fs.readFileSync(p.newest, 'utf8')).toBe('state 2');
    expect(fs.readdirSync(p.dir)).toEqual(['checkpoint.pth']);
    expect(p.holds(2)).toBe(true);
  });

  it('a read-only workdir (or its parent) is reported as EROFS with the path, not as ENOENT', () => {
    const parent = fs.mkdtempSync(join(tmpdir(), 'sf-erofs-'));
    const w = join(parent, 'run', 'a');
    // Node's recursive mkdir turns EROFS into ENOENT; the plain mkdir of the first missing folder says EROFS.
    vi.mocked(fs.mkdirSync).mockImplementation((_path, opts) => {
      throw errno(typeof opts === 'object' && opts?.recursive ? 'ENOENT' : 'EROFS');
    });
    expect(() => openWorkdir(w, [], () => {})).toThrow(expect.objectContaining({
      code: 'ERR_IO', message: `--workdir ${w} is not writable: cannot create the folder ${w}: the file system is read-only (EROFS)`,
    }));
    vi.mocked(fs.mkdirSync).mockImplementation(real.mkdirSync);
    vi.mocked(fs.openSync).mockImplementation(() => { throw errno('EACCES'); });
    expect(() => openWorkdir(parent, [], () => {})).toThrow(`--workdir ${parent} is not writable: cannot create the lock file ${join(parent, 'scoreflow.lock')}: permission denied (EACCES)`);
  });

  it('a workdir that is a file is named as such', () => {
    const f = join(fs.mkdtempSync(join(tmpdir(), 'sf-file-')), 'notadir');
    fs.writeFileSync(f, 'x');
    expect(() => openWorkdir(f, [], () => {})).toThrow(expect.objectContaining({ code: 'ERR_ARG', message: expect.stringContaining(`--workdir ${f} is a file`) }));
  });
});
