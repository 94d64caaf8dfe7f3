/**
 * writeExtensionStorageBeforeStart leaves storage.js for Gecko's one-time JSON → IndexedDB migration, and
 * refuses (writing nothing) what that migration would lose or ignore. That Thunderbird really moves the file
 * into storage.local is shown by every e2e scenario that launches with `sigill: {...}` (test/e2e/README.md).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keepStorageOnUninstallPref, legacyStorageFile, storageMigratedPref, writeExtensionStorageBeforeStart } from '../../src/testbed/extension-storage.ts';

const addonId = 'sigill@sigill.dev';

describe('writeExtensionStorageBeforeStart', () => {
  let profileDir: string;
  beforeEach(() => {
    profileDir = mkdtempSync(join(tmpdir(), 'extension-storage-test-'));
  });
  afterEach(() => rmSync(profileDir, { recursive: true, force: true }));

  it('writes the items as one JSON object where Gecko looks for the old JSON backend', () => {
    const items = { 'keyring.v1': { keys: [{ fingerprint: 'ABCD', armored: '-----BEGIN PGP…' }] }, settings: { unlockMinutes: 5, names: ['å', '日本'] } };
    const file = writeExtensionStorageBeforeStart({ profileDir, addonId, items });
    expect(file).toBe(join(profileDir, 'browser-extension-data', addonId, 'storage.js'));
    expect(file).toBe(legacyStorageFile(profileDir, addonId));
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(items);
    expect(existsSync(`${file}.part`)).toBe(false);
  });

  it('adds keepStorageOnUninstall to user.js once (else a first start marks the add-on migrated without reading the file)', () => {
    writeFileSync(join(profileDir, 'user.js'), 'user_pref("mail.rights.version", 1);\n');
    writeExtensionStorageBeforeStart({ profileDir, addonId, items: { a: 1 } });
    writeExtensionStorageBeforeStart({ profileDir, addonId: 'other@example.org', items: { b: 2 } });
    const userJs = readFileSync(join(profileDir, 'user.js'), 'utf8');
    expect(userJs.startsWith('user_pref("mail.rights.version", 1);\n')).toBe(true);
    expect(userJs.split(`user_pref("${keepStorageOnUninstallPref}", true);`)).toHaveLength(2);
  });

  it.each([
    ['a Uint8Array', new Uint8Array([1, 2, 3])],
    ['a Date', new Date(0)],
    ['undefined', undefined],
    ['a nested Map', { inner: new Map([['a', 1]]) }],
    ['NaN', Number.NaN],
  ])('refuses %s (JSON would change it) and writes nothing', (_name, value) => {
    expect(() => writeExtensionStorageBeforeStart({ profileDir, addonId, items: { fine: 1, broken: value } })).toThrow(/broken/);
    expect(existsSync(join(profileDir, 'browser-extension-data'))).toBe(false);
  });

  it('refuses a profile whose storage Thunderbird has already migrated (the file would be ignored)', () => {
    writeFileSync(join(profileDir, 'prefs.js'), `user_pref("${storageMigratedPref(addonId)}", true);\n`);
    expect(() => writeExtensionStorageBeforeStart({ profileDir, addonId, items: { a: 1 } })).toThrow(/already in IndexedDB/);
    expect(existsSync(legacyStorageFile(profileDir, addonId))).toBe(false);
  });

  it("is not confused by another add-on's migration", () => {
    writeFileSync(join(profileDir, 'prefs.js'), `user_pref("${storageMigratedPref('other@example.org')}", true);\n`);
    expect(existsSync(writeExtensionStorageBeforeStart({ profileDir, addonId, items: { a: 1 } }))).toBe(true);
  });
});
