/**
 * npm 11 skips dependencies' install scripts unless package.json's `allowScripts` names them, and warns
 * about each one it skipped. The project decides for each such script, so `npm install`/`npm ci` run
 * exactly the reviewed ones and print no warning.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface PackageJson {
  allowScripts?: Record<string, boolean>;
}

interface PackageLock {
  packages: Record<string, { hasInstallScript?: boolean }>;
}

const packageJson = JSON.parse(readFileSync('package.json', 'utf8')) as PackageJson;
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as PackageLock;

/** Names of locked dependencies that have an install script ("node_modules/a/node_modules/@s/b" is "@s/b"). */
function packagesWithInstallScripts(): string[] {
  const names = Object.entries(lock.packages)
    .filter(([path, entry]) => path !== '' && entry.hasInstallScript === true)
    .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
  return [...new Set(names)].sort();
}

/** allowScripts keys are `name` or `name@range`; the name may be scoped (`@scope/name@1`). */
const nameOf = (key: string): string => key.replace(/(?<=.)@.*$/, '');

describe('npm install scripts', () => {
  it('allowScripts decides on every dependency with an install script (esbuild, allowed)', () => {
    const decided = Object.keys(packageJson.allowScripts ?? {}).map(nameOf).sort();
    expect(decided).toEqual(packagesWithInstallScripts());
    expect(packageJson.allowScripts?.esbuild).toBe(true);
  });

  it('names only dependencies that exist in the lockfile', () => {
    const locked = new Set(Object.keys(lock.packages).map((path) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)));
    for (const key of Object.keys(packageJson.allowScripts ?? {})) expect(locked).toContain(nameOf(key));
  });
});
