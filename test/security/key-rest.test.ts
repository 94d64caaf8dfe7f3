// KEY-REST: secret key material in Sigill's storage is always passphrase-protected, whatever path put
// it there, and unlocked copies are cleared. Every check reads the raw storage (JSON text as stored),
// not what the keyring reports.
import { describe, expect, it } from 'vitest';
import { isUnlocked, readSecretKeys, type AnyKey } from '../../src/core/index.ts';
import { fixturePassphrase, readFixture } from '../../keys-fixtures/index.ts';
import { openKeyring, secretKeysAtRest, unprotectedPacketsAtRest } from '../unit/core/keyring/helpers.ts';

const PRIVATE_BLOCK = /-----BEGIN PGP PRIVATE KEY BLOCK-----[\s\S]*?-----END PGP PRIVATE KEY BLOCK-----/g;

async function unprotectedIn(text: string): Promise<number> {
  let count = 0;
  for (const block of text.match(PRIVATE_BLOCK) ?? []) {
    for (const key of await readSecretKeys(block)) if (isUnlocked(key)) count += 1;
  }
  return count;
}

describe('KEY-REST: secret keys at rest', () => {
  it('stays protected through every keyring operation, and no passphrase is ever stored', async () => {
    const { keyring, storage } = await openKeyring();
    const passphrases = ['first passphrase one', 'second passphrase two', 'dave-new-passphrase', fixturePassphrase('alice')];
    const generated = await keyring.generateOwnKey({ userIDs: ['Own <own@sigill.test>'], passphrase: passphrases[0]! });
    const v6 = await keyring.generateOwnKey({ userIDs: ['Six <six@sigill.test>'], passphrase: passphrases[0]!, profile: 'rfc9580' });
    await keyring.importSecretKeys(readFixture('dave', 'unprotected'), { passphrase: passphrases[2]! });
    await keyring.importSecretKeys(readFixture('alice', 'sec'), { passphrase: passphrases[3]! });
    await keyring.importKeys(readFixture('bob', 'unprotected')); // a secret key given as a certificate: its public part only
    await keyring.changePassphrase(generated.record.fingerprint, { oldPassphrase: passphrases[0]!, newPassphrase: passphrases[1]! });
    await keyring.extendExpiry(generated.record.fingerprint, { passphrase: passphrases[1]!, expiresInSeconds: 86_400 * 400 });
    await keyring.unlock(v6.record.fingerprint, passphrases[0]!);
    await keyring.revoke(v6.record.fingerprint, { passphrase: passphrases[0]! });

    expect(await unprotectedPacketsAtRest(storage)).toEqual([]);
    expect((await secretKeysAtRest(storage)).map((key: AnyKey) => key.getFingerprint()).sort()).toEqual(keyring.ownKeys().map((record) => record.fingerprint).sort());
    const raw = storage.rawEntries().map(([, json]) => json).join('\n');
    for (const passphrase of passphrases) expect(raw).not.toContain(passphrase);

    // What leaves as files is just as protected.
    expect(await unprotectedIn(generated.backup)).toBe(0);
    expect(await unprotectedIn(await keyring.ownKeyBackup(generated.record.fingerprint))).toBe(0);
    const backup = await keyring.exportBackup();
    expect(backup.match(PRIVATE_BLOCK)?.length).toBe(4);
    expect(await unprotectedIn(JSON.stringify(JSON.parse(backup)).replace(/\\n/g, '\n'))).toBe(0);
  });

  it('refuses to restore or store an unprotected secret key, leaving storage untouched', async () => {
    const { keyring, storage } = await openKeyring();
    const forged = JSON.stringify({ format: 'sigill-keyring-backup', version: 1, created: '', keys: [{ armored: readFixture('carol', 'unprotected'), acceptance: 'verified' }] });
    expect((await keyring.restoreBackup(forged)).failed).toMatchObject([{ code: 'KEY_UNPROTECTED' }]);
    expect(storage.rawEntries()).toEqual([]);
  });

  it('clears unlocked copies when their time is up and on "forget", and never writes them back', async () => {
    const { keyring, storage, clock } = await openKeyring({ unlockLifetimeMs: 60_000 });
    const { imported } = await keyring.importSecretKeys(readFixture('alice', 'sec'), { passphrase: fixturePassphrase('alice') });
    const fingerprint = imported[0]!.fingerprint;
    const before = storage.rawEntries();
    await keyring.unlock(fingerprint, fixturePassphrase('alice'));
    const unlocked = keyring.unlockedKey(fingerprint)!;
    expect(isUnlocked(unlocked)).toBe(true);
    expect(storage.rawEntries()).toEqual(before);
    clock.advance(60_000);
    expect(keyring.unlockedKey(fingerprint)).toBeUndefined();
    expect(isUnlocked(unlocked)).toBe(false);

    await keyring.unlock(fingerprint, fixturePassphrase('alice'));
    const again = keyring.unlockedKey(fingerprint)!;
    keyring.forget();
    expect(isUnlocked(again)).toBe(false);
    expect(storage.rawEntries()).toEqual(before);
  });
});
