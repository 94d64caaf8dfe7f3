// Whole-keyring backup → restore, the storage schema, and reopening from storage.
import { describe, expect, it } from 'vitest';
import { KEYRING_INDEX_KEY, keyStorageKey, MemoryStorage, metadataShardKey, storedKeyRecords } from '../../../../src/core/index.ts';
import { fixturePassphrase, loadCertificate, readFixture } from '../../../../keys-fixtures/index.ts';
import { expectSigillError } from '../keys/expect-code.ts';
import { openKeyring, secretKeysAtRest, unprotectedPacketsAtRest } from './helpers.ts';

async function populated() {
  const opened = await openKeyring();
  const { keyring } = opened;
  await keyring.importSecretKeys(readFixture('alice', 'sec'), { passphrase: fixturePassphrase('alice') });
  await keyring.importKeys(readFixture('bob', 'pub'), { acceptance: 'accepted' });
  await keyring.importKeys(readFixture('carol', 'pub'), { acceptance: 'rejected' });
  await keyring.importKeys(readFixture('erin', 'pub'), { acceptance: 'verified' });
  await keyring.importKeys(readFixture('expired', 'pub'));
  return opened;
}

describe('whole-keyring backup', () => {
  it('restores every key and decision into an empty keyring, secret keys still protected', async () => {
    const { keyring, clock } = await populated();
    const backup = await keyring.exportBackup();
    const target = await openKeyring({ clock });
    const report = await target.keyring.restoreBackup(backup);
    expect(report.failed).toEqual([]);
    expect(report.imported).toHaveLength(5);
    const summary = (records: typeof report.imported[number]['record'][]) =>
      records.map(({ fingerprint, acceptance, secret, addresses }) => ({ fingerprint, acceptance, secret, addresses })).sort((a, b) => a.fingerprint.localeCompare(b.fingerprint));
    expect(summary(target.keyring.records())).toEqual(summary(keyring.records()));
    expect(await unprotectedPacketsAtRest(target.storage)).toEqual([]);
    expect(await secretKeysAtRest(target.storage)).toHaveLength(1);
    const alice = (await loadCertificate('alice')).getFingerprint();
    await target.keyring.unlock(alice, fixturePassphrase('alice'));
    expect(target.keyring.lookup('bob@sigill.test').status).toBe('usable');
    expect(target.keyring.lookup('carol@sigill.test').status).toBe('rejected');
    expect(target.keyring.lookup('expired@sigill.test').status).toBe('expired');
  });

  it('merges into a keyring that already has keys, keeping its decisions', async () => {
    const { keyring, clock } = await populated();
    const backup = await keyring.exportBackup();
    const target = await openKeyring({ clock });
    await target.keyring.importKeys(readFixture('bob', 'pub'), { acceptance: 'rejected' });
    const report = await target.keyring.restoreBackup(backup);
    expect(report.imported.find((outcome) => outcome.record.addresses.includes('bob@sigill.test'))).toMatchObject({ result: 'updated', record: { acceptance: 'rejected' } });
    expect(target.keyring.size).toBe(5);
  });

  it('refuses a backup holding an unprotected secret key, and files that are not backups', async () => {
    const { keyring, clock } = await openKeyring();
    const forged = JSON.stringify({ format: 'sigill-keyring-backup', version: 1, created: '', keys: [{ armored: readFixture('bob', 'unprotected'), acceptance: 'verified' }] });
    const target = await openKeyring({ clock });
    const report = await target.keyring.restoreBackup(forged);
    expect(report.imported).toEqual([]);
    expect(report.failed).toMatchObject([{ code: 'KEY_UNPROTECTED' }]);
    expect(target.storage.rawEntries()).toEqual([]);
    await expectSigillError(keyring.restoreBackup('not json'), 'BAD_INPUT');
    await expectSigillError(keyring.restoreBackup('{"format":"something else"}'), 'BAD_INPUT');
    await expectSigillError(keyring.restoreBackup(JSON.stringify({ format: 'sigill-keyring-backup', version: 99, keys: [] })), 'BAD_INPUT');
  });
});

describe('storage schema', () => {
  it('keeps a versioned index, the metadata in shards by fingerprint, and each armored key in its own item', async () => {
    const { keyring, storage } = await populated();
    const snapshot = storage.snapshot();
    expect(snapshot[KEYRING_INDEX_KEY]).toEqual({ version: 1, shards: 256 });
    const records = storedKeyRecords(snapshot);
    expect(Object.keys(records).sort()).toEqual(keyring.records().map((record) => record.fingerprint).sort());
    for (const fingerprint of Object.keys(records)) {
      expect(JSON.parse(snapshot[metadataShardKey(fingerprint.slice(0, 2))] as string)).toHaveProperty(fingerprint);
      expect(snapshot[keyStorageKey(fingerprint)]).toMatchObject({ armored: expect.stringContaining('-----BEGIN PGP') });
    }
  });

  it('rewrites only the metadata shard of the key a decision is about', async () => {
    const { keyring, storage } = await populated();
    const bob = (await loadCertificate('bob')).getFingerprint();
    const written: string[][] = [];
    const set = storage.set.bind(storage);
    storage.set = async (items) => {
      written.push(Object.keys(items).sort());
      await set(items);
    };
    await keyring.setAcceptance(bob, 'verified');
    expect(written).toEqual([[KEYRING_INDEX_KEY, metadataShardKey(bob.slice(0, 2))].sort()]);
  });

  it('reopens from storage with the same records and lookups, without parsing keys', async () => {
    const { keyring, storage, clock } = await populated();
    const reopened = await openKeyring({ storage: MemoryStorage.from(storage.snapshot()), clock });
    const byFingerprint = (records: ReturnType<typeof keyring.records>) => [...records].sort((a, b) => a.fingerprint.localeCompare(b.fingerprint));
    expect(byFingerprint(reopened.keyring.records())).toEqual(byFingerprint(keyring.records()));
    expect(reopened.keyring.lookup('bob@sigill.test').status).toBe('usable');
  });

  it('refuses a schema from a newer Sigill and a malformed index, instead of overwriting them', async () => {
    await expectSigillError(openKeyring({ storage: MemoryStorage.from({ [KEYRING_INDEX_KEY]: { version: 2, shards: 256 } }) }), 'BAD_INPUT');
    await expectSigillError(openKeyring({ storage: MemoryStorage.from({ [KEYRING_INDEX_KEY]: { version: 1, shards: 16 } }) }), 'BAD_INPUT');
    await expectSigillError(openKeyring({ storage: MemoryStorage.from({ [KEYRING_INDEX_KEY]: 'garbage' }) }), 'BAD_INPUT');
    await expectSigillError(openKeyring({ storage: MemoryStorage.from({ [KEYRING_INDEX_KEY]: { version: 1, shards: 256 }, [metadataShardKey('ab')]: '{not json' }) }), 'BAD_INPUT');
  });

  it('keeps every change when several arrive at once', async () => {
    const { keyring, storage, clock } = await openKeyring();
    await Promise.all([
      keyring.importKeys(readFixture('bob', 'pub')),
      keyring.importKeys(readFixture('carol', 'pub'), { acceptance: 'accepted' }),
      keyring.importSecretKeys(readFixture('alice', 'sec'), { passphrase: fixturePassphrase('alice') }),
      keyring.importKeys(readFixture('dave', 'pub')),
    ]);
    const reopened = await openKeyring({ storage: MemoryStorage.from(storage.snapshot()), clock });
    expect(reopened.keyring.records().map((record) => record.addresses[0]).sort()).toEqual(['alice@sigill.test', 'bob@sigill.test', 'carol@sigill.test', 'dave@sigill.test']);
  });

  it('reports a stored key that no longer matches its record instead of using it', async () => {
    const { storage, clock } = await populated();
    const bob = (await loadCertificate('bob')).getFingerprint();
    const carol = await storage.get([keyStorageKey((await loadCertificate('carol')).getFingerprint())]);
    // Someone swapped bob's stored key for carol's behind the keyring's back.
    await storage.set({ [keyStorageKey(bob)]: Object.values(carol)[0] });
    const reopened = await openKeyring({ storage, clock });
    await expectSigillError(reopened.keyring.encryptionKeys('bob@sigill.test'), 'KEY_INVALID');
    expect(reopened.keyring.lookup('carol@sigill.test').status).toBe('rejected');
  });

  it('leaves memory and storage as they were when storage refuses a write', async () => {
    const { keyring, storage } = await populated();
    const before = storage.rawEntries();
    const originalSet = storage.set.bind(storage);
    storage.set = async () => {
      throw new Error('disk full');
    };
    await expect(keyring.importKeys(readFixture('dave', 'pub'))).rejects.toThrow('disk full');
    storage.set = originalSet;
    expect(keyring.lookup('dave@sigill.test').status).toBe('missing');
    expect(storage.rawEntries()).toEqual(before);
    // The keyring still works after the failure.
    await keyring.importKeys(readFixture('dave', 'pub'));
    expect(keyring.lookup('dave@sigill.test').status).toBe('not-accepted');
  });
});
