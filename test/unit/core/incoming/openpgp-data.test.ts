import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { inspectMessage } from '../../../../src/core/incoming/openpgp-data.ts';
import { bytesOf, certificate, encryptArmored, encryptBinary } from './mail.ts';

describe('inspectMessage', () => {
  it('tells the shape from the head alone: the encrypted body is neither decoded nor needed', async () => {
    const bob = await certificate('bob');
    const binary = await encryptBinary(new Uint8Array(randomBytes(256 * 1024)), { to: [bob] });
    const shape = await inspectMessage(binary);
    expect(shape).toEqual({ encrypted: true, keyIDs: [bob.getKeyIDs()[1]?.toHex().toUpperCase()], passwordOnly: false });
    // Cut off inside the encrypted data: reading the whole message would fail, the head is all there is to read.
    await expect(inspectMessage(binary.subarray(0, 4096))).resolves.toEqual(shape);
  });

  it('reads armored text given as bytes or as a string alike', async () => {
    const bob = await certificate('bob');
    const armored = await encryptArmored('hello', { to: [bob] });
    const fromText = await inspectMessage(armored);
    expect(fromText.encrypted).toBe(true);
    await expect(inspectMessage(bytesOf(armored))).resolves.toEqual(fromText);
  });

  it('maps what is not OpenPGP to MALFORMED_ARMOR (text) and MALFORMED_MESSAGE (bytes)', async () => {
    await expect(inspectMessage('-----BEGIN PGP MESSAGE-----\n\n!!!\n-----END PGP MESSAGE-----\n')).rejects.toMatchObject({ code: 'MALFORMED_ARMOR' });
    await expect(inspectMessage(bytesOf('just some text'))).rejects.toMatchObject({ code: 'MALFORMED_MESSAGE' });
  });
});
