import { describe, expect, it } from 'vitest';
import { exportKey, readCertificates, readKeys, readSecretKeys } from '../../../../src/core/index.ts';
import { loadCertificate, readFixture } from '../../../../keys-fixtures/index.ts';
import { expectSigillError } from './expect-code.ts';

const encoder = new TextEncoder();

describe('readKeys', () => {
  it('reads an armored certificate given as text or as bytes', async () => {
    const armored = readFixture('alice', 'pub');
    const alice = await loadCertificate('alice');
    for (const input of [armored, encoder.encode(armored)]) {
      const keys = await readKeys(input);
      expect(keys).toHaveLength(1);
      expect(keys[0]?.getFingerprint()).toBe(alice.getFingerprint());
      expect(keys[0]?.isPrivate()).toBe(false);
    }
  });

  it('reads armor with CRLF line endings', async () => {
    const keys = await readKeys(readFixture('alice', 'pub').replace(/\n/g, '\r\n'));
    expect(keys[0]?.getFingerprint()).toBe((await loadCertificate('alice')).getFingerprint());
  });

  it('reads a binary certificate', async () => {
    const alice = await loadCertificate('alice');
    const keys = await readKeys(exportKey(alice, { armor: false }));
    expect(keys.map((key) => key.getFingerprint())).toEqual([alice.getFingerprint()]);
  });

  it('reads several armored blocks, with text around them', async () => {
    const text = `Here are our keys:\n${readFixture('alice', 'pub')}\nand\n${readFixture('erin', 'pub')}${readFixture('dave', 'sec')}\nbye`;
    const keys = await readKeys(text);
    const expected = await Promise.all((['alice', 'erin', 'dave'] as const).map(async (name) => (await loadCertificate(name)).getFingerprint()));
    expect(keys.map((key) => key.getFingerprint())).toEqual(expected);
    expect(keys.map((key) => key.isPrivate())).toEqual([false, false, true]);
  });

  it('reads several binary keys in a row', async () => {
    const [alice, bob] = [await loadCertificate('alice'), await loadCertificate('bob')];
    const binary = new Uint8Array([...exportKey(alice, { armor: false }), ...exportKey(bob, { armor: false })]);
    expect((await readKeys(binary)).map((key) => key.getFingerprint())).toEqual([alice.getFingerprint(), bob.getFingerprint()]);
  });

  it('reads secret keys as PrivateKey and reduces them to certificates on request', async () => {
    const [secret] = await readKeys(readFixture('bob', 'sec'));
    expect(secret?.isPrivate()).toBe(true);
    const [certificate] = await readCertificates(readFixture('bob', 'sec'));
    expect(certificate?.isPrivate()).toBe(false);
    expect(certificate?.getFingerprint()).toBe(secret?.getFingerprint());
    expect(await readSecretKeys(readFixture('bob', 'unprotected'))).toHaveLength(1);
  });

  it('refuses a certificate where a secret key is needed', async () => {
    await expectSigillError(readSecretKeys(readFixture('bob', 'pub')), 'KEY_NOT_SECRET');
    await expectSigillError(readSecretKeys(readFixture('bob', 'sec') + readFixture('carol', 'pub')), 'KEY_NOT_SECRET');
  });

  it('says MALFORMED_ARMOR for text that is not armor', async () => {
    await expectSigillError(readKeys('hello, this is not a key'), 'MALFORMED_ARMOR');
    await expectSigillError(readKeys(encoder.encode('hello')), 'MALFORMED_ARMOR');
    const armored = readFixture('alice', 'pub');
    await expectSigillError(readKeys(armored.replace('-----END PGP PUBLIC KEY BLOCK-----', '')), 'MALFORMED_ARMOR');
    await expectSigillError(readKeys(armored.replace(/\n\n/, '\n')), 'MALFORMED_ARMOR');
    await expectSigillError(readKeys(new Uint8Array([0x2d, 0x2d, 0xff, 0xfe, 0x00])), 'MALFORMED_ARMOR');
  });

  it('says BAD_INPUT for armor or bytes that hold no key', async () => {
    const message = '-----BEGIN PGP MESSAGE-----\n\nwy4ECQMIRrHSjF0ptv7/y0m5xMTr8uu4UbCPkdJ7cnbZ5crHVnNUBM6njLZ7V24L\n-----END PGP MESSAGE-----\n';
    const error = await expectSigillError(readKeys(message), 'BAD_INPUT');
    expect(error.message).toContain('PGP MESSAGE');
    await expectSigillError(readKeys(new Uint8Array()), 'BAD_INPUT');
    await expectSigillError(readKeys(new Uint8Array([0xff, 0x01, 0x02, 0x03, 0x04, 0x05])), 'BAD_INPUT');
    await expectSigillError(readKeys(42 as unknown as string), 'BAD_INPUT');
  });

  it('says BAD_INPUT for a truncated key', async () => {
    const binary = exportKey(await loadCertificate('alice'), { armor: false });
    await expectSigillError(readKeys(binary.subarray(0, 20)), 'BAD_INPUT');
  });
});
