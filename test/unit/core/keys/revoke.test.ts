import { enums } from 'openpgp';
import { describe, expect, it } from 'vitest';
import { applyRevocationCertificate, isUnlocked, keyStatus, revokeKey } from '../../../../src/core/index.ts';
import { fixturePassphrase, loadCertificate, loadSecretKey, readFixture } from '../../../../keys-fixtures/index.ts';
import { expectSigillError } from './expect-code.ts';

describe('revokeKey', () => {
  it('revokes an unlocked key with a reason', async () => {
    const revoked = await revokeKey({ key: await loadSecretKey('alice', { unlocked: true }), reason: 'lost my laptop', reasonCode: 'compromised' });
    expect(await keyStatus(revoked)).toMatchObject({ revoked: true, canEncrypt: false, canSign: false, problems: ['KEY_REVOKED'] });
    const [signature] = revoked.revocationSignatures;
    expect(signature?.reasonForRevocationString).toBe('lost my laptop');
    expect(signature?.reasonForRevocationFlag).toBe(enums.reasonForRevocation.keyCompromised);
    // the certificate carries the revocation too
    expect((await keyStatus(revoked.toPublic())).revoked).toBe(true);
  });

  it('revokes a locked key with its passphrase and returns it still locked', async () => {
    const locked = await loadSecretKey('bob');
    const revoked = await revokeKey({ key: locked, passphrases: [fixturePassphrase('bob')] });
    expect(isUnlocked(revoked)).toBe(false);
    expect((await keyStatus(revoked)).revoked).toBe(true);
    expect((await keyStatus(locked)).revoked).toBe(false);
  });

  it('says KEY_LOCKED for a locked key without passphrase, BAD_PASSPHRASE for a wrong one', async () => {
    await expectSigillError(revokeKey({ key: await loadSecretKey('bob') }), 'KEY_LOCKED');
    await expectSigillError(revokeKey({ key: await loadSecretKey('bob'), passphrases: ['wrong'] }), 'BAD_PASSPHRASE');
  });
});

describe('applyRevocationCertificate', () => {
  it('applies the certificate made at generation to the certificate and to the secret key', async () => {
    const certificate = await applyRevocationCertificate(await loadCertificate('carol'), readFixture('carol', 'rev'));
    expect(certificate.isPrivate()).toBe(false);
    expect((await keyStatus(certificate)).problems).toEqual(['KEY_REVOKED']);
    const secret = await applyRevocationCertificate(await loadSecretKey('carol'), readFixture('carol', 'rev'));
    expect(secret.isPrivate()).toBe(true);
    expect((await keyStatus(secret)).revoked).toBe(true);
  });

  it('refuses a certificate for another key', async () => {
    await expectSigillError(applyRevocationCertificate(await loadCertificate('alice'), readFixture('bob', 'rev')), 'BAD_INPUT');
  });

  it('refuses bad armor and armor that is not a certificate', async () => {
    const alice = await loadCertificate('alice');
    await expectSigillError(applyRevocationCertificate(alice, 'not armor'), 'MALFORMED_ARMOR');
    await expectSigillError(applyRevocationCertificate(alice, '-----BEGIN PGP MESSAGE-----\n\nwy4ECQMI\n-----END PGP MESSAGE-----\n'), 'BAD_INPUT');
    // a whole certificate is not a revocation
    await expectSigillError(applyRevocationCertificate(alice, readFixture('alice', 'pub')), 'BAD_INPUT');
  });
});
