/**
 * The built add-on: dist/sigill.xpi from `npm run build` (npm test builds it before vitest runs).
 * Checks the manifest promises, the locales, the permissions against the code, and addons-linter.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs script without type declarations; its return shape is checked below.
import { lintExtension } from '../../../scripts/lint-extension.mjs';

const built = 'dist/extension';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

interface Manifest {
  manifest_version: number;
  default_locale: string;
  permissions: string[];
  icons: Record<string, string>;
  browser_specific_settings: { gecko: { id: string; strict_min_version: string } };
  background: { scripts: string[] };
  options_ui?: { page: string; open_in_tab?: boolean };
}

beforeAll(() => {
  if (!existsSync('dist/sigill.xpi')) {
    const build = spawnSync('npm', ['run', 'build'], { encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
  }
});

describe('dist/sigill.xpi', () => {
  it('is a zip holding the built extension', () => {
    const names = execFileSync('python3', ['-c', 'import sys,zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', 'dist/sigill.xpi'], {
      encoding: 'utf8',
    }).split('\n');
    expect(names).toContain('manifest.json');
    expect(names).toContain('background/background.js');
    expect(names).toContain('_locales/en/messages.json');
    expect(names).toContain('_locales/sv/messages.json');
  });

  it('has a Manifest V3 manifest for Thunderbird 128 and later', () => {
    const manifest = JSON.parse(readFileSync(join(built, 'manifest.json'), 'utf8')) as Manifest;
    expect(manifest.manifest_version).toBe(3);
    expect(manifest.browser_specific_settings.gecko.id).toBe('sigill@sigill.dev');
    expect(manifest.browser_specific_settings.gecko.strict_min_version).toBe('128.0');
    for (const icon of Object.values(manifest.icons)) expect(existsSync(join(built, icon))).toBe(true);
    for (const script of manifest.background.scripts) expect(existsSync(join(built, script))).toBe(true);
  });

  it('has an options page (opened in a tab) and a passphrase prompt, with their scripts and no remote resources', () => {
    const manifest = JSON.parse(readFileSync(join(built, 'manifest.json'), 'utf8')) as Manifest;
    expect(manifest.options_ui).toEqual({ page: 'options/options.html', open_in_tab: true });
    for (const page of ['options/options.html', 'prompt/prompt.html']) {
      const html = readFileSync(join(built, page), 'utf8');
      const references = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((match) => match[1] ?? '');
      expect(references.length).toBeGreaterThan(0);
      for (const reference of references) {
        // Only the extension's own files (and in-page anchors); never anything fetched from elsewhere.
        expect(reference).not.toMatch(/^[a-z][a-z0-9+.-]*:|^\/\//i);
        if (!reference.startsWith('#')) expect(existsSync(join(built, page, '..', reference))).toBe(true);
      }
    }
  });

  it('has the same messages in every locale', () => {
    const keys = (locale: string) =>
      Object.keys(JSON.parse(readFileSync(join(built, '_locales', locale, 'messages.json'), 'utf8')) as object).sort();
    expect(keys('sv')).toEqual(keys('en'));
  });

  it('asks for exactly the permissions its code uses', () => {
    const manifest = JSON.parse(readFileSync(join(built, 'manifest.json'), 'utf8')) as Manifest;
    const code = filesUnder(built).filter((file) => file.endsWith('.js')).map((file) => readFileSync(file, 'utf8')).join('\n');
    // Namespaces that need a permission of the same name (or the one given).
    const permissionOf: Record<string, string> = {
      compose: 'compose', messages: 'messagesRead', messageDisplay: 'messagesRead', accounts: 'accountsRead',
      identities: 'accountsIdentities', storage: 'storage', notifications: 'notifications', scripting: 'scripting',
      menus: 'menus', addressBooks: 'addressBooks', downloads: 'downloads',
    };
    const used = new Set<string>();
    for (const match of code.matchAll(/\b(?:browser|messenger)\.(\w+)\./g)) {
      const permission = permissionOf[match[1] ?? ''];
      if (permission) used.add(permission);
    }
    expect([...manifest.permissions].sort()).toEqual([...used].sort());
  });

  it('passes addons-linter with no finding beyond the explained allowances', () => {
    const result = lintExtension(built) as { errors: number; problems: unknown[]; allowed: unknown[] };
    expect(result.errors).toBe(0);
    expect(result.problems).toEqual([]);
  });
});
