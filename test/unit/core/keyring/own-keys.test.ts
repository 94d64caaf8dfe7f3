// Own secret keys: generation, secret-key import (GnuPG exports, backups), passphrase change, expiry,
// revocation, deletion, and KEY-REST: raw storage never holds unprotected secret key material.
import { describe, expect, it } from 'vitest';
import { PacketList, PublicKey, SignaturePacket, type AnyPacket } from 'openpgp';
import { assertProtected, readSecretKeys, storedKeyRecords } from '../../../../src/core/index.ts';
import { fixturePassphrase, loadCertificate, readFixture } from '../../../../keys-fixtures/index.ts';
import { expectSigillError } from '../keys/expect-code.ts';
import { openKeyring, unprotectedPacketsAtRest, secretKeysAtRest } from './helpers.ts';

const DAY = 24 * 60 * 60 * 1000;

function packetList(packets: AnyPacket[]): PacketList<AnyPacket> {
  const list = new PacketList<AnyPacket>();
  list.push(...packets);
  return list;
}

describe('own keys', () => {
  it('generates a protected key that expires in three years, not backed up until marked, with a backup file that does not revoke on import', async () => {
    const { keyring, storage, clock } = await openKeyring();
    const { record, backup } = await keyring.generateOwnKey({ userIDs: ['Alice <alice@sigill.test>'], passphrase: 'correct horse battery staple' });
    expect(record).toMatchObject({ secret: true, acceptance: 'verified', backedUp: false, addresses: ['alice@sigill.test'], algorithms: ['ed25519', 'cv25519'] });
    expect(Date.parse(record.expires!) - clock.now().getTime()).toBeGreaterThan(3 * 365 * DAY - DAY);
    expect(Date.parse(record.expires!) - clock.now().getTime()).toBeLessThan(3 * 366 * DAY);
    expect(keyring.lookup('alice@sigill.test').status).toBe('usable');
    expect(keyring.ownKeysFor('ALICE@sigill.test').map((own) => own.fingerprint)).toEqual([record.fingerprint]);

    expect(backup).toContain('-----BEGIN PGP PRIVATE KEY BLOCK-----');
    expect(backup).toMatch(/^:-----BEGIN PGP PUBLIC KEY BLOCK-----$/m);
    expect(await unprotectedPacketsAtRest(storage)).toEqual([]);
    expect(await secretKeysAtRest(storage)).toHaveLength(1);

    expect((await keyring.markBackedUp(record.fingerprint)).backedUp).toBe(true);

    // The backup file restores the key, protected, with its revocation certificate, and not revoked.
    const elsewhere = await openKeyring({ clock });
    const report = await elsewhere.keyring.importSecretKeys(backup, { passphrase: 'correct horse battery staple' });
    expect(report.failed).toEqual([]);
    expect(report.imported[0]?.record).toMatchObject({ fingerprint: record.fingerprint, secret: true, revoked: false, backedUp: true });
    expect(report.imported[0]?.record.revocationCertificate).toContain('-----BEGIN PGP PUBLIC KEY BLOCK-----');
    expect(await unprotectedPacketsAtRest(elsewhere.storage)).toEqual([]);
  });

  it('refuses to generate without a passphrase', async () => {
    const { keyring, storage } = await openKeyring();
    await expectSigillError(keyring.generateOwnKey({ userIDs: ['Alice <alice@sigill.test>'], passphrase: '' }), 'BAD_INPUT');
    expect(storage.rawEntries()).toEqual([]);
  });

  it('imports a protected secret key only with its right passphrase', async () => {
    const { keyring, storage } = await openKeyring();
    await expectSigillError(keyring.importSecretKeys(readFixture('alice', 'sec'), { passphrase: '' }), 'KEY_LOCKED');
    const wrong = await keyring.importSecretKeys(readFixture('alice', 'sec'), { passphrase: 'not-it' });
    expect(wrong.imported).toEqual([]);
    expect(wrong.failed).toMatchObject([{ code: 'BAD_PASSPHRASE' }]);
    expect(storage.rawEntries()).toEqual([]);

    const right = await keyring.importSecretKeys(readFixture('alice', 'sec'), { passphrase: fixturePassphrase('alice') });
    expect(right.imported[0]?.record).toMatchObject({ secret: true, acceptance: 'verified', addresses: ['alice@sigill.test'] });
    expect(await unprotectedPacketsAtRest(storage)).toEqual([]);
  });

  it('protects an unprotected secret key with the given passphrase before storing it (KEY-REST)', async () => {
    const { keyring, storage } = await openKeyring();
    const report = await keyring.importSecretKeys(readFixture('dave', 'unprotected'), { passphrase: 'dave-new-passphrase' });
    expect(report.failed).toEqual([]);
    expect(await unprotectedPacketsAtRest(storage)).toEqual([]);
    const [atRest] = await secretKeysAtRest(storage);
    expect(atRest?.getFingerprint()).toBe((await loadCertificate('dave')).getFingerprint());
    const fingerprint = report.imported[0]!.fingerprint;
    await expectSigillError(keyring.unlock(fingerprint, fixturePassphrase('dave')), 'BAD_PASSPHRASE');
    await keyring.unlock(fingerprint, 'dave-new-passphrase');
    expect(keyring.unlockedKey(fingerprint)?.isDecrypted()).toBe(true);
  });

  it('never stores the secret part of a key that came in as a certificate import', async () => {
    const { keyring, storage } = await openKeyring();
    const report = await keyring.importKeys(readFixture('bob', 'unprotected'));
    expect(report.imported[0]?.record.secret).toBe(false);
    expect(await secretKeysAtRest(storage)).toEqual([]);
    expect(storage.rawEntries().map(([, json]) => json).join('\n')).not.toContain('PRIVATE KEY');
  });

  it('refuses an unprotected key at the last step, whatever the caller does', async () => {
    const [unprotected] = await readSecretKeys(readFixture('erin', 'unprotected'));
    await expectSigillError(() => assertProtected(unprotected!), 'KEY_UNPROTECTED');
    const [protectedKey] = await readSecretKeys(readFixture('erin', 'sec'));
    expect(() => assertProtected(protectedKey!)).not.toThrow();
  });

  it('rejects tampered secret keys with a clear reason and stores nothing (KEY-BAD)', async () => {
    const { keyring, storage } = await openKeyring();
    for (const name of ['tampered', 'tampered-subkey'] as const) {
      const report = await keyring.importSecretKeys(readFixture(name, 'sec'), { passphrase: fixturePassphrase(name) });
      expect(report.imported).toEqual([]);
      expect(report.failed).toMatchObject([{ code: 'KEY_TAMPERED' }]);
      expect(report.failed[0]?.message).toMatch(/tampered/);
    }
    expect(storage.rawEntries()).toEqual([]);
  });

  it('changes the passphrase, and the backup is due again', async () => {
    const { keyring, storage } = await openKeyring();
    const { imported } = await keyring.importSecretKeys(readFixture('carol', 'sec'), { passphrase: fixturePassphrase('carol') });
    const fingerprint = imported[0]!.fingerprint;
    await keyring.markBackedUp(fingerprint);
    await expectSigillError(keyring.changePassphrase(fingerprint, { oldPassphrase: 'wrong', newPassphrase: 'carol-2' }), 'BAD_PASSPHRASE');
    const changed = await keyring.changePassphrase(fingerprint, { oldPassphrase: fixturePassphrase('carol'), newPassphrase: 'carol-2' });
    expect(changed.backedUp).toBe(false);
    await expectSigillError(keyring.unlock(fingerprint, fixturePassphrase('carol')), 'BAD_PASSPHRASE');
    await keyring.unlock(fingerprint, 'carol-2');
    expect(await unprotectedPacketsAtRest(storage)).toEqual([]);
  });

  it('extends the expiry of an own key (v4 and v6) keeping its user IDs and fingerprint', async () => {
    const { keyring, clock, storage } = await openKeyring();
    for (const name of ['alice', 'erin'] as const) {
      const { imported } = await keyring.importSecretKeys(readFixture(name, 'sec'), { passphrase: fixturePassphrase(name) });
      const before = imported[0]!.record;
      const extended = await keyring.extendExpiry(before.fingerprint, { passphrase: fixturePassphrase(name), expiresInSeconds: 365 * 24 * 3600 });
      expect(extended.fingerprint).toBe(before.fingerprint);
      expect(extended.userIDs).toEqual(before.userIDs);
      expect(Date.parse(extended.expires!)).toBe(clock.now().getTime() + 365 * DAY);
      expect(extended.canEncrypt).toBe(true);
      expect(extended.revocationCertificate).toBeDefined();
      expect(keyring.lookup(`${name}@sigill.test`).status).toBe('usable');
      clock.advance(366 * DAY);
      expect(keyring.lookup(`${name}@sigill.test`).status).toBe('expired');
      clock.advance(-366 * DAY);
    }
    expect(await unprotectedPacketsAtRest(storage)).toEqual([]);
  });

  it('revokes an own key with its passphrase, or with the saved revocation certificate', async () => {
    const { keyring } = await openKeyring();
    const first = await keyring.generateOwnKey({ userIDs: ['One <one@sigill.test>'], passphrase: 'one-passphrase' });
    await expectSigillError(keyring.revoke(first.record.fingerprint, { passphrase: 'wrong' }), 'BAD_PASSPHRASE');
    const revoked = await keyring.revoke(first.record.fingerprint, { passphrase: 'one-passphrase', reasonCode: 'superseded' });
    expect(revoked.revoked).toBe(true);
    expect(keyring.lookup('one@sigill.test').status).toBe('revoked');
    expect(keyring.ownKeysFor('one@sigill.test')).toEqual([]);

    const second = await keyring.generateOwnKey({ userIDs: ['Two <two@sigill.test>'], passphrase: 'two-passphrase' });
    const certificate = second.backup.slice(second.backup.indexOf(':-----BEGIN'));
    expect((await keyring.revoke(second.record.fingerprint, { revocationCertificate: certificate })).revoked).toBe(true);
    await expectSigillError(keyring.revoke(first.record.fingerprint, { revocationCertificate: certificate }), 'BAD_INPUT');
  });

  it('deletes a key and its stored copy', async () => {
    const { keyring, storage, clock } = await openKeyring();
    const { record } = await keyring.generateOwnKey({ userIDs: ['Gone <gone@sigill.test>'], passphrase: 'gone-passphrase' });
    await keyring.unlock(record.fingerprint, 'gone-passphrase');
    await keyring.delete(record.fingerprint);
    expect(keyring.record(record.fingerprint)).toBeUndefined();
    expect(keyring.unlockedKey(record.fingerprint)).toBeUndefined();
    expect(keyring.lookup('gone@sigill.test').status).toBe('missing');
    expect(storage.rawEntries().map(([key]) => key).filter((key) => key.startsWith('sigill.key.'))).toEqual([]);
    expect(storedKeyRecords(storage.snapshot())).toEqual({});
    expect((await openKeyring({ storage, clock })).keyring.size).toBe(0);
  });
});

describe('certificate import (KEY-BAD)', () => {
  it('imports a file with several keys and reports each', async () => {
    const { keyring } = await openKeyring();
    const file = ['bob', 'carol', 'dave', 'erin'].map((name) => readFixture(name as 'bob', 'pub')).join('\n');
    const report = await keyring.importKeys(file);
    expect(report.failed).toEqual([]);
    expect(report.imported.map((outcome) => outcome.result)).toEqual(['added', 'added', 'added', 'added']);
    expect(report.imported.map((outcome) => outcome.record.addresses[0])).toEqual(['bob@sigill.test', 'carol@sigill.test', 'dave@sigill.test', 'erin@sigill.test']);
    expect(keyring.records().map((record) => record.version).sort()).toEqual([4, 4, 4, 6]);
  });

  it('refuses a key without a valid self-signature and keeps the good ones of the same file', async () => {
    const { keyring } = await openKeyring();
    const carol = await loadCertificate('carol');
    const unsigned = new PublicKey(packetList(carol.toPacketList().filter((packet) => !(packet instanceof SignaturePacket))));
    const report = await keyring.importKeys(`${readFixture('bob', 'pub')}\n${unsigned.armor()}`);
    expect(report.imported.map((outcome) => outcome.record.addresses)).toEqual([['bob@sigill.test']]);
    expect(report.failed).toMatchObject([{ fingerprint: carol.getFingerprint(), code: 'KEY_INVALID' }]);
    expect(keyring.lookup('carol@sigill.test').status).toBe('missing');
  });

  it('refuses what is not a key with the reason', async () => {
    const { keyring, storage } = await openKeyring();
    await expectSigillError(keyring.importKeys('hello'), 'MALFORMED_ARMOR');
    await expectSigillError(keyring.importKeys(new Uint8Array([0x99, 1, 2, 3])), 'BAD_INPUT');
    await expectSigillError(keyring.importKeys(readFixture('alice', 'rev')), 'BAD_INPUT');
    expect(storage.rawEntries()).toEqual([]);
  });

  it('records a revocation that arrives for a known key and keeps the decision', async () => {
    const { keyring } = await openKeyring();
    const revoked = await loadCertificate('revoked');
    // Strip the revocation to get the key as it was before, accept it, then import the revoked copy.
    const before = new PublicKey(packetList(revoked.toPacketList().filter((packet) => !(packet instanceof SignaturePacket && packet.signatureType === 0x20))));
    await keyring.importKeys(before.armor(), { acceptance: 'accepted' });
    expect(keyring.lookup('revoked@sigill.test').status).toBe('usable');
    const report = await keyring.importKeys(readFixture('revoked', 'pub'));
    expect(report.imported[0]).toMatchObject({ result: 'updated', record: { revoked: true, acceptance: 'accepted' } });
    expect(keyring.lookup('revoked@sigill.test').status).toBe('revoked');
  });
});
