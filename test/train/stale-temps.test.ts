import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWorkdir } from '../../src/workdir/open.js';
import { tempPathOf } from '../../src/train/atomic.js';

describe('stale temp files', () => {
  it('opening a workdir removes the temp files of dead writers (and of a former process with our pid), keeps live ones, and says so', () => {
    const w = mkdtempSync(join(tmpdir(), 'sf-temps-'));
    const meta = join(w, 'checkpoints-meta');
    const snaps = join(w, 'checkpoints');
    mkdirSync(meta);
    mkdirSync(snaps);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const stale = [tempPathOf(join(meta, 'checkpoint.pth'), dead), tempPathOf(join(snaps, 'checkpoint_3.pth'), process.pid)];
    const live = tempPathOf(join(snaps, 'checkpoint_4.pth'), process.ppid);
    for (const p of [...stale, live]) writeFileSync(p, new Uint8Array(1024));
    writeFileSync(join(meta, 'checkpoint.pth'), 'x');
    const said: string[] = [];
    openWorkdir(w, [snaps, meta], (m) => said.push(m)).release();
    expect(stale.map(existsSync)).toEqual([false, false]);
    expect(existsSync(live)).toBe(true);
    expect(readdirSync(meta)).toEqual(['checkpoint.pth']);
    expect(said.sort()).toEqual([
      `removed ${stale[1]} (0.0 MiB), left by a save that process ${process.pid} did not finish`,
      `removed ${stale[0]} (0.0 MiB), left by a save that process ${dead} did not finish`,
    ].sort());
  });
});
