/**
 * SEIPDv1 written by the core with a platform's CFB and SHA-1 (src/core/messages/seipd-v1-write.ts),
 * read back by OpenPGP.js's own non-streaming decryption (an independent reader) and by the core,
 * at sizes around the partial-body chunk boundaries (1 MiB).
 */
import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { decrypt, encrypt, encryptWithSessionKey, memorySink, type CfbEncryptorFactory } from '../../../../src/core/index.ts';
import { nodeCfb, nodeCfbEncryptor } from '../../../../src/platform/node/index.ts';
import { bytes, generatedStream, privateKey, randomBytes, sameBytes, text } from './helpers.ts';

const MiB = 1 << 20;
let bob: openpgp.PrivateKey;
let alice: openpgp.PrivateKey;

beforeAll(async () => {
  [alice, bob] = await Promise.all([privateKey('alice'), privateKey('bob')]);
});

/** The packets of a binary message, as OpenPGP.js parses them. */
async function packets(message: Uint8Array): Promise<openpgp.PacketList<openpgp.AnyPacket>> {
  return (await openpgp.readMessage({ binaryMessage: message })).packets;
}

/** OpenPGP.js's own decryption of the whole message in memory (it checks the MDC before returning). */
async function openpgpDecrypt(message: Uint8Array, key: openpgp.PrivateKey): Promise<{ data: Uint8Array; filename: string }> {
  const result = await openpgp.decrypt({ message: await openpgp.readMessage({ binaryMessage: message }), decryptionKeys: key, format: 'binary' });
  return { data: result.data, filename: result.filename };
}

/** nodeCfbEncryptor, counting the ciphers it starts (so a test knows this path wrote the message). */
let started = 0;
const counting: CfbEncryptorFactory = {
  encipher(options) {
    started += 1;
    return nodeCfbEncryptor.encipher(options);
  },
  sha1: nodeCfbEncryptor.sha1,
};

describe('SEIPDv1 written with the platform CFB', () => {
  // The literal body is 6 octets of fields plus the data: MiB - 6 fills exactly one partial chunk.
  for (const size of [0, 1, 511, MiB - 6, MiB - 5, 2 * MiB + 123]) {
    it(`${size} octets: OpenPGP.js and the core read it back, in any input chunking`, async () => {
      const data = randomBytes(size, size + 1);
      for (const chunk of [1 << 16, 1000]) {
        const input = new ReadableStream<Uint8Array>({
          start(controller) {
            for (let at = 0; at < size; at += chunk) controller.enqueue(data.slice(at, at + chunk));
            controller.close();
          },
        });
        const before = started;
        const message = await bytes(await encrypt({ input, recipients: [bob.toPublic()], armor: false, cfb: counting, filename: 'f.bin', date: new Date('2026-01-02T03:04:05Z') }));
        expect(started).toBe(before + 1);
        const list = await packets(message);
        expect(list.map((packet) => (packet.constructor as unknown as { tag: number }).tag)).toEqual([openpgp.enums.packet.publicKeyEncryptedSessionKey, openpgp.enums.packet.symEncryptedIntegrityProtectedData]);
        expect((list[1] as unknown as { version: number }).version).toBe(1);
        const independent = await openpgpDecrypt(message, bob);
        expect(sameBytes(independent.data, data)).toBe(true);
        expect(independent.filename).toBe('f.bin');
        const sink = memorySink();
        const result = await decrypt({ input: message, sink, decryptionKeys: [bob], cfb: nodeCfb });
        expect(sameBytes(sink.bytes(), data)).toBe(true);
        expect(result).toMatchObject({ format: 'binary', filename: 'f.bin' });
      }
    });
  }

  it('streams: a 40 MiB input comes out in pieces no larger than the input chunks, correct end to end', async () => {
    const encrypted = await encrypt({ input: generatedStream(40 * MiB, 1 << 19), recipients: [bob.toPublic()], armor: false, cfb: nodeCfbEncryptor });
    let largest = 0;
    const measured = encrypted.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          largest = Math.max(largest, chunk.length);
          controller.enqueue(chunk);
        },
      }),
    );
    const sink = memorySink({ limit: 41 * MiB });
    await decrypt({ input: measured, sink, decryptionKeys: [bob], cfb: nodeCfb });
    expect(sink.bytes().length).toBe(40 * MiB);
    expect(sameBytes(sink.bytes(), await bytes(generatedStream(40 * MiB, 1 << 19)))).toBe(true);
    expect(largest).toBeLessThanOrEqual(1 << 19);
  });

  it('armored, with a password next to the recipient; the session key reported is the one used', async () => {
    const { data, sessionKey } = await encryptWithSessionKey({ input: 'hej', recipients: [bob.toPublic()], passwords: ['secret-canary-7f3a'], cfb: nodeCfbEncryptor });
    const armored = await text(data);
    expect(armored.startsWith('-----BEGIN PGP MESSAGE-----\n')).toBe(true);
    // The CRC-24 footer, as OpenPGP.js writes it for SEIPDv1 (RFC 9580 §6.1).
    expect(armored).toMatch(/\n=[A-Za-z0-9+/]{4}\n-----END PGP MESSAGE-----\n$/);
    for (const material of [{ decryptionKeys: [bob] }, { passwords: ['secret-canary-7f3a'] }, { sessionKeys: [sessionKey] }]) {
      const sink = memorySink();
      await decrypt({ input: armored, sink, ...material });
      expect(sink.text()).toBe('hej');
    }
  });

  it('armored, past the first partial chunk (split there at an odd offset; the armor checksum needs aligned views)', async () => {
    const data = randomBytes(2 * MiB + 1, 9);
    const input = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < data.length; at += 99_999) controller.enqueue(data.slice(at, at + 99_999));
        controller.close();
      },
    });
    const armored = await text(await encrypt({ input, recipients: [bob.toPublic()], cfb: counting }));
    expect(armored).toMatch(/\n=[A-Za-z0-9+/]{4}\n-----END PGP MESSAGE-----\n$/);
    const result = await openpgp.decrypt({ message: await openpgp.readMessage({ armoredMessage: armored }), decryptionKeys: bob, format: 'binary' });
    expect(sameBytes(result.data, data)).toBe(true);
  });

  it('a flipped ciphertext octet fails the MDC', async () => {
    const message = await bytes(await encrypt({ input: randomBytes(5000), recipients: [bob.toPublic()], armor: false, cfb: nodeCfbEncryptor }));
    message[message.length - 2000]! ^= 0x01;
    const sink = memorySink();
    await expect(decrypt({ input: message, sink, decryptionKeys: [bob], cfb: nodeCfb })).rejects.toMatchObject({ code: 'INTEGRITY_FAILURE' });
    expect(sink.state).toBe('aborted');
    await expect(openpgpDecrypt(message, bob)).rejects.toThrow();
  });

  it('leaves signed, text and SEIPDv2 messages, and ciphers the platform does not offer, to OpenPGP.js', async () => {
    const signed = await bytes(await encrypt({ input: 'x', recipients: [bob.toPublic()], signingKeys: [alice], armor: false, cfb: nodeCfbEncryptor }));
    const sink = memorySink();
    const result = await decrypt({ input: signed, sink, decryptionKeys: [bob], verificationKeys: [alice.toPublic()] });
    expect(result.verifications[0]?.status).toBe('good');
    const erin = await privateKey('erin');
    const v2 = await bytes(await encrypt({ input: 'z', recipients: [erin.toPublic()], armor: false, cfb: nodeCfbEncryptor }));
    expect(((await packets(v2)).findPacket(openpgp.enums.packet.symEncryptedIntegrityProtectedData) as unknown as { version: number }).version).toBe(2);
    const text = await encrypt({ input: 'a\nb', recipients: [bob.toPublic()], armor: false, format: 'text', cfb: nodeCfbEncryptor });
    const textSink = memorySink();
    expect(await decrypt({ input: text, sink: textSink, decryptionKeys: [bob] })).toMatchObject({ format: 'utf8' });
    expect(textSink.text()).toBe('a\r\nb');
    const offersNothing: CfbEncryptorFactory = { encipher: () => undefined, sha1: nodeCfbEncryptor.sha1 };
    const fallback = await bytes(await encrypt({ input: 'y', recipients: [bob.toPublic()], armor: false, cfb: offersNothing }));
    expect(new TextDecoder().decode((await openpgpDecrypt(fallback, bob)).data)).toBe('y');
  });
});
