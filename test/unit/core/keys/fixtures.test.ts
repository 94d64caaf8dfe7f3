/** The checked-in fixtures are what keys-fixtures/README.md and index.ts say they are. */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readCertificates, readSecretKeys } from '../../../../src/core/index.ts';
import { fixtureNames, fixturePath, fixtureUserID, personas, publicOnlyFixtures, readFixture } from '../../../../keys-fixtures/index.ts';

describe('keys-fixtures', () => {
  it.each(fixtureNames)('%s: certificate, secret key and revocation certificate are present and match', async (name) => {
    const [certificate, ...more] = await readCertificates(readFixture(name, 'pub'));
    expect(more).toHaveLength(0);
    expect(certificate?.getUserIDs()).toEqual([fixtureUserID(name)]);
    const publicOnly = publicOnlyFixtures.includes(name);
    expect(existsSync(fixturePath(name, 'sec'))).toBe(!publicOnly);
    expect(existsSync(fixturePath(name, 'rev'))).toBe(!publicOnly);
    const hasUnprotected = (personas as readonly string[]).includes(name) || name === 'mallory';
    expect(existsSync(fixturePath(name, 'unprotected'))).toBe(hasUnprotected);
    if (publicOnly) return;
    const [secret] = await readSecretKeys(readFixture(name, 'sec'));
    expect(secret?.getFingerprint()).toBe(certificate?.getFingerprint());
    if (hasUnprotected) {
      const [unprotected] = await readSecretKeys(readFixture(name, 'unprotected'));
      expect(unprotected?.getFingerprint()).toBe(certificate?.getFingerprint());
      expect(unprotected?.getKeys().every((key) => key.isDecrypted())).toBe(true);
    }
    expect(secret?.getKeys().some((key) => key.isDecrypted())).toBe(false);
  });
});
