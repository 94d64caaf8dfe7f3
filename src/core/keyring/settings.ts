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
  /** Look keys up by themselves (a recipient without a key, the daily refresh of expired or revoked keys). */
  lookupAutomatically: boolean;
  /** The network sources asked, in this order (the Autocrypt and attachment sources need no network). */
  lookupSources: NetworkLookupSource[];
  /** The VKS (keys.openpgp.org API) server asked by the `vks` source. */
  vksUrl: string;
  /** Attach the identity's public key to outgoing mail by default. */
  attachPublicKey: boolean;
  /** How protected mail goes out: RFC 3156 PGP/MIME (where Thunderbird allows it) or inline PGP. */
  sendFormat: SendFormat;
  /** The Subject on the outside of a PGP/MIME encrypted message (the real one is inside). */
  outerSubject: string;
  /** Correspondents whose software reads only inline PGP (lower-case addresses): mail to them goes inline. */
  inlineOnlyCorrespondents: string[];
}

/** The wire formats of protected mail (see src/core/outgoing/pgp-mime-format.ts). */
export type SendFormat = 'pgp-mime' | 'inline';
export const sendFormats: readonly SendFormat[] = ['pgp-mime', 'inline'];
/** The outer Subject is one header line: kept short, no line breaks. */
export const MAX_OUTER_SUBJECT_LENGTH = 200;

/** The key sources that go to the network, each switched on or off in the settings. */
export type NetworkLookupSource = 'wkd' | 'vks';
export const networkLookupSources: readonly NetworkLookupSource[] = ['wkd', 'vks'];

export const defaultSettings: Readonly<Settings> = Object.freeze({
  encryptByDefault: true,
  signByDefault: true,
  unlockMinutes: 10,
  lookupAutomatically: false,
  lookupSources: ['wkd', 'vks'] as NetworkLookupSource[],
  vksUrl: 'https://keys.openpgp.org',
  attachPublicKey: false,
  sendFormat: 'pgp-mime' as SendFormat,
  outerSubject: '...',
  inlineOnlyCorrespondents: [] as string[],
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
      case 'lookupAutomatically':
      case 'attachPublicKey':
        if (typeof value !== 'boolean') throw new SigillError('BAD_INPUT', { detail: `${name} must be true or false` });
        checked[name] = value;
        break;
      case 'lookupSources':
        if (!Array.isArray(value) || !value.every((source) => networkLookupSources.includes(source as NetworkLookupSource))) {
          throw new SigillError('BAD_INPUT', { detail: `lookupSources must be a list of ${networkLookupSources.join(', ')}` });
        }
        // Kept in the one order the sources are asked in, each once.
        checked.lookupSources = networkLookupSources.filter((source) => (value as unknown[]).includes(source));
        break;
      case 'vksUrl':
        checked.vksUrl = validKeyServerUrl(value);
        break;
      case 'sendFormat':
        if (!sendFormats.includes(value as SendFormat)) throw new SigillError('BAD_INPUT', { detail: `sendFormat must be one of ${sendFormats.join(', ')}` });
        checked.sendFormat = value as SendFormat;
        break;
      case 'outerSubject': {
        const text = typeof value === 'string' ? value.trim() : '';
        if (text === '' || text.length > MAX_OUTER_SUBJECT_LENGTH || /[\r\n\0]/.test(text)) {
          throw new SigillError('BAD_INPUT', { detail: `outerSubject must be one line of 1 to ${MAX_OUTER_SUBJECT_LENGTH} characters` });
        }
        checked.outerSubject = text;
        break;
      }
      case 'inlineOnlyCorrespondents':
        checked.inlineOnlyCorrespondents = validAddressList(value, name);
        break;
      default:
        throw new SigillError('BAD_INPUT', { detail: `unknown setting ${JSON.stringify(name)}` });
    }
  }
  return checked;
}

/** A list of bare mail addresses: trimmed, lower-cased, each once, in the order given. */
function validAddressList(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || value.length > 1000) throw new SigillError('BAD_INPUT', { detail: `${name} must be a list of mail addresses` });
  const addresses: string[] = [];
  for (const entry of value) {
    const address = typeof entry === 'string' ? entry.trim().toLowerCase() : '';
    if (!/^[^\s@<>,;"]+@[^\s@<>,;"]+$/.test(address) || address.length > 254) throw new SigillError('BAD_INPUT', { detail: `${name}: not a mail address: ${JSON.stringify(entry)}` });
    if (!addresses.includes(address)) addresses.push(address);
  }
  return addresses;
}

const LOOPBACK_HOST = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;

/** A key server base URL: https (plain http only on loopback), no query, fragment or credentials; no trailing slash. */
function validKeyServerUrl(value: unknown): string {
  let url: URL;
  try {
    url = new URL(typeof value === 'string' ? value.trim() : '');
  } catch {
    throw new SigillError('BAD_INPUT', { detail: `vksUrl is not a URL: ${JSON.stringify(value)}` });
  }
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOST.test(url.hostname));
  if (!secure || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new SigillError('BAD_INPUT', { detail: `vksUrl must be an https:// address without query or credentials: ${url.href}` });
  }
  return url.href.replace(/\/+$/, '');
}

/** Reads the settings; missing or unknown fields take their defaults, so older stored settings still load. */
export async function loadSettings(storage: KeyValueStorage): Promise<Settings> {
  const stored = (await storage.get([SETTINGS_KEY]))[SETTINGS_KEY];
  const settings: Settings = { ...defaultSettings, lookupSources: [...defaultSettings.lookupSources], inlineOnlyCorrespondents: [] };
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
