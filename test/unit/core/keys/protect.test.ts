import { describe, expect, it } from 'vitest';
import { changePassphrase, clearUnlockedKey, exportKey, generateKey, isUnlocked, lockKey, readSecretKeys, unlockKey } from '../../../../src/core/index.ts';
import { fixturePassphrase, loadCertificate, loadSecretKey, readFixture } from '../../../../keys-fixtures/index.ts';
import { expectSigillError } from './expect-code.ts';

describe('unlockKey', () => {
  it.each(['alice', 'dave', 'erin'] as const)('unlocks %s with the right passphrase and leaves the given key locked', async (name) => {
    const locked = await loadSecretKey(name);
    expect(isUnlocked(locked)).toBe(false);
    const unlocked = await unlockKey(locked, [fixturePassphrase(name)]);
    expect(isUnlocked(unlocked)).toBe(true);
    expect(unlocked).not.toBe(locked);
    expect(isUnlocked(locked)).toBe(false);
    expect(unlocked.getFingerprint()).toBe(locked.getFingerprint());
  });

  it('tries every passphrase', async () => {
    const unlocked = await unlockKey(await loadSecretKey('bob'), ['wrong', 'also wrong', fixturePassphrase('bob')]);
    expect(isUnlocked(unlocked)).toBe(true);
  });

  it('says BAD_PASSPHRASE for wrong passphrases, KEY_LOCKED for none', async () => {
    const locked = await loadSecretKey('alice');
    await expectSigillError(unlockKey(locked, ['wrong']), 'BAD_PASSPHRASE');
    await expectSigillError(unlockKey(locked, ['bob-passphrase', '']), 'BAD_PASSPHRASE');
    await expectSigillError(unlockKey(locked, []), 'KEY_LOCKED');
    await expectSigillError(unlockKey(await loadSecretKey('erin'), ['wrong']), 'BAD_PASSPHRASE');
  });

  it('returns a checked copy of an unprotected key, whatever the passphrases', async () => {
    const [open] = await readSecretKeys(readFixture('carol', 'unprotected'));
    if (open === undefined) throw new Error('no key');
    const copy = await unlockKey(open, []);
    expect(isUnlocked(copy)).toBe(true);
    expect(await unlockKey(open, ['anything'])).not.toBe(open);
  });

  it('says KEY_NOT_SECRET for a certificate', async () => {
    const certificate = await loadCertificate('alice');
    // A public key reaches here only through a cast; the check must still hold at run time.
    await expectSigillError(unlockKey(certificate as never, ['x']), 'KEY_NOT_SECRET');
  });
});

describe('lockKey and changePassphrase', () => {
  it('locks an unlocked key with a new passphrase, as a copy', async () => {
    const unlocked = await loadSecretKey('alice', { unlocked: true });
    const locked = await lockKey(unlocked, 'new secret');
    expect(isUnlocked(locked)).toBe(false);
    expect(isUnlocked(unlocked)).toBe(true);
    await expectSigillError(unlockKey(locked, [fixturePassphrase('alice')]), 'BAD_PASSPHRASE');
    expect(isUnlocked(await unlockKey(locked, ['new secret']))).toBe(true);
  });

  it('refuses an empty passphrase and a locked key', async () => {
    await expectSigillError(lockKey(await loadSecretKey('alice', { unlocked: true }), ''), 'BAD_INPUT');
    await expectSigillError(lockKey(await loadSecretKey('alice'), 'x'), 'KEY_LOCKED');
  });

  it('changes the passphrase', async () => {
    const changed = await changePassphrase({ key: await loadSecretKey('bob'), oldPassphrases: [fixturePassphrase('bob')], newPassphrase: 'b0b-new' });
    await expectSigillError(unlockKey(changed, [fixturePassphrase('bob')]), 'BAD_PASSPHRASE');
    expect(isUnlocked(await unlockKey(changed, ['b0b-new']))).toBe(true);
    // the armored export really carries the new protection
    const [reread] = await readSecretKeys(exportKey(changed, { armor: true, secret: true }));
    if (reread === undefined) throw new Error('no key');
    expect(isUnlocked(await unlockKey(reread, ['b0b-new']))).toBe(true);
  });

  it('removes the protection when no new passphrase is given, and adds it to an unprotected key', async () => {
    const open = await changePassphrase({ key: await loadSecretKey('erin'), oldPassphrases: [fixturePassphrase('erin')] });
    expect(isUnlocked(open)).toBe(true);
    const [reread] = await readSecretKeys(exportKey(open, { armor: false, secret: true }));
    expect(reread !== undefined && isUnlocked(reread)).toBe(true);
    const protectedAgain = await changePassphrase({ key: open, oldPassphrases: [], newPassphrase: 'erin-2' });
    expect(isUnlocked(protectedAgain)).toBe(false);
    expect(isUnlocked(open)).toBe(true);
  });

  it('fails on the wrong old passphrase', async () => {
    await expectSigillError(changePassphrase({ key: await loadSecretKey('bob'), oldPassphrases: ['nope'], newPassphrase: 'x' }), 'BAD_PASSPHRASE');
  });

  it('protects v4 keys so GnuPG 2.2 reads them (CFB, S2K usage 254) and v6 keys with AEAD + Argon2 (usage 253)', async () => {
    const { secretKey: v4 } = await generateKey({ userIDs: ['A <a@example.org>'], passphrase: 'p' });
    const { secretKey: v6 } = await generateKey({ userIDs: ['A <a@example.org>'], passphrase: 'p', profile: 'rfc9580' });
    // s2kUsage and s2k are not in OpenPGP.js's typings; read them to check the wire format.
    const protection = (key: typeof v4) => key.getKeys().map(({ keyPacket }) => {
      const packet = keyPacket as unknown as { s2kUsage: number; s2k: { type: string } };
      return `${packet.s2kUsage}/${packet.s2k.type}`;
    });
    expect(protection(v4)).toEqual(['254/iterated', '254/iterated']);
    expect(protection(v6)).toEqual(['253/argon2', '253/argon2']);
  });
});

describe('clearUnlockedKey', () => {
  it('drops the decrypted secret parameters of an unlocked copy', async () => {
    const unlocked = await loadSecretKey('alice', { unlocked: true });
    clearUnlockedKey(unlocked);
    expect(unlocked.getKeys().every(({ keyPacket }) => !keyPacket.isDecrypted())).toBe(true);
  });
});
