/**
 * The package's public surface: every `exports` subpath maps to a compiled index of an existing source
 * folder, the root carries what the README shows first, and `files` ships what the install step needs and
 * no tests. scripts/ci/package checks the same from a packed, installed tarball.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as root from '../../src/index.js';
import { SubVPSDE } from '../../src/sde/index.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

describe('package surface', () => {
  it('each exports entry has types first and points at dist/<area>/index of a source folder', () => {
    const entries = Object.entries(pkg.exports as Record<string, string | { types: string; default: string }>);
    expect(entries.map(([k]) => k)).toEqual(['.', './formats', './likelihood', './sampling', './sde', './losses', './metrics',
      './data', './eval', './train', './ode', './config', './package.json']);
    for (const [key, target] of entries) {
      if (key === './package.json') continue;
      if (typeof target === 'string') throw new Error(`${key}: expected { types, default }`);
      expect(Object.keys(target)).toEqual(['types', 'default']);
      const area = key === '.' ? '' : `${key.slice(2)}/`;
      expect(target).toEqual({ types: `./dist/${area}index.d.ts`, default: `./dist/${area}index.js` });
      expect(existsSync(join(ROOT, 'src', area, 'index.ts')), `src/${area}index.ts`).toBe(true);
    }
  });

  it('the root exports the SDEs, the model, checkpoint loading, the likelihood, the samplers and the trainer', () => {
    for (const name of ['VPSDE', 'SubVPSDE', 'VESDE', 'ScoreModel', 'readStateDict', 'readCheckpointFile', 'odeLikelihood',
      'pcSample', 'odeSample', 'sample', 'Trainer', 'getScoreFn', 'sdeFromConfig', 'loadConfig']) {
      expect(typeof (root as Record<string, unknown>)[name], name).toBe('function');
    }
    expect(root.subVPSDE).toBe(SubVPSDE);
    expect(new root.subVPSDE().kind).toBe('subvpsde');
    expect(typeof root.sde.VPSDE).toBe('function'); // the namespaces stay
  });

  it('ships the build sources, the install step and the compiled JS, not tests; npm runs the install script', () => {
    expect(pkg.files).toEqual(expect.arrayContaining(['dist/**/*.js', 'dist/**/*.d.ts', 'native/', 'CMakeLists.txt', 'binding.gyp',
      'scripts/install.mjs', 'scripts/install/', 'bin/', 'configs/']));
    expect(pkg.files.some((f: string) => /^(test|bench|src|\.cache)\b/.test(f))).toBe(false);
    expect(pkg.scripts.install).toBe('node scripts/install.mjs');
    expect(pkg.scripts.prepack).toMatch(/tsc -p tsconfig.json/);
    for (const dep of ['cmake-js', 'node-addon-api', 'node-api-headers']) expect(pkg.dependencies[dep], dep).toBeDefined();
  });
});
