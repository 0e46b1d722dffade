import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResumePoints } from '../../src/train/resume-points.js';

const bytes = (step: number) => new TextEncoder().encode(`state ${step}`);
const text = (path: string) => readFileSync(path, 'utf8');

function points(): ResumePoints {
  return new ResumePoints(join(mkdtempSync(join(tmpdir(), 'sf-points-')), 'checkpoints-meta'));
}

describe('resume points', () => {
  it('a save keeps the newest point as checkpoint.prev.pth; a divergence at the newest one sets it aside and restores the previous', () => {
    const p = points();
    p.save(bytes(60), 60);
    p.save(bytes(61), 61);
    expect([text(p.newest), text(p.previous)]).toEqual(['state 61', 'state 60']);
    expect(p.holds(61)).toBe(true);
    const said = p.setAside(61);
    expect(said).toContain(`set aside as ${p.diverged}`);
    expect(said).toContain(`a re-run resumes from step 60, ${p.newest}`);
    expect([text(p.newest), text(p.diverged), existsSync(p.previous)]).toEqual(['state 60', 'state 61', false]);
    expect(p.pick()).toEqual({ path: p.newest, interrupted: false });
  });

  it('a divergence after the newest point keeps it, and one with no earlier point says the re-run starts over', () => {
    const p = points();
    p.save(bytes(60), 60);
    expect(p.setAside(62)).toBe(`a re-run resumes from step 60, ${p.newest}, from before the divergence.`);
    expect(text(p.newest)).toBe('state 60');
    expect(p.setAside(60)).toMatch(/set aside .*; no earlier resume point is kept, so a re-run starts from step 0\.$/);
    expect(p.pick()).toBeUndefined();
  });

  it('a save cut between its two renames leaves the previous point, which is picked and then rotated correctly', () => {
    const p = points();
    p.save(bytes(2), 2);
    p.save(bytes(4), 4);
    rmSync(p.newest); // as if killed after renaming the newest away, before the new one took its place
    expect(p.pick()).toEqual({ path: p.previous, interrupted: true });
    const q = new ResumePoints(p.dir);
    q.resumedFrom(p.previous, 2);
    q.save(bytes(3), 3);
    expect([text(q.newest), text(q.previous)]).toEqual(['state 3', 'state 2']);
    expect(readdirSync(p.dir).sort()).toEqual(['checkpoint.prev.pth', 'checkpoint.pth']);
  });

  it('a resume error names the file, the cause, and the intact previous point', () => {
    const p = points();
    p.save(bytes(1), 1);
    p.save(bytes(2), 2);
    const e = p.cannotResume(p.newest, Object.assign(new Error('truncated zip: end-of-central-directory record not found'), { code: 'ERR_FORMAT' }));
    expect(e.code).toBe('ERR_FORMAT');
    expect(e.message).toBe(`cannot resume from ${p.newest}: truncated zip: end-of-central-directory record not found. ` +
      `The previous resume point ${p.previous} is kept: move ${p.newest} away (e.g. to ${p.newest}.damaged) and re-run ` +
      `to continue from it, or delete ${p.dir} to start over from step 0.`);
    rmSync(p.previous);
    expect(p.cannotResume(p.newest, new Error('bad')).message).toMatch(/: bad\. Delete .*checkpoints-meta to start over from step 0/);
  });
});
