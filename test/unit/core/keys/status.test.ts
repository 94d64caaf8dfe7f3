import { PacketList, PublicKey, SignaturePacket, UserIDPacket } from 'openpgp';
import { describe, expect, it } from 'vitest';
import { assertUsable, keyStatus } from '../../../../src/core/index.ts';
import { fixtureUserID, loadCertificate, loadSecretKey } from '../../../../keys-fixtures/index.ts';
import { expectSigillError } from './expect-code.ts';

describe('keyStatus of the fixtures', () => {
  it.each([
    { name: 'alice', version: 4, algorithm: 'ed25519' },
    { name: 'bob', version: 4, algorithm: 'ed25519' },
    { name: 'carol', version: 4, algorithm: 'ed25519' },
    { name: 'dave', version: 4, algorithm: 'rsa3072' },
    { name: 'erin', version: 6, algorithm: 'ed25519' },
  ] as const)('$name: usable v$version $algorithm key', async ({ name, version, algorithm }) => {
    const certificate = await loadCertificate(name);
    const status = await keyStatus(certificate);
    expect(status).toMatchObject({
      version,
      algorithm,
      userIDs: [fixtureUserID(name)],
      primaryUserID: fixtureUserID(name),
      created: new Date('2025-06-01T00:00:00Z'),
      expired: false,
      revoked: false,
      canEncrypt: true,
      canSign: true,
      problems: [],
    });
    expect(status.expires).toBeUndefined();
    expect(status.fingerprint).toBe(certificate.getFingerprint());
    expect(status.keyID).toBe(certificate.getKeyID().toHex());
    expect(status.keyID).toMatch(/^[0-9a-f]{16}$/);
    await assertUsable(certificate, 'encrypt');
    await assertUsable(certificate, 'sign');
  });

  it('judges a secret key like its certificate', async () => {
    const secret = await loadSecretKey('alice');
    expect(await keyStatus(secret)).toEqual(await keyStatus(await loadCertificate('alice')));
  });

  it('expired: KEY_EXPIRED now, usable while it was valid', async () => {
    const certificate = await loadCertificate('expired');
    const now = await keyStatus(certificate);
    expect(now).toMatchObject({ expired: true, revoked: false, canEncrypt: false, canSign: false, problems: ['KEY_EXPIRED'] });
    expect(now.expires).toEqual(new Date('2025-01-01T00:00:00Z'));
    const then = await keyStatus(certificate, { date: new Date('2024-06-01T00:00:00Z') });
    expect(then).toMatchObject({ expired: false, canEncrypt: true, canSign: true, problems: [] });
    await expectSigillError(assertUsable(certificate, 'encrypt'), 'KEY_EXPIRED');
    await expectSigillError(assertUsable(certificate, 'sign'), 'KEY_EXPIRED');
    await assertUsable(certificate, 'encrypt', { date: new Date('2024-06-01T00:00:00Z') });
  });

  it('revoked: KEY_REVOKED', async () => {
    const certificate = await loadCertificate('revoked');
    expect(await keyStatus(certificate)).toMatchObject({ revoked: true, canEncrypt: false, canSign: false, problems: ['KEY_REVOKED'] });
    const error = await expectSigillError(assertUsable(certificate, 'encrypt'), 'KEY_REVOKED');
    expect(error.message).toContain(fixtureUserID('revoked'));
  });

  it('signing-only: NO_ENCRYPTION_KEY, still good for signing', async () => {
    const certificate = await loadCertificate('signing-only');
    expect(await keyStatus(certificate)).toMatchObject({ canEncrypt: false, canSign: true, problems: ['NO_ENCRYPTION_KEY'] });
    await expectSigillError(assertUsable(certificate, 'encrypt'), 'NO_ENCRYPTION_KEY');
    await assertUsable(certificate, 'sign');
  });

  it('a date before the key was created: KEY_INVALID', async () => {
    const certificate = await loadCertificate('alice');
    const status = await keyStatus(certificate, { date: new Date('2020-01-01T00:00:00Z') });
    expect(status.problems).toEqual(['KEY_INVALID']);
    await expectSigillError(assertUsable(certificate, 'encrypt', { date: new Date('2020-01-01T00:00:00Z') }), 'KEY_INVALID');
  });

  it('a key whose self-signatures are stripped: KEY_INVALID, and no user IDs', async () => {
    const certificate = await loadCertificate('alice');
    for (const user of certificate.users) user.selfCertifications = [];
    const status = await keyStatus(certificate);
    expect(status).toMatchObject({ userIDs: [], canEncrypt: false, canSign: false, problems: ['KEY_INVALID'] });
    expect(status.primaryUserID).toBeUndefined();
    await expectSigillError(assertUsable(certificate, 'sign'), 'KEY_INVALID');
  });

  it('a user ID added without a self-signature is not listed', async () => {
    const certificate = await loadCertificate('alice');
    const mallory = await loadCertificate('mallory');
    // Graft mallory's user ID packet with mallory's own self-signature, which does not verify for alice's key.
    const [alicePrimary, aliceUserID, aliceSelfSignature, ...aliceSubkeyPackets] = certificate.toPacketList();
    const [, malloryUserID, mallorySelfSignature] = mallory.toPacketList();
    expect(malloryUserID).toBeInstanceOf(UserIDPacket);
    expect(mallorySelfSignature).toBeInstanceOf(SignaturePacket);
    const packets = new PacketList();
    for (const packet of [alicePrimary, aliceUserID, aliceSelfSignature, malloryUserID, mallorySelfSignature, ...aliceSubkeyPackets]) {
      if (packet !== undefined) packets.push(packet);
    }
    const grafted = new PublicKey(packets);
    expect(grafted.getUserIDs()).toEqual([fixtureUserID('alice'), fixtureUserID('mallory')]);
    const status = await keyStatus(grafted);
    expect(status.userIDs).toEqual([fixtureUserID('alice')]);
    expect(status.problems).toEqual([]);
  });
});
