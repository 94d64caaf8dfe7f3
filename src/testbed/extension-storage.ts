/**
 * An add-on's `storage.local`, written into a profile before Thunderbird first starts on it.
 *
 * Thunderbird (like Firefox) keeps `storage.local` in IndexedDB, but still carries the one-time migration
 * from the old JSON backend (`ExtensionStorageIDB.sys.mjs`, `migrateJSONFileData`): on an add-on's first
 * storage access, while the pref `extensions.webextensions.ExtensionStorageIDB.migrated.<id>` is unset and
 * its IndexedDB is empty, Gecko reads `<profile>/browser-extension-data/<id>/storage.js` (one JSON object,
 * key → value) into IndexedDB, renames the file `storage.js.migrated` and sets the pref. The add-on's own
 * first `storage.local.get` waits for that migration, so its background sees the data from its first read:
 * no add-on restart, no privileged write into a running Thunderbird, nothing added to the add-on itself.
 *
 * One catch (`Extension.sys.mjs`, startup): an add-on starting for the first time (`ADDON_INSTALL`, as one
 * dropped into a fresh profile's extensions/ does) is marked migrated at once, "because there will not be
 * any data to migrate", unless `extensions.webextensions.keepStorageOnUninstall` is true. So the profile's
 * user.js gets that pref too; all it changes otherwise is that uninstalling an add-on keeps its storage.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';

export interface ExtensionStorageOptions {
  /** A profile Thunderbird has not yet opened this add-on's storage in (a fresh one). */
  profileDir: string;
  addonId: string;
  /** The storage.local items; every value must survive JSON unchanged (no Uint8Array, Date, undefined, Map). */
  items: Record<string, unknown>;
}

/** The pref Gecko sets once it has migrated (or found) an add-on's storage; after that storage.js is ignored. */
export function storageMigratedPref(addonId: string): string {
  return `extensions.webextensions.ExtensionStorageIDB.migrated.${addonId}`;
}

/** Without it, a fresh profile's add-on is marked migrated before it could read storage.js (see above). */
export const keepStorageOnUninstallPref = 'extensions.webextensions.keepStorageOnUninstall';

/** Where Gecko looks for an add-on's JSON-backend storage (`ExtensionStorage.getStorageFile`). */
export function legacyStorageFile(profileDir: string, addonId: string): string {
  return join(profileDir, 'browser-extension-data', addonId, 'storage.js');
}

/**
 * Writes `items` as the add-on's storage.js, for Gecko to move into storage.local on the add-on's first
 * storage access, and adds `keepStorageOnUninstallPref` to the profile's user.js (needed on the first start
 * only: afterwards the storage is in IndexedDB, so a later rewrite of user.js may drop it). Throws, writing
 * nothing, when a value would not survive JSON or when this profile has already opened the add-on's storage
 * (the file would be ignored and the add-on would start without it). Returns the file's path.
 */
export function writeExtensionStorageBeforeStart(options: ExtensionStorageOptions): string {
  const { profileDir, addonId, items } = options;
  const json = JSON.stringify(items);
  // A structured clone (what storage.local.set would store) keeps Uint8Array, Date, Map; JSON does not.
  const lost = Object.keys(items).filter((key) => !isDeepStrictEqual(JSON.parse(JSON.stringify({ [key]: items[key] })), { [key]: items[key] }));
  if (lost.length > 0) throw new TypeError(`storage items that JSON would change: ${lost.join(', ')}`);
  if (alreadyMigrated(profileDir, addonId)) {
    throw new Error(`${addonId}'s storage in ${profileDir} is already in IndexedDB (${storageMigratedPref(addonId)} is set); storage.js would be ignored`);
  }
  const file = legacyStorageFile(profileDir, addonId);
  mkdirSync(join(file, '..'), { recursive: true });
  // Written whole and renamed: Gecko never reads half a file (a broken one it renames `.corrupt` and drops).
  writeFileSync(`${file}.part`, json);
  renameSync(`${file}.part`, file);
  const userJs = join(profileDir, 'user.js');
  const keep = `user_pref(${JSON.stringify(keepStorageOnUninstallPref)}, true);\n`;
  if (!(existsSync(userJs) && readFileSync(userJs, 'utf8').includes(keep))) appendFileSync(userJs, keep);
  return file;
}

/** Whether prefs.js (written by Thunderbird) or user.js records the add-on's storage as migrated. */
function alreadyMigrated(profileDir: string, addonId: string): boolean {
  const needle = `${JSON.stringify(storageMigratedPref(addonId))}, true`;
  return ['prefs.js', 'user.js'].some((name) => {
    const path = join(profileDir, name);
    return existsSync(path) && readFileSync(path, 'utf8').includes(needle);
  });
}
