/**
 * PARTIAL — an encrypted or signed part that is not the whole mail. Must hold: the mail is called
 * "partially encrypted/signed", never encrypted/signed; every part says what it is; unprotected content
 * is kept apart from decrypted content.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { PrivateKey, PublicKey } from 'openpgp';
import { read } from '../../src/core/index.ts';
import { CRLF, attachmentPart, bytesOf, canary, certificate, clearsign, encryptArmored, entity, envelope, keyring, mimeSigned, multipart, nodeSanitizer, pgpMime, secretKey, text } from '../unit/core/incoming/mail.ts';

let alice: PrivateKey;
let bob: PrivateKey;
let alicePublic: PublicKey;
let bobPublic: PublicKey;
beforeAll(async () => {
  [alice, bob, alicePublic, bobPublic] = await Promise.all([secretKey('alice'), secretKey('bob'), certificate('alice'), certificate('bob')]);
});
const options = () => ({ ...keyring({ secret: [bob], public: [alicePublic] }), sanitizeHtml: nodeSanitizer() });
const mixed = (from: string, parts: string[]) => entity({ ...envelope(from, 'x'), 'Content-Type': 'multipart/mixed; boundary="p"' }, multipart('p', parts));

describe('PARTIAL: encryption', () => {
  it('unencrypted text before and after an inline block: partially encrypted, the text kept apart and labelled', async () => {
    const secret = canary();
    const armored = await encryptArmored(secret, { to: [bobPublic] });
    const view = await read(entity(envelope('Alice <alice@sigill.test>', 'x'), `Added by someone:\r\n${armored}\r\nAnd more.\r\n`), options());
    expect(view.encryption).toBe('partially-encrypted');
    expect(view.parts).toEqual([expect.objectContaining({ content: secret, encrypted: true })]);
    expect(view.unprotectedParts.map((part) => [part.content.trim(), part.encrypted])).toEqual([
      ['Added by someone:', false],
      ['And more.', false],
    ]);
  });

  it('blank lines around a block are not content: encrypted', async () => {
    const armored = await encryptArmored(canary(), { to: [bobPublic] });
    const view = await read(entity(envelope('Alice <alice@sigill.test>', 'x'), `\r\n\r\n${armored}\r\n \r\n`), options());
    expect(view.encryption).toBe('encrypted');
    expect(view.unprotectedParts).toEqual([]);
  });

  it('a PGP/MIME part next to a plain part at the root: partially encrypted, protected headers ignored', async () => {
    const secret = canary();
    const inner = entity({ 'Content-Type': 'text/plain; protected-headers="v1"', Subject: `Inner ${secret}` }, `inner ${secret}`);
    const armored = await encryptArmored(inner, { to: [bobPublic], format: 'binary' });
    const encryptedPart = pgpMime({}, armored);
    const view = await read(mixed('Alice <alice@sigill.test>', [text('plain intro'), encryptedPart]), options());
    expect(view.encryption).toBe('partially-encrypted');
    expect(view.protectedSubject).toBeUndefined();
    expect(view.warnings.map((warning) => warning.code)).toContain('PROTECTED_SUBJECT_IGNORED');
    expect(view.parts.map((part) => part.content)).toEqual([`inner ${secret}`]);
    expect(view.unprotectedParts.map((part) => part.content)).toEqual(['plain intro']);
  });

  it('an encrypted attachment on a plain mail: partially encrypted, the body marked unprotected', async () => {
    const asc = await encryptArmored(bytesOf('file'), { to: [bobPublic], format: 'binary' });
    const view = await read(mixed('Alice <alice@sigill.test>', [text('see file'), entity({ 'Content-Type': 'application/octet-stream; name="f.txt.asc"', 'Content-Disposition': 'attachment; filename="f.txt.asc"' }, asc)]), options());
    expect(view.encryption).toBe('partially-encrypted');
    expect(view.parts).toEqual([]);
    expect(view.unprotectedParts).toEqual([expect.objectContaining({ content: 'see file', encrypted: false })]);
    expect(view.attachments).toEqual([expect.objectContaining({ name: 'f.txt', encrypted: true })]);
  });

  it('two separately encrypted blocks are shown as two parts, never joined, and no root for replies', async () => {
    const [first, second] = [canary(), canary()];
    const body = `${await encryptArmored(first, { to: [bobPublic] })}\r\n${await encryptArmored(second, { to: [bobPublic] })}`;
    const view = await read(entity(envelope('Alice <alice@sigill.test>', 'x'), body), options());
    expect(view.parts.map((part) => [part.content, part.protection.encryption])).toEqual([
      [first, 1],
      [second, 2],
    ]);
    expect(view.encryption).toBe('encrypted');
    expect(view.encryptedParts).toEqual({ count: 2, root: undefined });
  });
});

describe('PARTIAL: signatures', () => {
  it('a cleartext signed block inside unsigned text: partially signed, the text around marked unsigned', async () => {
    const signed = await clearsign('I, Alice, agree.\n', alice);
    const view = await read(entity(envelope('Alice <alice@sigill.test>', 'x'), `Unsigned words\r\n${signed}\r\nmore unsigned`), options());
    expect(view.signature).toBe('partially-signed');
    expect(view.parts.map((part) => [part.content.trim(), part.signed])).toEqual([
      ['Unsigned words', false],
      ['I, Alice, agree.', true],
      ['more unsigned', false],
    ]);
  });

  it('multipart/signed next to an unsigned part: partially signed, the group does not cover the mail', async () => {
    const signed = await mimeSigned({}, text(`signed${CRLF}`), alice);
    const view = await read(mixed('Alice <alice@sigill.test>', [signed, attachmentPart('extra.exe', bytesOf('MZ'))]), options());
    expect(view.signature).toBe('partially-signed');
    expect(view.signatureGroups).toEqual([{ id: 1, coversWholeMessage: false }]);
    expect(view.attachments).toEqual([expect.objectContaining({ name: 'extra.exe', signed: false })]);
  });

  it('encrypted and signed body with an unsigned plain attachment: encryption partial, signature partial', async () => {
    const armored = await encryptArmored('body', { to: [bobPublic], signer: alice });
    const view = await read(mixed('Alice <alice@sigill.test>', [text(armored), attachmentPart('added.txt', bytesOf('added'))]), options());
    expect(view.encryption).toBe('partially-encrypted');
    expect(view.signature).toBe('partially-signed');
  });
});
