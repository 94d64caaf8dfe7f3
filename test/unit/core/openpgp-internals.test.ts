/**
 * The OpenPGP.js internals the core relies on (src/core/openpgp-internals.ts), checked directly so
 * that an OpenPGP.js update that moves one of them fails here, by name, rather than somewhere deep
 * in a decryption.
 */
import * as openpgp from 'openpgp';
import { describe, expect, it } from 'vitest';
import {
  captureDecryptedMessage,
  cleartextSignature,
  literalFormat,
  packetStream,
  pkeskKeyID,
  seipdFields,
  singleEskMessage,
  skeskCipher,
  skeskS2kDemand,
} from '../../../src/core/openpgp-internals.ts';
import { argon2Bomb, iteratedS2kBomb, wildcardPkeskBomb } from '../../support/bombs.ts';
import { privateKey } from './messages/helpers.ts';

describe('OpenPGP.js internals', () => {
  it('SKESK: S2K parameters, cipher, and a one-packet copy that decrypts alone', async () => {
    const iterated = await openpgp.readMessage({ binaryMessage: await iteratedS2kBomb({ count: 1, password: 'pw' }) });
    const skesk = iterated.packets[0] as openpgp.SymEncryptedSessionKeyPacket;
    expect(skeskS2kDemand(skesk)).toEqual({ type: 'iterated', hash: openpgp.enums.hash.sha256, keySize: 32, count: 65011712 });
    expect(skeskCipher(skesk)).toBe(openpgp.enums.symmetric.aes256);
    const [found] = await openpgp.decryptSessionKeys({ message: await singleEskMessage(skesk), passwords: ['pw'] });
    expect(found?.data.length).toBe(32);
    // The original packet is untouched by decrypting the copy.
    expect((skesk as unknown as { sessionKey: unknown }).sessionKey ?? null).toBeNull();

    const argon2 = await openpgp.readMessage({ binaryMessage: await argon2Bomb({ passes: 255, memoryExponent: 21, parallelism: 4, password: 'pw' }) });
    expect(skeskS2kDemand(argon2.packets[0] as openpgp.SymEncryptedSessionKeyPacket)).toEqual({ type: 'argon2', passes: 255, parallelism: 4, memoryExponent: 21 });
  });

  it('PKESK: the wildcard key ID', async () => {
    const dave = await privateKey('dave');
    const message = await openpgp.readMessage({ binaryMessage: await wildcardPkeskBomb({ count: 1, recipient: dave.toPublic() }) });
    expect(pkeskKeyID(message.packets[0] as openpgp.PublicKeyEncryptedSessionKeyPacket).toHex()).toBe('0000000000000000');
  });

  it('SEIPD fields, the streamed packet list, the literal format, and the captured decrypted message', async () => {
    const bob = await privateKey('bob');
    const encrypted = await openpgp.encrypt({ message: await openpgp.createMessage({ text: 'hi', format: 'utf8' }), encryptionKeys: [bob.toPublic()], format: 'binary' });
    const bytes = encrypted as Uint8Array;
    const streamed = await openpgp.readMessage({
      binaryMessage: new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes);
          controller.close();
        },
      }),
    });
    const seipd = streamed.packets.find((packet) => packet instanceof openpgp.SymEncryptedIntegrityProtectedDataPacket) as openpgp.SymEncryptedIntegrityProtectedDataPacket;
    expect(seipdFields(seipd).version).toBe(1);
    expect(seipdFields(seipd).encrypted).toBeInstanceOf(ReadableStream);
    expect(packetStream(streamed)).toBeInstanceOf(ReadableStream);

    const decrypted = captureDecryptedMessage(streamed);
    const result = await openpgp.decrypt({ message: streamed, decryptionKeys: [bob], format: 'binary' });
    const reader = (result.data as ReadableStream<Uint8Array>).getReader();
    while (!(await reader.read()).done) {
      /* read to the end, so the decryption completes */
    }
    const literal = decrypted()?.packets.findPacket(openpgp.enums.packet.literalData);
    expect(literal).toBeInstanceOf(openpgp.LiteralDataPacket);
    expect(literalFormat(literal as openpgp.LiteralDataPacket)).toBe(openpgp.enums.literal.utf8);
  });

  it('the signature of a cleartext signed message', async () => {
    const alice = await privateKey('alice');
    const signed = await openpgp.sign({ message: await openpgp.createCleartextMessage({ text: 'hello' }), signingKeys: [alice] });
    const message = await openpgp.readCleartextMessage({ cleartextMessage: signed });
    expect(cleartextSignature(message)).toBeInstanceOf(openpgp.Signature);
  });
});
