// Lookup by address: the right status for every kind of key (KEY-BAD), several keys per address,
// and acceptance transitions.
import { describe, expect, it } from 'vitest';
import { generateKey, exportKey, type KeyUseStatus } from '../../../../src/core/index.ts';
import { fixtureAddress, loadCertificate, readFixture, type FixtureName } from '../../../../keys-fixtures/index.ts';
import { expectSigillError } from '../keys/expect-code.ts';
import { openKeyring } from './helpers.ts';

async function keyringWith(name: FixtureName, acceptance: 'undecided' | 'accepted' = 'accepted') {
  const opened = await openKeyring();
  const report = await opened.keyring.importKeys(readFixture(name, 'pub'), { acceptance });
  expect(report.failed).toEqual([]);
  return opened;
}

describe('keyring lookup by address', () => {
  it('says "missing" for an address no key carries', async () => {
    const { keyring } = await openKeyring();
    const found = keyring.lookup('nobody@sigill.test');
    expect(found).toMatchObject({ status: 'missing', usable: [], candidates: [] });
    expect(found.message).toMatch(/No key/);
    await expectSigillError(keyring.encryptionKeys('nobody@sigill.test'), 'KEY_NOT_FOUND');
  });

  it('finds an accepted key whatever the case and angle brackets of the address', async () => {
    const { keyring } = await keyringWith('bob');
    const found = keyring.lookup(' <Bob@Sigill.TEST> ');
    expect(found.status).toBe('usable');
    expect(found.usable.map((record) => record.fingerprint)).toEqual([(await loadCertificate('bob')).getFingerprint()]);
    const [key] = await keyring.encryptionKeys('bob@sigill.test');
    expect(key?.getFingerprint()).toBe((await loadCertificate('bob')).getFingerprint());
  });

  const cases: Array<[FixtureName, KeyUseStatus, string]> = [
    ['expired', 'expired', 'KEY_EXPIRED'],
    ['revoked', 'revoked', 'KEY_REVOKED'],
    ['signing-only', 'no-encryption-key', 'NO_ENCRYPTION_KEY'],
  ];
  for (const [name, status, code] of cases) {
    it(`says "${status}" for the ${name} fixture, even when accepted, and refuses to encrypt (${code})`, async () => {
      const { keyring } = await keyringWith(name);
      const found = keyring.lookup(fixtureAddress(name));
      expect(found.status).toBe(status);
      expect(found.usable).toEqual([]);
      expect(found.candidates).toHaveLength(1);
      await expectSigillError(keyring.encryptionKeys(fixtureAddress(name)), code as never);
    });
  }

  it('says "not accepted" for an undecided key and "rejected" for a rejected one', async () => {
    const { keyring } = await keyringWith('carol', 'undecided');
    expect(keyring.lookup(fixtureAddress('carol')).status).toBe('not-accepted');
    await expectSigillError(keyring.encryptionKeys(fixtureAddress('carol')), 'KEY_NOT_ACCEPTED');
    const fingerprint = (await loadCertificate('carol')).getFingerprint();
    await keyring.setAcceptance(fingerprint, 'rejected');
    expect(keyring.lookup(fixtureAddress('carol')).status).toBe('rejected');
    await expectSigillError(keyring.encryptionKeys(fixtureAddress('carol')), 'KEY_NOT_ACCEPTED');
  });

  it('turns a key "expired" once its expiry date passes, without a new import', async () => {
    const { keyring, clock } = await openKeyring();
    const generated = await generateKey({ userIDs: ['Soon <soon@sigill.test>'], expiresInSeconds: 3600, date: new Date(clock.now()) });
    await keyring.importKeys(exportKey(generated.publicKey, { armor: true }), { acceptance: 'accepted' });
    expect(keyring.lookup('soon@sigill.test').status).toBe('usable');
    clock.advance(2 * 3600 * 1000);
    expect(keyring.lookup('soon@sigill.test').status).toBe('expired');
    await expectSigillError(keyring.encryptionKeys('soon@sigill.test'), 'KEY_EXPIRED');
  });

  for (const name of ['unbound-subkey', 'forged-subkey'] as const) {
    it(`never encrypts to mallory's subkey grafted onto the ${name} fixture`, async () => {
      const { keyring } = await keyringWith(name);
      expect(keyring.lookup(fixtureAddress(name)).status).toBe('usable');
      const [key] = await keyring.encryptionKeys(fixtureAddress(name));
      const chosen = await key!.getEncryptionKey();
      const mallorySubkeys = (await loadCertificate('mallory')).getSubkeys().map((subkey) => subkey.getKeyID().toHex());
      expect(mallorySubkeys).not.toContain(chosen.getKeyID().toHex());
      const record = keyring.record(key!.getFingerprint())!;
      expect(record.algorithms.length).toBeGreaterThan(1);
    });
  }

  it('treats the tampered fixture\'s intact certificate as an ordinary key', async () => {
    const { keyring } = await keyringWith('tampered');
    expect(keyring.lookup(fixtureAddress('tampered')).status).toBe('usable');
  });

  it('offers every usable key of an address, verified first, and reports the most useful reason otherwise', async () => {
    const { keyring, clock } = await keyringWith('alice');
    const second = await generateKey({ userIDs: ['Alice (laptop) <alice@sigill.test>'], date: new Date(clock.now()) });
    const report = await keyring.importKeys(exportKey(second.publicKey, { armor: true }));
    expect(report.imported[0]?.result).toBe('added');
    const aliceFingerprint = (await loadCertificate('alice')).getFingerprint();
    const secondFingerprint = second.publicKey.getFingerprint();

    let found = keyring.lookup('alice@sigill.test');
    expect(found.usable.map((record) => record.fingerprint)).toEqual([aliceFingerprint]);
    expect(found.candidates.map((candidate) => candidate.status)).toEqual(['usable', 'not-accepted']);

    await keyring.setAcceptance(secondFingerprint, 'verified');
    found = keyring.lookup('alice@sigill.test');
    expect(found.usable.map((record) => record.fingerprint)).toEqual([secondFingerprint, aliceFingerprint]);
    expect((await keyring.encryptionKeys('alice@sigill.test')).map((key) => key.getFingerprint())).toEqual([secondFingerprint, aliceFingerprint]);

    await keyring.setAcceptance(aliceFingerprint, 'rejected');
    await keyring.setAcceptance(secondFingerprint, 'undecided');
    expect(keyring.lookup('alice@sigill.test').status).toBe('not-accepted');
  });
});

describe('acceptance', () => {
  it('moves between every state, keeps it across re-imports and reopening, and refuses unknown states', async () => {
    const { keyring, storage, clock } = await keyringWith('bob', 'undecided');
    const fingerprint = (await loadCertificate('bob')).getFingerprint();
    expect(keyring.record(fingerprint)?.acceptance).toBe('undecided');
    for (const state of ['accepted', 'verified', 'rejected', 'undecided', 'verified'] as const) {
      expect((await keyring.setAcceptance(fingerprint, state)).acceptance).toBe(state);
      expect(keyring.record(fingerprint)?.acceptance).toBe(state);
    }
    // Importing the same key again (as a discovered key would be) never changes the decision.
    const again = await keyring.importKeys(readFixture('bob', 'pub'), { acceptance: 'undecided' });
    expect(again.imported[0]).toMatchObject({ result: 'updated', record: { acceptance: 'verified' } });
    const reopened = await openKeyring({ storage, clock });
    expect(reopened.keyring.record(fingerprint)?.acceptance).toBe('verified');
    await expectSigillError(keyring.setAcceptance(fingerprint, 'trusted' as never), 'BAD_INPUT');
    await expectSigillError(keyring.setAcceptance('00'.repeat(20), 'accepted'), 'KEY_NOT_FOUND');
  });
});

describe('search', () => {
  it('finds keys by name, address or fingerprint (with or without spaces) and caps the list', async () => {
    const { keyring } = await openKeyring();
    for (const name of ['alice', 'bob', 'carol', 'dave'] as const) await keyring.importKeys(readFixture(name, 'pub'));
    expect(keyring.search('CAROL').records.map((record) => record.primaryUserID)).toEqual(['Carol <carol@sigill.test>']);
    expect(keyring.search('612D 40E9').records.map((record) => record.primaryUserID)).toEqual(['Dave <dave@sigill.test>']);
    const capped = keyring.search('sigill.test', { limit: 2 });
    expect(capped.total).toBe(4);
    expect(capped.records).toHaveLength(2);
    expect(keyring.search('', { secret: true }).total).toBe(0);
  });
});
