import { describe, expect, it } from 'vitest';
import { exportKey, extractCertificate, isUnlocked, readKeys, readSecretKeys, unlockKey } from '../../../../src/core/index.ts';
import { fixturePassphrase, loadCertificate, loadSecretKey } from '../../../../keys-fixtures/index.ts';
import { expectSigillError } from './expect-code.ts';

describe('exportKey', () => {
  it.each(['alice', 'dave', 'erin'] as const)('round-trips the %s certificate armored and binary', async (name) => {
    const certificate = await loadCertificate(name);
    const armored = exportKey(certificate, { armor: true });
    expect(armored).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    const binary = exportKey(certificate, { armor: false });
    expect(binary).toBeInstanceOf(Uint8Array);
    for (const exported of [armored, binary]) {
      const [reread] = await readKeys(exported);
      expect(reread?.isPrivate()).toBe(false);
      expect(reread?.write()).toEqual(certificate.write());
    }
  });

  it('exports only the certificate of a secret key unless asked for the secret', async () => {
    const secret = await loadSecretKey('alice');
    const [publicPart] = await readKeys(exportKey(secret, { armor: true }));
    expect(publicPart?.isPrivate()).toBe(false);
    expect(publicPart?.write()).toEqual(secret.toPublic().write());
  });

  it.each(['alice', 'dave', 'erin'] as const)('round-trips the %s secret key, still locked', async (name) => {
    const secret = await loadSecretKey(name);
    for (const exported of [exportKey(secret, { armor: true, secret: true }), exportKey(secret, { armor: false, secret: true })]) {
      const [reread] = await readSecretKeys(exported);
      if (reread === undefined) throw new Error('no key');
      expect(isUnlocked(reread)).toBe(false);
      expect(isUnlocked(await unlockKey(reread, [fixturePassphrase(name)]))).toBe(true);
    }
  });

  it('says KEY_NOT_SECRET when the secret of a certificate is asked for', async () => {
    const certificate = await loadCertificate('alice');
    await expectSigillError(() => exportKey(certificate, { armor: true, secret: true }), 'KEY_NOT_SECRET');
  });
});

describe('extractCertificate', () => {
  it('gives the public part of a secret key', async () => {
    const secret = await loadSecretKey('erin');
    const certificate = extractCertificate(secret);
    expect(certificate.isPrivate()).toBe(false);
    expect(certificate.getFingerprint()).toBe(secret.getFingerprint());
    expect(certificate.write()).toEqual((await loadCertificate('erin')).write());
  });
});
