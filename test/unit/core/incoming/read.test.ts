import { beforeAll, describe, expect, it } from 'vitest';
import type { PrivateKey, PublicKey } from 'openpgp';
import { read } from '../../../../src/core/index.ts';
import { CRLF, type KeyringLog, attachmentPart, bytesOf, canary, certificate, clearsign, detachedSignature, encryptArmored, encryptBinary, entity, envelope, html, keyring, mimeSigned, multipart, nodeSanitizer, pgpMime, secretKey, text } from './mail.ts';

let alice: PrivateKey;
let bob: PrivateKey;
let alicePublic: PublicKey;
let bobPublic: PublicKey;
let carolPublic: PublicKey;

beforeAll(async () => {
  [alice, bob] = await Promise.all([secretKey('alice'), secretKey('bob')]);
  [alicePublic, bobPublic, carolPublic] = await Promise.all([certificate('alice'), certificate('bob'), certificate('carol')]);
});

const bobKeyring = () => keyring({ secret: [bob], public: [alicePublic, bobPublic, carolPublic] });

describe('read: plain mail', () => {
  it('a plain text mail is one unprotected text part, not encrypted, not signed', async () => {
    const mail = entity(envelope('Alice <alice@sigill.test>', 'Hello'), 'Just text.\r\n');
    const view = await read(mail, bobKeyring());
    expect(view.parts).toEqual([expect.objectContaining({ kind: 'text', content: 'Just text.\r\n', encrypted: false, signed: false, source: 'plain' })]);
    expect(view.unprotectedParts).toEqual([]);
    expect(view.encryption).toBe('not-encrypted');
    expect(view.signature).toBe('not-signed');
    expect(view.subject).toBe('Hello');
    expect(view.errors).toEqual([]);
  });
});

describe('read: inline PGP', () => {
  it('decrypts an inline encrypted and signed body: encrypted, signed by Alice', async () => {
    const secret = canary();
    const armored = await encryptArmored(`Hi Bob,\n${secret}\n`, { to: [bobPublic, alicePublic], signer: alice });
    const mail = entity({ ...envelope('Alice <alice@sigill.test>', 'Inline'), 'Content-Type': 'text/plain; charset=us-ascii' }, armored);
    const view = await read(mail, bobKeyring());
    expect(view.errors).toEqual([]);
    expect(view.encryption).toBe('encrypted');
    expect(view.signature).toBe('signed');
    expect(view.parts).toHaveLength(1);
    expect(view.parts[0]).toMatchObject({ kind: 'text', encrypted: true, signed: true, source: 'inline-pgp' });
    expect(view.parts[0]?.content).toContain(secret);
    expect(view.signers).toEqual([expect.objectContaining({ status: 'good', userID: 'Alice <alice@sigill.test>', fingerprint: alicePublic.getFingerprint().toUpperCase(), matchesFrom: true })]);
    expect(view.encryptedParts.root).toBe(1);
  });
});

describe('read: PGP/MIME', () => {
  it('decrypts multipart/encrypted with protected headers and an attachment, hiding the legacy display part', async () => {
    const secret = canary();
    const inner = entity(
      { 'Content-Type': 'multipart/mixed; boundary="inner"; protected-headers="v1"', Subject: `Real subject ${secret}`, From: 'Carol <carol@sigill.test>' },
      multipart('inner', [
        entity({ 'Content-Type': 'text/rfc822-headers; protected-headers="v1"', 'Content-Disposition': 'inline' }, `Subject: Real subject ${secret}${CRLF}`),
        text(`Body ${secret}${CRLF}`),
        attachmentPart('data.bin', new Uint8Array([1, 2, 3, 250])),
      ]),
    );
    const armored = await encryptArmored(inner, { to: [bobPublic], signer: alice, format: 'binary' });
    const mail = pgpMime(envelope('Alice <alice@sigill.test>', '...'), armored);
    const view = await read(mail, bobKeyring());
    expect(view.errors).toEqual([]);
    expect(view.protectedSubject).toBe(`Real subject ${secret}`);
    expect(view.subject).toBe('...');
    expect(view.parts.map((part) => part.content)).toEqual([`Body ${secret}\r\n`]);
    expect(view.parts[0]).toMatchObject({ encrypted: true, signed: true, source: 'pgp-mime' });
    expect(view.attachments).toEqual([expect.objectContaining({ name: 'data.bin', size: 4, encrypted: true, signed: true })]);
    expect(Array.from((view.attachments[0]?.data as Uint8Array | undefined) ?? [])).toEqual([1, 2, 3, 250]);
    expect(view.encryption).toBe('encrypted');
    expect(view.signature).toBe('signed');
  });
});

describe('read: multipart/signed (RFC 3156 §5)', () => {
  const signedBody = (secret: string) =>
    entity({ 'Content-Type': 'multipart/mixed; boundary="signed-inner"' }, multipart('signed-inner', [text(`Signed body ${secret}${CRLF}`), attachmentPart('notes.txt', bytesOf('notes'), 'text/plain')]));

  it('verifies the exact CRLF bytes of the signed part: signed by Alice, the signature part is not an attachment', async () => {
    const mail = await mimeSigned(envelope('Alice <alice@sigill.test>', 'Signed'), signedBody('hello'), alice);
    const view = await read(mail, bobKeyring());
    expect(view.errors).toEqual([]);
    expect(view.signature).toBe('signed');
    expect(view.encryption).toBe('not-encrypted');
    expect(view.parts).toEqual([expect.objectContaining({ content: `Signed body hello${CRLF}`, signed: true, encrypted: false })]);
    expect(view.attachments.map((attachment) => [attachment.name, attachment.signed])).toEqual([['notes.txt', true]]);
    expect(view.signers).toEqual([expect.objectContaining({ status: 'good', userID: 'Alice <alice@sigill.test>', matchesFrom: true })]);
    expect(view.signatureGroups).toEqual([{ id: 1, coversWholeMessage: true }]);
  });

  it('reads a mail stored with bare LF line endings the same (canonical CRLF, RFC 3156 §5)', async () => {
    const mail = await mimeSigned(envelope('Alice <alice@sigill.test>', 'Signed'), signedBody('lf'), alice);
    const view = await read(mail.replace(/\r\n/g, '\n'), bobKeyring());
    expect(view.signature).toBe('signed');
  });

  it('a modified signed part is a bad signature', async () => {
    const mail = await mimeSigned(envelope('Alice <alice@sigill.test>', 'Signed'), signedBody('original'), alice);
    const view = await read(mail.replace('Signed body original', 'Signed body altered!'), bobKeyring());
    expect(view.signature).toBe('bad');
    expect(view.signers).toEqual([expect.objectContaining({ status: 'bad', error: 'BAD_SIGNATURE' })]);
    expect(view.parts[0]?.signed).toBe(false);
  });

  it('an unknown signer leaves the content shown but unverified, and names the key', async () => {
    const mail = await mimeSigned(envelope('Alice <alice@sigill.test>', 'Signed'), signedBody('x'), alice);
    const view = await read(mail, keyring({ secret: [bob], public: [] }));
    expect(view.signature).toBe('unverified');
    expect(view.signers).toEqual([expect.objectContaining({ status: 'unknown-key', userID: undefined, matchesFrom: undefined })]);
    expect(view.signers[0]?.keyID).toMatch(/^[0-9A-F]{16}$/);
    expect(view.parts[0]?.signed).toBe(false);
  });
});

describe('read: cleartext signatures (RFC 9580 §7)', () => {
  it('shows the signed text, signed by Alice', async () => {
    const signed = await clearsign('Dear Bob,\n- a dashed line\nregards\n', alice);
    const view = await read(entity(envelope('Alice <alice@sigill.test>', 'Clear'), signed), bobKeyring());
    expect(view.signature).toBe('signed');
    expect(view.parts).toEqual([expect.objectContaining({ source: 'cleartext-signed', signed: true, encrypted: false })]);
    expect(view.parts[0]?.content.replace(/\r\n/g, '\n')).toBe('Dear Bob,\n- a dashed line\nregards');
  });

  it('a changed cleartext is bad', async () => {
    const signed = await clearsign('Pay 10 EUR\n', alice);
    const view = await read(entity(envelope('Alice <alice@sigill.test>', 'Clear'), signed.replace('10 EUR', '99 EUR')), bobKeyring());
    expect(view.signature).toBe('bad');
  });
});

describe('read: errors a person understands', () => {
  it('no secret key: names the key IDs the message was for, shows nothing of it', async () => {
    const armored = await encryptArmored(`for carol ${canary()}`, { to: [carolPublic] });
    const view = await read(entity(envelope('Alice <alice@sigill.test>', 'x'), armored), bobKeyring());
    const carolEncryptionKeyID = (await carolPublic.getEncryptionKey()).getKeyID().toHex().toUpperCase();
    expect(view.errors).toEqual([expect.objectContaining({ code: 'NOT_ENCRYPTED_FOR_US', keyIDs: [carolEncryptionKeyID], retryable: false, where: 'body' })]);
    expect(view.errors[0]?.message).toContain(carolEncryptionKeyID);
    expect(view.parts).toEqual([]);
    expect(view.encryption).toBe('encrypted');
  });

  it.each([['KEY_LOCKED'], ['BAD_PASSPHRASE'], ['CANCELLED']] as const)('a keyring that answers %s gives a retryable error', async (code) => {
    const { SigillError } = await import('../../../../src/core/index.ts');
    const armored = await encryptArmored(`x ${canary()}`, { to: [bobPublic] });
    const view = await read(entity(envelope('Alice <alice@sigill.test>', 'x'), armored), {
      decryptionKeys: async () => {
        throw new SigillError(code);
      },
    });
    expect(view.errors).toEqual([expect.objectContaining({ code, retryable: true })]);
    expect(view.parts).toEqual([]);
  });

  it('an integrity failure shows nothing of the message', async () => {
    const { armor, readAll } = await import('../../../../src/core/index.ts');
    const secret = canary();
    const binary = await encryptBinary(bytesOf(`${secret} `.repeat(50)), { to: [bobPublic] });
    binary[binary.length - 30] = (binary[binary.length - 30] as number) ^ 0x01;
    const armored = new TextDecoder().decode(await readAll(armor(binary, 'message')));
    const view = await read(entity(envelope('Alice <alice@sigill.test>', 'x'), armored), bobKeyring());
    expect(view.errors.map((error) => error.code)).toEqual(['INTEGRITY_FAILURE']);
    expect(view.errors[0]?.message).toContain('Nothing of it is shown');
    expect(JSON.stringify(view)).not.toContain(secret);
  });

  it('a message for a password only says so', async () => {
    const { encrypt, readAll } = await import('../../../../src/core/index.ts');
    const armored = new TextDecoder().decode(await readAll(await encrypt({ input: 'x', recipients: [], passwords: ['pw'] })));
    const view = await read(entity(envelope('Alice <alice@sigill.test>', 'x'), armored), bobKeyring());
    expect(view.errors).toEqual([expect.objectContaining({ code: 'NOT_ENCRYPTED_FOR_US' })]);
    expect(view.errors[0]?.message).toContain('password');
  });
});

describe('read: attachments', () => {
  it('decrypts a binary .pgp and an armored name.ext.asc attachment next to an encrypted body', async () => {
    const secret = canary();
    const body = await encryptArmored(`body ${secret}`, { to: [bobPublic], signer: alice });
    const file = new Uint8Array(70_000).map((_, index) => (index * 7) & 0xff);
    const pgp = await encryptBinary(file, { to: [bobPublic], signer: alice, filename: 'photo.png' });
    const asc = await encryptArmored(bytesOf(`report ${secret}`), { to: [bobPublic], signer: alice, format: 'binary', filename: 'report.txt' });
    const mail = entity(
      { ...envelope('Alice <alice@sigill.test>', 'Files'), 'Content-Type': 'multipart/mixed; boundary="m"' },
      multipart('m', [text(body), attachmentPart('photo.png.pgp', pgp), entity({ 'Content-Type': 'text/plain; name="report.txt.asc"', 'Content-Disposition': 'attachment; filename="report.txt.asc"' }, asc)]),
    );
    const view = await read(mail, bobKeyring());
    expect(view.errors).toEqual([]);
    expect(view.encryption).toBe('encrypted');
    expect(view.signature).toBe('signed');
    expect(view.attachments.map((attachment) => [attachment.name, attachment.contentType, attachment.size, attachment.encrypted, attachment.signed])).toEqual([
      ['photo.png', 'image/png', 70_000, true, true],
      ['report.txt', 'text/plain', `report ${secret}`.length, true, true],
    ]);
    expect(Buffer.compare(Buffer.from((view.attachments[0]?.data as Uint8Array | undefined) ?? []), Buffer.from(file))).toBe(0);
  });

  it('a plain attachment next to an encrypted body makes the mail partially encrypted', async () => {
    const body = await encryptArmored(`body ${canary()}`, { to: [bobPublic] });
    const mail = entity(
      { ...envelope('Alice <alice@sigill.test>', 'Files'), 'Content-Type': 'multipart/mixed; boundary="m"' },
      multipart('m', [text(body), attachmentPart('invoice.pdf', bytesOf('%PDF-1.4'))]),
    );
    const view = await read(mail, bobKeyring());
    expect(view.encryption).toBe('partially-encrypted');
    expect(view.attachments).toEqual([expect.objectContaining({ name: 'invoice.pdf', encrypted: false })]);
  });

  it('verifies a detached .sig against its attachment; a changed file is bad', async () => {
    const file = bytesOf('contract v1');
    const signature = await detachedSignature(file, alice, { armor: false });
    const build = (content: Uint8Array) =>
      entity(
        { ...envelope('Alice <alice@sigill.test>', 'Signed file'), 'Content-Type': 'multipart/mixed; boundary="m"' },
        multipart('m', [text('see attached'), attachmentPart('contract.txt', content), attachmentPart('contract.txt.sig', signature, 'application/pgp-signature')]),
      );
    const good = await read(build(file), bobKeyring());
    expect(good.attachments).toEqual([expect.objectContaining({ name: 'contract.txt', signed: true })]);
    expect(good.attachments[0]?.detachedSignature).toBe(1);
    expect(good.signature).toBe('partially-signed');
    const bad = await read(build(bytesOf('contract v2')), bobKeyring());
    expect(bad.attachments[0]?.signed).toBe(false);
    expect(bad.signature).toBe('bad');
  });

  it('offers an attached public key without importing it', async () => {
    const { readFileSync } = await import('node:fs');
    const { fixturePath } = await import('../../../../keys-fixtures/index.ts');
    const armoredKey = readFileSync(fixturePath('carol', 'pub'), 'utf8');
    const mail = entity(
      { ...envelope('Carol <carol@sigill.test>', 'My key'), 'Content-Type': 'multipart/mixed; boundary="m"' },
      multipart('m', [text('my key'), entity({ 'Content-Type': 'application/pgp-keys; name="OpenPGP_0xBF21F4C99E74A3EB.asc"', 'Content-Disposition': 'attachment; filename="OpenPGP_0xBF21F4C99E74A3EB.asc"' }, armoredKey)]),
    );
    const view = await read(mail, bobKeyring());
    expect(view.attachments).toEqual([]);
    expect(view.offeredKeys).toEqual([expect.objectContaining({ fingerprint: carolPublic.getFingerprint().toUpperCase(), userIDs: ['Carol <carol@sigill.test>'], encrypted: false })]);
  });
});

describe('read: signer status', () => {
  it('a good signature by a key that has been revoked since is reported as revoked-key', async () => {
    const { applyRevocationCertificate } = await import('../../../../src/core/index.ts');
    const { readFileSync } = await import('node:fs');
    const { fixturePath } = await import('../../../../keys-fixtures/index.ts');
    const revokedAlice = await applyRevocationCertificate(alicePublic, readFileSync(fixturePath('alice', 'rev'), 'utf8'));
    const signed = await clearsign('hello\n', alice);
    const view = await read(entity(envelope('Alice <alice@sigill.test>', 'x'), signed), keyring({ public: [revokedAlice] }));
    expect(view.signers).toEqual([expect.objectContaining({ status: 'revoked-key' })]);
    expect(view.signature).not.toBe('signed');
  });

  it('a signature by a key that has expired since is reported as expired-key', async () => {
    const expired = await secretKey('expired');
    const signed = await clearsign('old news\n', expired, new Date('2024-06-01T00:00:00Z'));
    const view = await read(entity(envelope('Expired <expired@sigill.test>', 'x'), signed), keyring({ public: [await certificate('expired')] }));
    expect(view.signers).toEqual([expect.objectContaining({ status: 'expired-key', userID: 'Expired <expired@sigill.test>' })]);
    expect(view.signature).toBe('unverified');
  });
});

describe('read: HTML', () => {
  it('sanitizes an HTML part with the injected policy; without one the HTML is given as text', async () => {
    const mail = entity(
      { ...envelope('Alice <alice@sigill.test>', 'HTML'), 'Content-Type': 'multipart/alternative; boundary="alt"' },
      multipart('alt', [text('plain version'), html('<p>rich <img src="http://127.0.0.1:9/x.png"> version</p>')]),
    );
    const sanitized = await read(mail, { ...bobKeyring(), sanitizeHtml: nodeSanitizer() });
    expect(sanitized.parts).toEqual([expect.objectContaining({ kind: 'html', content: '<p>rich <img> version</p>' })]);
    const without = await read(mail, bobKeyring());
    expect(without.parts).toEqual([expect.objectContaining({ kind: 'text', content: 'plain version' })]);
  });

  it('finds an inline PGP block in an HTML part and shows its plaintext as text, alone', async () => {
    const secret = canary();
    const armored = await encryptArmored(`html inline ${secret}`, { to: [bobPublic], signer: alice });
    const htmlBody = `<html><body><p>${armored.trim().split('\n').join('<br>\n')}</p></body></html>`;
    const view = await read(entity({ ...envelope('Alice <alice@sigill.test>', 'x'), 'Content-Type': 'text/html; charset=utf-8' }, htmlBody), { ...bobKeyring(), sanitizeHtml: nodeSanitizer() });
    expect(view.errors).toEqual([]);
    expect(view.parts).toEqual([expect.objectContaining({ kind: 'text', content: `html inline ${secret}`, encrypted: true, signed: true })]);
    expect(view.encryption).toBe('encrypted');
  });
});

describe('read: refused and locked', () => {
  it('a SEIPD body relabelled as SED (no integrity protection) is refused and nothing is shown', async () => {
    const openpgp = await import('openpgp');
    const { armor, readAll } = await import('../../../../src/core/index.ts');
    const secret = canary();
    const message = await openpgp.readMessage({ binaryMessage: await encryptBinary(bytesOf(secret), { to: [bobPublic] }) });
    const seipd = message.packets.findPacket(openpgp.enums.packet.symEncryptedIntegrityProtectedData) as unknown as { encrypted: unknown };
    const chunks = seipd.encrypted as Uint8Array | (Uint8Array[] & { readToEnd?: (join: (parts: Uint8Array[]) => Uint8Array) => Promise<Uint8Array> });
    const body = chunks instanceof Uint8Array ? chunks : await (chunks.readToEnd?.((parts) => Buffer.concat(parts)) ?? Buffer.concat(chunks));
    const sed = new openpgp.SymmetricallyEncryptedDataPacket();
    (sed as unknown as { encrypted: Uint8Array }).encrypted = body;
    const list = new openpgp.PacketList<InstanceType<typeof openpgp.SymmetricallyEncryptedDataPacket> | InstanceType<typeof openpgp.PublicKeyEncryptedSessionKeyPacket>>();
    for (const packet of message.packets) if (packet instanceof openpgp.PublicKeyEncryptedSessionKeyPacket) list.push(packet);
    list.push(sed);
    const armored = new TextDecoder().decode(await readAll(armor(list.write() as Uint8Array, 'message')));
    const view = await read(entity(envelope('Mallory <mallory@sigill.test>', 'x'), armored), bobKeyring());
    expect(view.errors.map((error) => error.code)).toEqual(['NO_INTEGRITY_PROTECTION']);
    expect(view.errors[0]?.message).toContain('Nothing of it is shown');
    expect(JSON.stringify(view)).not.toContain(secret);
  });

  it('a keyring that hands back a still locked key gives a retryable KEY_LOCKED', async () => {
    const { loadSecretKey } = await import('../../../../keys-fixtures/index.ts');
    const locked = await loadSecretKey('bob');
    const armored = await encryptArmored(`x ${canary()}`, { to: [bobPublic] });
    const view = await read(entity(envelope('Alice <alice@sigill.test>', 'x'), armored), keyring({ secret: [locked] }));
    expect(view.errors).toEqual([expect.objectContaining({ code: 'KEY_LOCKED', retryable: true })]);
  });

  it('asks the keyring for the key IDs the message names, and for the sender first', async () => {
    const log: KeyringLog = { decryptionRequests: [], verificationRequests: [] };
    const armored = await encryptArmored('x', { to: [bobPublic], signer: alice });
    const view = await read(entity(envelope('Alice <alice@sigill.test>', 'x'), armored), keyring({ secret: [bob], public: [alicePublic] }, log));
    expect(view.signature).toBe('signed');
    const bobEncryptionKeyID = (await bobPublic.getEncryptionKey()).getKeyID().toHex().toUpperCase();
    expect(log.decryptionRequests).toEqual([[bobEncryptionKeyID]]);
    // The sender's certificate checks the signature: one request, one decryption pass.
    expect(log.verificationRequests).toEqual([{ keyIDs: [], fingerprints: [], addresses: ['alice@sigill.test'] }]);
  });

  it('a signer other than the sender is asked for by the key ID its signature names', async () => {
    const log: KeyringLog = { decryptionRequests: [], verificationRequests: [] };
    const carol = await secretKey('carol');
    const armored = await encryptArmored('x', { to: [bobPublic], signer: carol });
    const view = await read(entity(envelope('Alice <alice@sigill.test>', 'x'), armored), keyring({ secret: [bob], public: [alicePublic, carolPublic] }, log));
    const carolSigningKeyID = (await carolPublic.getSigningKey()).getKeyID().toHex().toUpperCase();
    expect(log.verificationRequests).toEqual([
      { keyIDs: [], fingerprints: [], addresses: ['alice@sigill.test'] },
      expect.objectContaining({ keyIDs: [carolSigningKeyID], addresses: [] }),
    ]);
    expect(view.signers).toEqual([expect.objectContaining({ status: 'good', userID: 'Carol <carol@sigill.test>', matchesFrom: false })]);
  });
});

describe('read: PGP/MIME around bare text', () => {
  it('a multipart/encrypted whose plaintext is not a MIME entity is shown as text', async () => {
    const secret = canary();
    const armored = await encryptArmored(`Dear Bob: ${secret}`, { to: [bobPublic] });
    const view = await read(pgpMime(envelope('Alice <alice@sigill.test>', 'x'), armored), bobKeyring());
    expect(view.parts).toEqual([expect.objectContaining({ kind: 'text', content: `Dear Bob: ${secret}`, encrypted: true })]);
    expect(view.encryption).toBe('encrypted');
  });
});

describe('read: unsupported algorithm', () => {
  it('an AEAD Encrypted Data packet (tag 20, never standardised) gives UNSUPPORTED_ALGORITHM and shows nothing', async () => {
    const openpgp = await import('openpgp');
    const { armor, readAll } = await import('../../../../src/core/index.ts');
    const message = await openpgp.readMessage({ binaryMessage: await encryptBinary(bytesOf('x'), { to: [bobPublic] }) });
    const esks = new openpgp.PacketList<InstanceType<typeof openpgp.PublicKeyEncryptedSessionKeyPacket>>();
    for (const packet of message.packets) if (packet instanceof openpgp.PublicKeyEncryptedSessionKeyPacket) esks.push(packet);
    // Tag 20, version 1, AES-256, EAX, chunk size octet 6, a 16-byte IV, then 40 bytes standing for data and tag.
    const body = [1, 9, 1, 6, ...new Array<number>(16).fill(7), ...new Array<number>(40).fill(9)];
    const bytes = new Uint8Array([...(esks.write() as Uint8Array), 0xc0 | 20, body.length, ...body]);
    const armored = new TextDecoder().decode(await readAll(armor(bytes, 'message')));
    const view = await read(entity(envelope('Alice <alice@sigill.test>', 'x'), armored), bobKeyring());
    expect(view.errors.map((error) => error.code)).toEqual(['UNSUPPORTED_ALGORITHM']);
    expect(view.errors[0]?.message).toMatch(/algorithm Sigill does not support/);
    expect(view.parts).toEqual([]);
  });
});

describe('read: detached signatures of encrypted attachments', () => {
  it('name.pgp.sig signs the encrypted file as sent; name.sig signs the plaintext of name.pgp', async () => {
    const file = bytesOf(`plaintext ${canary()}`);
    const pgp = await encryptBinary(file, { to: [bobPublic] });
    const overCiphertext = await detachedSignature(pgp, alice, { armor: false });
    const overPlaintext = await detachedSignature(file, alice, { armor: false });
    const build = (signatureName: string, signature: Uint8Array) =>
      entity(
        { ...envelope('Alice <alice@sigill.test>', 'x'), 'Content-Type': 'multipart/mixed; boundary="m"' },
        multipart('m', [attachmentPart('doc.txt.pgp', pgp), attachmentPart(signatureName, signature, 'application/pgp-signature')]),
      );
    for (const [name, signature] of [['doc.txt.pgp.sig', overCiphertext], ['doc.txt.sig', overPlaintext]] as const) {
      const view = await read(build(name, signature), bobKeyring());
      expect(view.attachments).toEqual([expect.objectContaining({ name: 'doc.txt', encrypted: true, signed: true })]);
      expect(view.signature).toBe('signed');
    }
  });

  it('the same key offered twice is listed once', async () => {
    const { readFileSync } = await import('node:fs');
    const { fixturePath } = await import('../../../../keys-fixtures/index.ts');
    const key = readFileSync(fixturePath('carol', 'pub'), 'utf8');
    const mail = entity(
      { ...envelope('Carol <carol@sigill.test>', 'x'), 'Content-Type': 'multipart/mixed; boundary="m"' },
      multipart('m', [text(`my key:\r\n${key}`), entity({ 'Content-Type': 'application/pgp-keys; name="carol.asc"', 'Content-Disposition': 'attachment; filename="carol.asc"' }, key)]),
    );
    const view = await read(mail, bobKeyring());
    expect(view.offeredKeys.map((offered) => [offered.fingerprint, offered.from])).toEqual([[carolPublic.getFingerprint().toUpperCase(), 'body']]);
  });
});

describe('read: deferred attachments', () => {
  it("attachments: 'defer' lists encrypted attachments without decrypting them; readAttachment decrypts one", async () => {
    const { readAttachment } = await import('../../../../src/core/index.ts');
    const body = await encryptArmored('body', { to: [bobPublic], signer: alice });
    const first = new Uint8Array(300_000).map((_, index) => index & 0xff);
    const second = bytesOf(`second ${canary()}`);
    const mail = entity(
      { ...envelope('Alice <alice@sigill.test>', 'Files'), 'Content-Type': 'multipart/mixed; boundary="m"' },
      multipart('m', [
        text(body),
        attachmentPart('big.bin.pgp', await encryptBinary(first, { to: [bobPublic], signer: alice })),
        attachmentPart('small.txt.pgp', await encryptBinary(second, { to: [bobPublic], signer: alice })),
      ]),
    );
    const log: KeyringLog = { decryptionRequests: [], verificationRequests: [] };
    const deferred = await read(mail, { ...keyring({ secret: [bob], public: [alicePublic] }, log), attachments: 'defer' });
    expect(log.decryptionRequests).toHaveLength(1); // the body only
    expect(deferred.attachments.map((attachment) => [attachment.name, attachment.deferred, attachment.data])).toEqual([
      ['big.bin', true, undefined],
      ['small.txt', true, undefined],
    ]);
    expect(deferred.encryption).toBe('encrypted');
    expect(deferred.signature).toBe('signed');
    const opened = await readAttachment(mail, 1, bobKeyring());
    expect(opened).toMatchObject({ name: 'small.txt', encrypted: true, signed: true });
    expect(opened?.deferred).toBeUndefined();
    expect(new TextDecoder().decode(opened?.data as Uint8Array | undefined)).toBe(new TextDecoder().decode(second));
    expect(await readAttachment(mail, 7, bobKeyring())).toBeUndefined();
  });
});

describe('read: v6 keys (RFC 9580)', () => {
  it('a mail from Erin (v6 Ed25519, SEIPDv2) decrypts and verifies; v6 key IDs are the fingerprint\'s first 16 digits', async () => {
    const erin = await secretKey('erin');
    const erinPublic = await certificate('erin');
    const secret = canary();
    const armored = await encryptArmored(`from erin ${secret}`, { to: [erinPublic], signer: erin });
    const log: KeyringLog = { decryptionRequests: [], verificationRequests: [] };
    // Erin reads her own mail (the Sent copy); the keyring knows her only by key ID, not by address.
    const view = await read(entity(envelope('Someone <someone@sigill.test>', 'v6'), armored), keyring({ secret: [erin], public: [erinPublic] }, log));
    expect(view.errors).toEqual([]);
    expect(view.parts[0]?.content).toBe(`from erin ${secret}`);
    expect(view.signers).toEqual([expect.objectContaining({ status: 'good', userID: 'Erin <erin@sigill.test>', fingerprint: erinPublic.getFingerprint().toUpperCase() })]);
    const signingKey = await erinPublic.getSigningKey();
    expect(log.verificationRequests[1]?.keyIDs).toEqual([signingKey.getFingerprint().slice(0, 16).toUpperCase()]);
    expect(view.signers[0]?.keyID).toBe(signingKey.getFingerprint().slice(0, 16).toUpperCase());
  });
});

describe('read: transfer encodings around inline blocks', () => {
  it('an armored body sent quoted-printable or base64 decrypts the same', async () => {
    const secret = canary();
    const armored = await encryptArmored(`qp ${secret}`, { to: [bobPublic] });
    const qp = armored.replace(/=/g, '=3D').replace(/\n/g, '\r\n');
    const b64 = (Buffer.from(armored).toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
    for (const [encoding, body] of [['quoted-printable', qp], ['base64', b64]]) {
      const view = await read(entity({ ...envelope('Alice <alice@sigill.test>', 'x'), 'Content-Type': 'text/plain; charset=utf-8', 'Content-Transfer-Encoding': encoding as string }, body as string), bobKeyring());
      expect(view.errors).toEqual([]);
      expect(view.parts).toEqual([expect.objectContaining({ content: `qp ${secret}`, encrypted: true })]);
    }
  });

  it('multipart/alternative with the armor only in a base64 text/plain alternative: that alternative is shown', async () => {
    const secret = canary();
    const armored = await encryptArmored(secret, { to: [bobPublic] });
    const b64 = (Buffer.from(armored).toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
    const mail = entity(
      { ...envelope('Alice <alice@sigill.test>', 'x'), 'Content-Type': 'multipart/alternative; boundary="alt"' },
      multipart('alt', [entity({ 'Content-Type': 'text/plain; charset=utf-8', 'Content-Transfer-Encoding': 'base64' }, b64), html('<p>encrypted message</p>')]),
    );
    for (const options of [bobKeyring(), { ...bobKeyring(), sanitizeHtml: nodeSanitizer() }]) {
      const view = await read(mail, options);
      expect(view.parts).toEqual([expect.objectContaining({ content: secret, encrypted: true })]);
    }
  });
});
