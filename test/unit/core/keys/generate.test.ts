import { generateSessionKey } from 'openpgp';
import { describe, expect, it } from 'vitest';
import {
  applyRevocationCertificate,
  generateKey,
  isUnlocked,
  keyStatus,
  unlockKey,
  type KeyProfile,
} from '../../../../src/core/index.ts';
import { expectSigillError } from './expect-code.ts';

const userID = 'Alice Example <alice@example.org>';

describe('generateKey profiles', () => {
  const expectations: Array<{ profile: KeyProfile; version: 4 | 6; primary: string; subkey: string }> = [
    { profile: 'default', version: 4, primary: 'ed25519', subkey: 'cv25519' },
    { profile: 'rsa3072', version: 4, primary: 'rsa3072', subkey: 'rsa3072' },
    { profile: 'rsa4096', version: 4, primary: 'rsa4096', subkey: 'rsa4096' },
    { profile: 'rfc9580', version: 6, primary: 'ed25519', subkey: 'x25519' },
  ];

  it.each(expectations)('$profile makes a v$version $primary key with a $subkey encryption subkey', async ({ profile, version, primary, subkey }) => {
    const { secretKey, publicKey, revocationCertificate } = await generateKey({ userIDs: [userID], profile });
    const status = await keyStatus(publicKey);
    expect(status).toMatchObject({ version, algorithm: primary, canEncrypt: true, canSign: true, problems: [], expired: false, revoked: false });
    expect(status.userIDs).toEqual([userID]);
    expect(status.primaryUserID).toBe(userID);
    expect(status.fingerprint).toMatch(version === 6 ? /^[0-9a-f]{64}$/ : /^[0-9a-f]{40}$/);
    expect(status.fingerprint).toBe(secretKey.getFingerprint());
    expect(secretKey.isPrivate()).toBe(true);
    expect(publicKey.isPrivate()).toBe(false);
    expect(isUnlocked(secretKey)).toBe(true);
    const encryptionKey = await publicKey.getEncryptionKey();
    expect(encryptionKey).not.toBe(publicKey);
    const { algorithm, curve, bits } = encryptionKey.getAlgorithmInfo();
    expect(algorithm.startsWith('rsa') ? `rsa${bits}` : curve === 'curve25519Legacy' ? 'cv25519' : algorithm).toBe(subkey);
    expect(revocationCertificate).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
  });

  it('advertises SEIPDv2 (AEAD, GCM first) only on v6 keys, so v4 keys stay readable by GnuPG 2.2', async () => {
    // OpenPGP.js picks an AEAD session key only when the recipient's self-signature has the SEIPDv2 feature.
    const sessionKeyFor = async (profile: KeyProfile) => {
      const { publicKey } = await generateKey({ userIDs: [userID], profile });
      return generateSessionKey({ encryptionKeys: publicKey });
    };
    expect((await sessionKeyFor('default')).aeadAlgorithm).toBeUndefined();
    expect((await sessionKeyFor('rfc9580')).aeadAlgorithm).toBe('gcm');
  });
});

describe('generateKey options', () => {
  it('keeps user IDs verbatim, the first one primary, and parses their addresses', async () => {
    const userIDs = ['Ålice Äxample (work) <alice@example.org>', 'alice@example.net', 'Just a name'];
    const { publicKey } = await generateKey({ userIDs });
    const status = await keyStatus(publicKey);
    expect(status.userIDs).toEqual(userIDs);
    expect(status.primaryUserID).toBe(userIDs[0]);
    expect(publicKey.users[0]?.userID?.email).toBe('alice@example.org');
  });

  it('locks the secret key when a passphrase is given', async () => {
    const { secretKey } = await generateKey({ userIDs: [userID], passphrase: 'correct horse' });
    expect(isUnlocked(secretKey)).toBe(false);
    expect(secretKey.getKeys().every((key) => !key.isDecrypted())).toBe(true);
    const unlocked = await unlockKey(secretKey, ['correct horse']);
    expect(isUnlocked(unlocked)).toBe(true);
  });

  it.each(['default', 'rfc9580'] as KeyProfile[])('%s: sets the creation date and the expiry', async (profile) => {
    const date = new Date('2025-03-01T12:00:00Z');
    const { publicKey } = await generateKey({ userIDs: [userID], date, expiresInSeconds: 3600, profile });
    const before = await keyStatus(publicKey, { date: new Date('2025-03-01T12:30:00Z') });
    expect(before.created).toEqual(date);
    expect(before.expires).toEqual(new Date('2025-03-01T13:00:00Z'));
    expect(before.problems).toEqual([]);
    const after = await keyStatus(publicKey, { date: new Date('2025-03-01T13:00:01Z') });
    expect(after).toMatchObject({ expired: true, canEncrypt: false, canSign: false, problems: ['KEY_EXPIRED'] });
  });

  it('has no expiry by default', async () => {
    const { publicKey } = await generateKey({ userIDs: [userID] });
    expect((await keyStatus(publicKey)).expires).toBeUndefined();
  });

  it('makes a revocation certificate that revokes the key', async () => {
    const { publicKey, revocationCertificate } = await generateKey({ userIDs: [userID] });
    const revoked = await applyRevocationCertificate(publicKey, revocationCertificate);
    expect(await keyStatus(revoked)).toMatchObject({ revoked: true, problems: ['KEY_REVOKED'], canEncrypt: false });
    expect((await keyStatus(publicKey)).revoked).toBe(false);
  });

  it.each(['default', 'rfc9580'] as KeyProfile[])('%s with signingOnly: a primary key and no encryption subkey', async (profile) => {
    const { publicKey } = await generateKey({ userIDs: [userID], profile, signingOnly: true });
    expect(publicKey.subkeys).toHaveLength(0);
    expect(await keyStatus(publicKey)).toMatchObject({ canEncrypt: false, canSign: true, problems: ['NO_ENCRYPTION_KEY'] });
  });

  it('allows a v6 key without user IDs', async () => {
    const { publicKey } = await generateKey({ userIDs: [], profile: 'rfc9580' });
    expect(await keyStatus(publicKey)).toMatchObject({ userIDs: [], canEncrypt: true, canSign: true, problems: [] });
  });

  it.each([
    ['no user ID for a v4 key', []],
    ['an empty user ID', ['']],
    ['a blank user ID', ['   ']],
    ['a line break', ['Alice\n<alice@example.org>']],
    ['a NUL character', ['Alice\u0000 <alice@example.org>']],
    ['a right-to-left override', ['Alice \u202Egro.elpmaxe@ecila <x@example.org>']],
    ['a lone surrogate', ['Alice \uD800 <alice@example.org>']],
    ['a broken address part', ['Alice <alice>']],
    ['two addresses', ['Alice <alice@example.org> <bob@example.org>']],
    ['stray brackets', ['Alice > Bob']],
    ['a duplicate', [userID, userID]],
    ['a too long user ID', [`${'a'.repeat(5200)} <a@example.org>`]],
  ])('refuses %s with BAD_USER_ID', async (_what, userIDs) => {
    await expectSigillError(generateKey({ userIDs }), 'BAD_USER_ID');
  });

  it('refuses bad options with clear codes', async () => {
    await expectSigillError(generateKey({ userIDs: [userID], expiresInSeconds: -5 }), 'BAD_INPUT');
    await expectSigillError(generateKey({ userIDs: [userID], expiresInSeconds: 1.5 }), 'BAD_INPUT');
    await expectSigillError(generateKey({ userIDs: [userID], date: new Date('nonsense') }), 'BAD_INPUT');
    await expectSigillError(generateKey({ userIDs: [userID], passphrase: '' }), 'BAD_INPUT');
    await expectSigillError(generateKey({ userIDs: [userID], profile: 'dsa1024' as KeyProfile }), 'UNSUPPORTED_ALGORITHM');
  });
});
