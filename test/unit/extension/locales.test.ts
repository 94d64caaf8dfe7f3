// Every string Sigill's pages show exists in English and Swedish (statuses and reasons included).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acceptanceStates, errorMessages, keyProfiles } from '../../../src/core/index.ts';
import { promptReasons } from '../../../extension/shared/messages.ts';
import { localeMessages } from './node-browser.ts';

const pages = ['extension/options', 'extension/prompt', 'extension/shared', 'extension/compose'];
const statuses = ['usable', 'revoked', 'expired', 'invalid', 'no-encryption-key', 'rejected', 'not-accepted'];

function pageSources(): string {
  return pages.flatMap((dir) => readdirSync(dir).filter((file) => /\.(ts|html)$/.test(file)).map((file) => readFileSync(join(dir, file), 'utf8'))).join('\n');
}

function usedNames(): string[] {
  const source = pageSources();
  const names = new Set<string>();
  for (const match of source.matchAll(/\bt\('([A-Za-z_]+)'/g)) names.add(match[1]!);
  for (const match of source.matchAll(/data-i18n(?:-[a-z-]+)?="([A-Za-z_]+)"/g)) names.add(match[1]!);
  for (const match of source.matchAll(/'(passphrase(?:Required|TooShort|Mismatch))'/g)) names.add(match[1]!);
  const families: Record<string, readonly string[]> = {
    keyStatus_: statuses,
    keyStatusText_: statuses,
    acceptance_: acceptanceStates,
    acceptanceHint_: acceptanceStates,
    profile_: keyProfiles,
    strength_: ['empty', 'tooShort', 'weak', 'fair', 'strong'],
    promptReason_: promptReasons,
    revokeReason_: ['superseded', 'compromised', 'retired', 'unspecified'],
    recipientState_: ['verified', 'accepted', 'undecided', 'rejected', 'missing', 'expired', 'revoked', 'no-encryption-key', 'invalid'],
    composeOwnKey_: ['ok', 'locked_ok', 'missing', 'problem'],
    composeDrafts_: ['local', 'server', 'unknown'],
  };
  for (const [prefix, values] of Object.entries(families)) {
    expect(source, `the pages use the ${prefix} family`).toContain(prefix);
    for (const value of values) names.add(`${prefix}${value}`.replaceAll('-', '_'));
  }
  return [...names].sort();
}

describe('page strings', () => {
  for (const locale of ['en', 'sv']) {
    it(`are all in ${locale}`, () => {
      const messages = localeMessages(locale);
      const missing = usedNames().filter((name) => messages[name] === undefined || messages[name]!.message.trim() === '');
      expect(missing).toEqual([]);
    });
  }

  it('translate every error code the keyring reports to a page', () => {
    const codes = ['BAD_PASSPHRASE', 'KEY_TAMPERED', 'KEY_UNPROTECTED', 'KEY_INVALID', 'MALFORMED_ARMOR', 'CANCELLED', 'KEY_NOT_ACCEPTED'] as const;
    for (const code of codes) {
      expect(errorMessages[code]).toBeDefined();
      expect(localeMessages('sv')[`error_${code}`]?.message).toBeTruthy();
    }
  });

  it('use only names i18n accepts, with their placeholders declared', () => {
    for (const locale of ['en', 'sv']) {
      for (const [name, entry] of Object.entries(localeMessages(locale))) {
        expect(name).toMatch(/^[A-Za-z0-9_@]+$/);
        for (const match of entry.message.matchAll(/\$([A-Za-z0-9_@]+)\$/g)) {
          expect(Object.keys(entry.placeholders ?? {}).map((key) => key.toLowerCase())).toContain(match[1]!.toLowerCase());
        }
      }
    }
  });
});
