/**
 * Large mail read from a Blob without holding it (ReadOptions.streaming): the windowed MIME reader, the
 * payload decrypted as a stream, plaintext and attachments as Blobs. Thresholds are set low so that a few
 * hundred KiB take every streaming path; the answers must equal those of reading the mail in memory.
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PrivateKey, PublicKey } from 'openpgp';
import { decodeAttachment, read, readAttachment, type ReadResult } from '../../../../src/core/index.ts';
import { CRLF, attachmentPart, base64Lines, bytesOf, canary, certificate, detachedSignature, encryptArmored, encryptBinary, entity, envelope, keyring, multipart, pgpMime, secretKey, text } from './mail.ts';

let alice: PrivateKey;
let bob: PrivateKey;
let alicePublic: PublicKey;
let bobPublic: PublicKey;

beforeAll(async () => {
  [alice, bob] = await Promise.all([secretKey('alice'), secretKey('bob')]);
  [alicePublic, bobPublic] = await Promise.all([certificate('alice'), certificate('bob')]);
});

const streaming = { inMemoryBelow: 64 * 1024, windowSize: 4096 };
const bobKeyring = () => keyring({ secret: [bob], public: [alicePublic, bobPublic] });
const asBlob = (mail: string) => new Blob([bytesOf(mail) as Uint8Array<ArrayBuffer>]);

/** The view with every Blob read back into bytes, to compare with a view made in memory. */
async function normalized(view: ReadResult): Promise<unknown> {
  const attachments = await Promise.all(view.attachments.map(async (attachment) => ({ ...attachment, data: attachment.data instanceof Blob ? new Uint8Array(await attachment.data.arrayBuffer()) : attachment.data })));
  return { ...view, attachments };
}

const sameBytes = async (data: Uint8Array | Blob | undefined, expected: Uint8Array) => {
  expect(data).toBeInstanceOf(Blob);
  expect(Buffer.from(await (data as Blob).arrayBuffer()).equals(Buffer.from(expected))).toBe(true);
};

describe('read: large mail from a Blob, streamed', () => {
  it('PGP/MIME with a large attachment: the attachment is a Blob with the exact bytes; the view equals the in-memory one', async () => {
    const secret = canary();
    const file = new Uint8Array(randomBytes(300 * 1024));
    const inner = entity({ 'Content-Type': 'multipart/mixed; boundary="inner"' }, multipart('inner', [text(`Body ${secret}${CRLF}`), attachmentPart('data.bin', file)]));
    const armored = await encryptArmored(inner, { to: [bobPublic], signer: alice, format: 'binary' });
    const mail = pgpMime(envelope('Alice <alice@sigill.test>', 'Large'), armored);
    const streamed = await read(asBlob(mail), { ...bobKeyring(), streaming });
    expect(streamed.errors).toEqual([]);
    expect(streamed.encryption).toBe('encrypted');
    expect(streamed.signature).toBe('signed');
    expect(streamed.parts.map((part) => part.content)).toEqual([`Body ${secret}\r\n`]);
    expect(streamed.attachments).toEqual([expect.objectContaining({ name: 'data.bin', size: file.length, encrypted: true, signed: true })]);
    await sameBytes(streamed.attachments[0]?.data, file);
    expect(await normalized(streamed)).toEqual(await normalized(await read(mail, bobKeyring())));
  });

  it("PGP/MIME with a large attachment, attachments: 'defer': the attachment is left base64 (a slice of the checked plaintext) and decodes to the exact bytes; the rest of the view is unchanged", async () => {
    const secret = canary();
    const file = new Uint8Array(randomBytes(300 * 1024));
    const inner = entity({ 'Content-Type': 'multipart/mixed; boundary="inner"' }, multipart('inner', [text(`Body ${secret}${CRLF}`), attachmentPart('data.bin', file)]));
    const armored = await encryptArmored(inner, { to: [bobPublic], signer: alice, format: 'binary' });
    const mail = pgpMime(envelope('Alice <alice@sigill.test>', 'Large'), armored);
    const decoded = await read(asBlob(mail), { ...bobKeyring(), streaming });
    const deferred = await read(asBlob(mail), { ...bobKeyring(), streaming, attachments: 'defer' });
    expect(deferred.errors).toEqual([]);
    const [attachment] = deferred.attachments;
    expect(attachment).toMatchObject({ name: 'data.bin', data: undefined, encrypted: true, signed: true, encoded: { transferEncoding: 'base64' } });
    expect(attachment?.deferred).toBeUndefined();
    // The size is estimated from the base64 text (76-character lines) until it is decoded.
    expect(Math.abs((attachment?.size ?? 0) - file.length)).toBeLessThan(file.length / 100);
    await sameBytes(await decodeAttachment(attachment!.encoded!, { streaming }), file);
    // Everything else as when the attachment is decoded at once: body, states, signers.
    const { attachments: _a, ...rest } = deferred;
    const { attachments: _b, ...expected } = decoded;
    expect(rest).toEqual(expected);
    // readAttachment decodes the one asked for.
    await sameBytes((await readAttachment(asBlob(mail), 0, { ...bobKeyring(), streaming }))?.data, file);
  });

  it('a PGP/MIME payload sent base64-encoded is decoded a chunk at a time', async () => {
    const secret = canary();
    const armored = await encryptArmored(`${text(`Body ${secret}${CRLF}`)}${'x'.repeat(200 * 1024)}`, { to: [bobPublic], signer: alice });
    const encoded = base64Lines(bytesOf(armored));
    const mail = entity(
      { ...envelope('Alice <alice@sigill.test>', 'Base64 payload'), 'Content-Type': 'multipart/encrypted; protocol="application/pgp-encrypted"; boundary="b"' },
      multipart('b', [entity({ 'Content-Type': 'application/pgp-encrypted' }, 'Version: 1'), entity({ 'Content-Type': 'application/octet-stream', 'Content-Transfer-Encoding': 'base64' }, encoded)]),
    );
    const view = await read(asBlob(mail), { ...bobKeyring(), streaming });
    expect(view.errors).toEqual([]);
    expect(view.parts[0]?.content).toContain(secret);
    expect(view.encryption).toBe('encrypted');
  });

  it('separately encrypted large attachments: listed (deferred) from the Blob, then decrypted into Blobs; a detached signature over one is checked', async () => {
    const binary = new Uint8Array(randomBytes(200 * 1024));
    const armoredFile = new Uint8Array(randomBytes(150 * 1024));
    const plainFile = new Uint8Array(randomBytes(120 * 1024));
    const signature = await detachedSignature(plainFile, alice);
    const mail = entity(
      { ...envelope('Alice <alice@sigill.test>', 'Files'), 'Content-Type': 'multipart/mixed; boundary="m"' },
      multipart('m', [
        text('See the files.'),
        attachmentPart('photo.jpg.pgp', await encryptBinary(binary, { to: [bobPublic], signer: alice })),
        attachmentPart('notes.txt.asc', bytesOf(await encryptArmored(armoredFile, { to: [bobPublic], format: 'binary' })), 'application/pgp-encrypted'),
        attachmentPart('plain.bin', plainFile),
        attachmentPart('plain.bin.sig', signature, 'application/pgp-signature'),
      ]),
    );
    const listed = await read(asBlob(mail), { ...bobKeyring(), streaming, attachments: 'defer' });
    expect(listed.errors).toEqual([]);
    expect(listed.attachments.map((attachment) => [attachment.name, attachment.deferred === true])).toEqual([
      ['photo.jpg', true],
      ['notes.txt', true],
      ['plain.bin', false],
    ]);
    // The large plain attachment is left base64 (decoded on request), and its detached signature is still checked.
    expect(listed.attachments[2]?.data).toBeUndefined();
    await sameBytes(await decodeAttachment(listed.attachments[2]!.encoded!, { streaming }), plainFile);
    expect(listed.attachments[2]?.detachedSignature).toBeDefined();
    expect(listed.signers).toEqual([expect.objectContaining({ status: 'good' })]);
    const photo = await readAttachment(asBlob(mail), 0, { ...bobKeyring(), streaming });
    expect(photo).toMatchObject({ name: 'photo.jpg', encrypted: true, size: binary.length });
    await sameBytes(photo?.data, binary);
    const notes = await readAttachment(asBlob(mail), 1, { ...bobKeyring(), streaming });
    await sameBytes(notes?.data, armoredFile);
  });

  it('a tampered large PGP/MIME message shows nothing of it, and says it was modified', async () => {
    const secret = canary();
    const inner = entity({ 'Content-Type': 'multipart/mixed; boundary="inner"' }, multipart('inner', [text(`Body ${secret}${CRLF}`), attachmentPart('data.bin', new Uint8Array(randomBytes(300 * 1024)))]));
    const binary = await encryptBinary(bytesOf(inner), { to: [bobPublic] });
    // A flipped octet deep in the encrypted data (past every window and sink threshold): CFB garbles it, the MDC fails.
    binary[binary.length - 5000] = (binary[binary.length - 5000] as number) ^ 0x01;
    const mail = entity(
      { ...envelope('Alice <alice@sigill.test>', 'Tampered'), 'Content-Type': 'multipart/encrypted; protocol="application/pgp-encrypted"; boundary="b"' },
      multipart('b', [entity({ 'Content-Type': 'application/pgp-encrypted' }, 'Version: 1'), entity({ 'Content-Type': 'application/octet-stream', 'Content-Transfer-Encoding': 'base64' }, base64Lines(binary))]),
    );
    const view = await read(asBlob(mail), { ...bobKeyring(), streaming });
    expect(view.errors.map((error) => error.code)).toEqual(['INTEGRITY_FAILURE']);
    expect(view.parts).toEqual([]);
    expect(view.attachments).toEqual([]);
    expect(JSON.stringify(view)).not.toContain(secret);
  });

  it('malformed MIME in a large decrypted entity: a clear error, nothing half-shown', async () => {
    const secret = canary();
    let nested = text(`Deep ${secret}`);
    for (let level = 0; level < 30; level++) nested = entity({ 'Content-Type': `multipart/mixed; boundary="n${level}"` }, multipart(`n${level}`, [nested]));
    const inner = entity({ 'Content-Type': 'multipart/mixed; boundary="top"' }, multipart('top', [text(`Shown? ${secret}`), attachmentPart('pad.bin', new Uint8Array(randomBytes(100 * 1024))), nested]));
    const mail = pgpMime(envelope('Alice <alice@sigill.test>', 'Deep'), await encryptArmored(inner, { to: [bobPublic], format: 'binary' }));
    const view = await read(asBlob(mail), { ...bobKeyring(), streaming });
    expect(view.errors.map((error) => error.code)).toEqual(['MALFORMED_MIME']);
    expect(view.parts).toEqual([]);
    expect(view.attachments).toEqual([]);
  });
});
