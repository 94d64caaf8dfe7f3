/**
 * The prebuilt CLI bundle (scripts/cli-bundle.mjs) and its V8 code cache: what `bin/sigill` runs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs build script without type declarations
import { buildBundle, bundleEntry, freshBundle } from '../../scripts/cli-bundle.mjs';
import { sigillSop } from '../support/sop.ts';

const directory = mkdtempSync(join(tmpdir(), 'sigill-bundle-test-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const loader = new URL('../../scripts/cli-bundle.mjs', import.meta.url).href;

/** runBundle in a fresh process (V8 also caches compilations within one): prints what the file exports. */
function runInChild(path: string, cacheName: string): string {
  const script = `const { runBundle } = await import(${JSON.stringify(loader)}); const { exports, settle } = runBundle(process.argv[1], process.argv[2]); settle(); console.log(exports.answer(), exports.file === process.argv[1], exports.hasRequire);`;
  return execFileSync(process.execPath, ['--input-type=module', '-e', script, path, cacheName], { encoding: 'utf8' }).trim();
}

describe('runBundle (V8 code cache for a CommonJS bundle)', () => {
  it('runs the file, writes one cache per name after the run, and replaces a cache V8 rejects', () => {
    const path = join(directory, 'entry.cjs');
    writeFileSync(path, 'exports.answer = () => 42; exports.file = __filename; exports.hasRequire = typeof require("node:fs").readFileSync;\n');
    expect(runInChild(path, 'decrypt')).toBe('42 true function');
    const cache = readFileSync(`${path}.decrypt.cache`);
    expect(cache.length).toBeGreaterThan(0);
    // Accepted by the next process: nothing rewritten.
    expect(runInChild(path, 'decrypt')).toBe('42 true function');
    expect(readFileSync(`${path}.decrypt.cache`).equals(cache)).toBe(true);
    // Garbage is rejected by V8: the file still runs and the cache is written anew.
    writeFileSync(`${path}.decrypt.cache`, 'not a code cache');
    expect(runInChild(path, 'decrypt')).toBe('42 true function');
    expect(readFileSync(`${path}.decrypt.cache`).toString()).not.toBe('not a code cache');
    // A name that is not a plain word cannot steer the cache file elsewhere.
    expect(runInChild(path, '../../escape')).toBe('42 true function');
    expect(existsSync(`${path}.other.cache`)).toBe(true);
  });
});

describe('the bundle bin/sigill runs', () => {
  it('is fresh after a build, has the sop and main entries, and sop runs from it with its own code cache', async () => {
    const built = (await buildBundle()) as string;
    const fresh = freshBundle() as string | undefined;
    expect(fresh).toBe(built);
    if (fresh === undefined) return;
    for (const name of ['sop', 'main']) expect(existsSync(bundleEntry(fresh, name) as string)).toBe(true);
    // The sop bundle leaves @noble/ciphers' AES (the core's pure-JS fallback) unevaluated until used.
    expect(readFileSync(bundleEntry(fresh, 'sop') as string, 'utf8')).toContain('lazy-module:@noble/ciphers/aes');
    const [node = '', ...rest] = sigillSop;
    const cachePath = `${bundleEntry(fresh, 'sop') as string}.version.cache`;
    rmSync(cachePath, { force: true });
    expect(execFileSync(node, [...rest, 'version'], { encoding: 'utf8' })).toMatch(/^sigill \d+\.\d+\.\d+/);
    expect(existsSync(cachePath)).toBe(true);
    writeFileSync(cachePath, 'garbage');
    expect(execFileSync(node, [...rest, 'version'], { encoding: 'utf8' })).toMatch(/^sigill \d+\.\d+\.\d+/);
    expect(readFileSync(cachePath).toString()).not.toBe('garbage');
  });

  it('records its sources relative to the repository when built from another working directory, so editing one makes it stale', () => {
    const script = `const { buildBundle } = await import(${JSON.stringify(loader)}); await buildBundle();`;
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: directory, encoding: 'utf8' });
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const pointer = JSON.parse(readFileSync(join(root, 'node_modules', '.cache', 'sigill-cli', 'current.json'), 'utf8')) as { inputs: [string, number, number][] };
    const sources = pointer.inputs.filter(([path]) => path.endsWith('.ts'));
    expect(sources.map(([path]) => path)).toContain('src/cli/sop/main.ts');
    // Every recorded source is a real file (a wrong base would record "missing", which never changes).
    for (const [path, , size] of sources) {
      expect(path.startsWith('..')).toBe(false);
      expect(size).toBeGreaterThan(0);
    }
  });
});
