// Nothing test-only ships: dist/sigill.xpi holds the product's files and none of the test extensions
// (the e2e driver, the core probe) or their code, which are built and installed separately.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { beforeAll, expect, it } from 'vitest';

const xpi = 'dist/sigill.xpi';

/** name → content (latin1) of every file in the zip. */
function unzip(path: string): Record<string, string> {
  const script = 'import sys, zipfile, json\nz = zipfile.ZipFile(sys.argv[1])\nprint(json.dumps({n: z.read(n).decode("latin-1") for n in z.namelist()}))';
  return JSON.parse(execFileSync('python3', ['-c', script, path], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })) as Record<string, string>;
}

beforeAll(() => {
  if (!existsSync(xpi)) {
    const build = spawnSync('npm', ['run', 'build'], { encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
  }
});

it('holds only the product: manifest, its pages and scripts, locales, icons, the PGP/MIME and builtin-decryption Experiments', () => {
  const names = Object.keys(unzip(xpi)).filter((name) => !name.endsWith('/'));
  expect(names).toEqual(expect.arrayContaining(['manifest.json', 'background/background.js']));
  const unexpected = names.filter((name) => !/^(manifest\.json|(background|options|prompt|compose|display|shared)\/[\w.-]+\.(js|html|css)|_locales\/\w+\/messages\.json|icons\/[\w-]+\.png|experiments\/(pgpmime|builtin-decryption|gc)\/(schema\.json|implementation\.js|child\.js))$/.test(name));
  expect(unexpected).toEqual([]);
});

it('contains no code or id of the test extensions', () => {
  const files = unzip(xpi);
  expect(files['background/background.js']).toContain('sigill: background started');
  for (const marker of ['sigill-e2e-driver@sigill.test', 'sigill-core-probe@sigill.test', 'sigillTest', 'test/e2e/']) {
    expect(Object.keys(files).filter((name) => files[name]?.includes(marker))).toEqual([]);
  }
});
