/**
 * Sigill's settings, stored next to the keyring under `sigill.settings` with a schema version.
 */
import { SigillError } from '../errors.ts';
import type { KeyValueStorage } from './storage.ts';

export const SETTINGS_KEY = 'sigill.settings';
export const SETTINGS_SCHEMA_VERSION = 1;

export interface Settings {
  /** Encrypt new messages when every recipient has an accepted key. */
  encryptByDefault: boolean;
  /** Sign new messages with the identity's own key. */
  signByDefault: boolean;
  /** How long an unlocked secret key stays in memory, in minutes (0: ask every time). */
  unlockMinutes: number;
}

export const defaultSettings: Readonly<Settings> = Object.freeze({
  encryptByDefault: true,
  signByDefault: true,
  unlockMinutes: 10,
});

/** The longest unlock time offered: a working day. */
export const MAX_UNLOCK_MINUTES = 8 * 60;

/** Checks a partial update; throws BAD_INPUT naming the field. */
export function validateSettings(update: Partial<Settings>): Partial<Settings> {
  const checked: Partial<Settings> = {};
  for (const [name, value] of Object.entries(update)) {
    switch (name) {
      case 'encryptByDefault':
      case 'signByDefault':
        if (typeof value !== 'boolean') throw new SigillError('BAD_INPUT', { detail: `${name} must be true or false` });
        checked[name] = value;
        break;
      case 'unlockMinutes':
        if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > MAX_UNLOCK_MINUTES) {
          throw new SigillError('BAD_INPUT', { detail: `unlockMinutes must be a whole number from 0 to ${MAX_UNLOCK_MINUTES}` });
        }
        checked.unlockMinutes = value as number;
        break;
      default:
        throw new SigillError('BAD_INPUT', { detail: `unknown setting ${JSON.stringify(name)}` });
    }
  }
  return checked;
}

/** Reads the settings; missing or unknown fields take their defaults, so older stored settings still load. */
export async function loadSettings(storage: KeyValueStorage): Promise<Settings> {
  const stored = (await storage.get([SETTINGS_KEY]))[SETTINGS_KEY];
  const settings: Settings = { ...defaultSettings };
  if (typeof stored !== 'object' || stored === null) return settings;
  const values = (stored as { values?: unknown }).values;
  if (typeof values !== 'object' || values === null) return settings;
  for (const [name, value] of Object.entries(values)) {
    try {
      Object.assign(settings, validateSettings({ [name]: value } as Partial<Settings>));
    } catch {
      // a stored value that is no longer valid falls back to its default
    }
  }
  return settings;
}

/** Validates `update`, merges it into the stored settings and returns the result. */
export async function saveSettings(storage: KeyValueStorage, update: Partial<Settings>): Promise<Settings> {
  const settings = { ...(await loadSettings(storage)), ...validateSettings(update) };
  await storage.set({ [SETTINGS_KEY]: { version: SETTINGS_SCHEMA_VERSION, values: settings } });
  return settings;
}
