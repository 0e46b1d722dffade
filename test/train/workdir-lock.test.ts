import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCK_NAME, WorkdirLock } from '../../src/workdir/lock.js';

const workdir = () => mkdtempSync(join(tmpdir(), 'sf-lock-'));
const owner = (pid: number, host = hostname()) => JSON.stringify({ pid, hostname: host, started: '2026-01-01T00:00:00.000Z' });
/** The pid of a process that has exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;

describe('workdir lock', () => {
  it('one holder at a time: a live owner is an ERR_LOCKED error naming the lock file and its pid; release frees it', () => {
    const w = workdir();
    const lock = WorkdirLock.acquire(w);
    const path = join(w, LOCK_NAME);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ pid: process.pid, hostname: hostname() });
    expect(() => WorkdirLock.acquire(w)).toThrow(expect.objectContaining({ code: 'ERR_LOCKED', message: expect.stringContaining(`${path} is held by pid ${process.pid} on this host`) }));
    lock.release();
    expect(existsSync(path)).toBe(false);
    WorkdirLock.acquire(w).release();
  });

  it("another live process's lock is refused; one on another host cannot be judged and is refused too", () => {
    const w = workdir();
    const path = join(w, LOCK_NAME);
    writeFileSync(path, owner(process.ppid)); // vitest's parent: alive
    expect(() => WorkdirLock.acquire(w)).toThrow(new RegExp(`held by pid ${process.ppid} on this host .*kill ${process.ppid}`));
    writeFileSync(path, owner(deadPid(), 'elsewhere'));
    expect(() => WorkdirLock.acquire(w)).toThrow(/on host elsewhere .*delete/);
  });

  it('a dead owner\'s lock (a killed run) is taken over, with a message', () => {
    const w = workdir();
    const pid = deadPid();
    writeFileSync(join(w, LOCK_NAME), owner(pid));
    const said: string[] = [];
    const lock = WorkdirLock.acquire(w, (m) => said.push(m));
    expect(said).toEqual([expect.stringContaining(`took over the stale lock ${join(w, LOCK_NAME)} of pid ${pid}`)]);
    expect(JSON.parse(readFileSync(join(w, LOCK_NAME), 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  it('is released when the process exits without releasing it', () => {
    const w = workdir();
    const src = new URL('../../src/workdir/lock.ts', import.meta.url).pathname;
    const r = spawnSync(process.execPath, ['--import', './scripts/register-ts.js', '--input-type=module', '-e',
      `const { WorkdirLock } = await import(${JSON.stringify(src)}); WorkdirLock.acquire(${JSON.stringify(w)}); process.exit(3);`],
    { cwd: new URL('../../', import.meta.url).pathname, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(3);
    expect(existsSync(join(w, LOCK_NAME))).toBe(false);
  });
});
