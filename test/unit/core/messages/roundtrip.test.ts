import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { decrypt, encrypt, isSigillError, memorySink } from '../../../../src/core/index.ts';
import { bytes, generatedStream, privateKey, publicKey, randomBytes, sameBytes, text } from './helpers.ts';

let alice: openpgp.PrivateKey;
let bob: openpgp.PrivateKey;
let carol: openpgp.PrivateKey;
let dave: openpgp.PrivateKey;
let erin: openpgp.PrivateKey;

beforeAll(async () => {
  [alice, bob, carol, dave, erin] = await Promise.all([privateKey('alice'), privateKey('bob'), privateKey('carol'), privateKey('dave'), privateKey('erin')]);
});

/** The SEIPD packet version of a binary or armored message. */
async function seipdVersion(message: Uint8Array | string): Promise<number> {
  const parsed = typeof message === 'string' ? await openpgp.readMessage({ armoredMessage: message }) : await openpgp.readMessage({ binaryMessage: message });
  const packet = parsed.packets.findPacket(openpgp.enums.packet.symEncryptedIntegrityProtectedData) as unknown as { version: number; aeadAlgorithm: number | null };
  return packet.version;
}

describe('encrypt/decrypt round trips', () => {
  it('text to several recipients plus the sender, signed; every recipient decrypts and sees a good signature', async () => {
    const armored = await text(await encrypt({ input: 'Hej Bob och Carol!\nRad två.\n', recipients: [bob.toPublic(), carol.toPublic(), alice.toPublic()], signingKeys: [alice] }));
    expect(armored.startsWith('-----BEGIN PGP MESSAGE-----')).toBe(true);
    expect(await seipdVersion(armored)).toBe(1); // v4 Cv25519 keys do not advertise SEIPDv2
    for (const reader of [bob, carol, alice]) {
      const sink = memorySink();
      const result = await decrypt({ input: armored, sink, decryptionKeys: [reader], verificationKeys: [alice.toPublic()] });
      expect(sink.text()).toBe('Hej Bob och Carol!\nRad två.\n');
      expect(result.verifications).toHaveLength(1);
      expect(result.verifications[0]).toMatchObject({ status: 'good', certificateFingerprint: alice.getFingerprint().toUpperCase(), userID: 'Alice <alice@sigill.test>', mode: 'binary' });
      expect(result.sessionKey.algorithm).toBe('aes256');
    }
    // Dave was not a recipient.
    const sink = memorySink();
    await expect(decrypt({ input: armored, sink, decryptionKeys: [dave] })).rejects.toMatchObject({ code: 'NOT_ENCRYPTED_FOR_US' });
    expect(sink.state).toBe('aborted');
  });

  it('uses SEIPDv2 with GCM only when every recipient advertises it', async () => {
    const v2 = await bytes(await encrypt({ input: 'x', recipients: [erin.toPublic()], armor: false }));
    const parsed = await openpgp.readMessage({ binaryMessage: v2 });
    const packet = parsed.packets.findPacket(openpgp.enums.packet.symEncryptedIntegrityProtectedData) as unknown as { version: number; aeadAlgorithm: number };
    expect(packet.version).toBe(2);
    expect(packet.aeadAlgorithm).toBe(openpgp.enums.aead.gcm);
    const mixed = await bytes(await encrypt({ input: 'x', recipients: [erin.toPublic(), bob.toPublic()], armor: false }));
    expect(await seipdVersion(mixed)).toBe(1);
    for (const reader of [erin, bob]) {
      const sink = memorySink();
      await decrypt({ input: mixed, sink, decryptionKeys: [reader] });
      expect(sink.text()).toBe('x');
    }
  });

  it('binary data, RSA-3072 and v6 recipients, no armor, filename kept', async () => {
    const data = randomBytes(300_000);
    for (const reader of [dave, erin]) {
      const message = await bytes(await encrypt({ input: data, recipients: [reader.toPublic()], armor: false, filename: 'data.bin' }));
      expect(message[0]! & 0x80).toBe(0x80);
      const sink = memorySink();
      const result = await decrypt({ input: message, sink, decryptionKeys: [reader] });
      expect(sameBytes(sink.bytes(), data)).toBe(true);
      expect(result.filename).toBe('data.bin');
      expect(result.format).toBe('binary');
    }
  });

  it('passwords only, and a wrong password', async () => {
    const message = await text(await encrypt({ input: 'secret', recipients: [], passwords: ['correct horse'] }));
    const sink = memorySink();
    await decrypt({ input: message, sink, passwords: ['correct horse'] });
    expect(sink.text()).toBe('secret');
    const wrong = memorySink();
    await expect(decrypt({ input: message, sink: wrong, passwords: ['wrong'] })).rejects.toMatchObject({ code: 'BAD_PASSPHRASE' });
    expect(wrong.state).toBe('aborted');
  });

  it('session keys: the one reported by decrypt decrypts again (v1 and v2)', async () => {
    for (const reader of [bob, erin]) {
      const message = await bytes(await encrypt({ input: 'by session key', recipients: [reader.toPublic()], armor: false }));
      const first = memorySink();
      const { sessionKey } = await decrypt({ input: message, sink: first, decryptionKeys: [reader] });
      const again = memorySink();
      await decrypt({ input: message, sink: again, sessionKeys: [sessionKey] });
      expect(again.text()).toBe('by session key');
      const wrongKey = { algorithm: sessionKey.algorithm, data: sessionKey.data.map((byte) => byte ^ 1) };
      const bad = memorySink();
      await expect(decrypt({ input: message, sink: bad, sessionKeys: [wrongKey] })).rejects.toMatchObject({ code: 'INTEGRITY_FAILURE' });
      expect(bad.state).toBe('aborted');
    }
  });

  it('SEIPDv1 with a legacy cipher goes through the OpenPGP.js in-memory path; Twofish is UNSUPPORTED_ALGORITHM', async () => {
    for (const algorithm of ['tripledes', 'cast5'] as const) {
      const sessionKey = { algorithm, data: randomBytes(algorithm === 'cast5' ? 16 : 24, 11) };
      const message = await openpgp.encrypt({ message: await openpgp.createMessage({ text: 'legacy cipher' }), sessionKey, passwords: ['pw'], format: 'binary', config: { allowUnauthenticatedMessages: false } });
      const sink = memorySink();
      const result = await decrypt({ input: message as Uint8Array, sink, sessionKeys: [sessionKey] });
      expect(sink.text()).toBe('legacy cipher');
      expect(result.sessionKey.algorithm).toBe(algorithm);
      expect(result.format).toBe('utf8');
    }
    // Not decrypted any more (see legacyCiphers in seipd-v1.ts), whatever gave the session key.
    const twofish = { algorithm: 'twofish' as const, data: randomBytes(32, 11) };
    const message = await openpgp.encrypt({ message: await openpgp.createMessage({ text: 'legacy cipher' }), sessionKey: twofish, passwords: ['pw'], format: 'binary' });
    await expect(decrypt({ input: message as Uint8Array, sink: memorySink(), sessionKeys: [twofish] })).rejects.toMatchObject({ code: 'UNSUPPORTED_ALGORITHM' });
    await expect(decrypt({ input: message as Uint8Array, sink: memorySink(), passwords: ['pw'] })).rejects.toMatchObject({ code: 'UNSUPPORTED_ALGORITHM' });
  });

  it('a locked decryption key is KEY_LOCKED', async () => {
    const locked = await openpgp.encryptKey({ privateKey: bob, passphrase: 'pw' });
    const message = await bytes(await encrypt({ input: 'x', recipients: [bob.toPublic()], armor: false }));
    await expect(decrypt({ input: message, sink: memorySink(), decryptionKeys: [locked] })).rejects.toMatchObject({ code: 'KEY_LOCKED' });
  });

  it('text mode: UTF-8 literal data with CRLF line endings (RFC 9580 §5.9) and a text signature', async () => {
    const input = 'line one\nline two\r\nline three\n';
    const message = await text(await encrypt({ input, recipients: [bob.toPublic()], signingKeys: [alice], format: 'text' }));
    const sink = memorySink();
    const result = await decrypt({ input: message, sink, decryptionKeys: [bob], verificationKeys: [alice.toPublic()] });
    expect(result.format).toBe('utf8');
    // Canonical network line endings, which GnuPG hashes as stored (see createLiteralMessage).
    expect(sink.text()).toBe('line one\r\nline two\r\nline three\r\n');
    expect(result.verifications[0]).toMatchObject({ status: 'good', mode: 'text' });
    // OpenPGP.js itself reads it back too, hashing the canonical (CRLF) text: RFC 9580 §5.2.1.2.
    const decrypted = await openpgp.decrypt({ message: await openpgp.readMessage({ armoredMessage: message }), decryptionKeys: bob, verificationKeys: alice.toPublic(), expectSigned: true });
    expect(decrypted.data).toBe('line one\nline two\nline three\n');
  });

  it('text mode refuses input that is not UTF-8 (EXPECTED_TEXT)', async () => {
    const latin1 = new Uint8Array([0x48, 0xe9, 0x6a, 0x0a]);
    await expect(encrypt({ input: latin1, recipients: [bob.toPublic()], format: 'text' }).then(bytes)).rejects.toMatchObject({ code: 'EXPECTED_TEXT' });
  });

  it('streams in and out: a 3 MiB stream input, armored and binary, v1 and v2', async () => {
    const size = 3 * 1024 * 1024 + 17;
    for (const reader of [bob, erin]) {
      for (const armor of [true, false]) {
        const encrypted = await encrypt({ input: generatedStream(size), recipients: [reader.toPublic()], armor });
        expect(encrypted).toBeInstanceOf(ReadableStream);
        const sink = memorySink();
        await decrypt({ input: encrypted, sink, decryptionKeys: [reader] });
        const expected = await bytes(generatedStream(size));
        expect(sink.bytes().length).toBe(size);
        expect(sameBytes(sink.bytes(), expected)).toBe(true);
      }
    }
  });

  it('signature by a key not given for verification is unknown-key; a wrong key is never good', async () => {
    const message = await bytes(await encrypt({ input: 'hi', recipients: [bob.toPublic()], signingKeys: [alice], armor: false }));
    const sink = memorySink();
    const result = await decrypt({ input: message, sink, decryptionKeys: [bob], verificationKeys: [carol.toPublic()] });
    expect(result.verifications).toEqual([expect.objectContaining({ status: 'unknown-key', signingKeyFingerprint: alice.getFingerprint().toUpperCase() })]);
    expect(sink.text()).toBe('hi');
  });

  it('refuses expired, revoked and signing-only recipients before producing anything', async () => {
    for (const [name, code] of [['expired', 'KEY_EXPIRED'], ['revoked', 'KEY_REVOKED'], ['signing-only', 'NO_ENCRYPTION_KEY']] as const) {
      const key = await publicKey(name);
      await expect(encrypt({ input: 'x', recipients: [bob.toPublic(), key] })).rejects.toMatchObject({ code });
    }
  });

  it('plain data and unencrypted messages are NOT_ENCRYPTED, NOT_OPENPGP or malformed', async () => {
    const literal = await openpgp.createMessage({ text: 'plain' });
    const sink = memorySink();
    await expect(decrypt({ input: literal.write() as Uint8Array, sink, decryptionKeys: [bob] })).rejects.toMatchObject({ code: 'NOT_ENCRYPTED' });
    // Text without an armor header line is not OpenPGP at all, not malformed armor.
    await expect(decrypt({ input: 'just some text', sink: memorySink(), decryptionKeys: [bob] })).rejects.toMatchObject({ code: 'NOT_OPENPGP' });
    await expect(decrypt({ input: new Uint8Array([0x80, 0x01, 0x00]), sink: memorySink(), decryptionKeys: [bob] })).rejects.toMatchObject({ code: 'NOT_OPENPGP' });
    await expect(decrypt({ input: new Uint8Array([0xff, 0x00, 0x12]), sink: memorySink(), decryptionKeys: [bob] })).rejects.toMatchObject({ code: 'MALFORMED_MESSAGE' });
    await expect(decrypt({ input: '-----BEGIN PGP MESSAGE-----\n\n!!!!\n-----END PGP MESSAGE-----\n', sink: memorySink(), decryptionKeys: [bob] })).rejects.toSatisfy(
      (error) => isSigillError(error, 'MALFORMED_ARMOR') || isSigillError(error, 'MALFORMED_MESSAGE'),
    );
  });
});

describe('memorySink', () => {
  it('exposes nothing before commit and nothing after abort', async () => {
    const sink = memorySink();
    await sink.write(new Uint8Array([1, 2, 3]));
    expect(() => sink.bytes()).toThrow(expect.objectContaining({ code: 'NOT_COMMITTED' }));
    await sink.commit();
    expect(sink.bytes()).toEqual(new Uint8Array([1, 2, 3]));
    const aborted = memorySink();
    await aborted.write(new Uint8Array([4]));
    await aborted.abort(new Error('x'));
    expect(() => aborted.text()).toThrow(expect.objectContaining({ code: 'NOT_COMMITTED' }));
    await expect(aborted.write(new Uint8Array([5]))).rejects.toBeTruthy();
  });

  it('enforces its limit', async () => {
    const sink = memorySink({ limit: 4 });
    await sink.write(new Uint8Array(4));
    await expect(sink.write(new Uint8Array(1))).rejects.toMatchObject({ code: 'TOO_LARGE' });
  });
});
