/**
 * SIG-WRAP — "Johnny, you are fired" (USENIX Security 2019): a genuinely signed part is wrapped in
 * unsigned content, hidden with HTML/CSS, or moved into an attachment, so that the status says
 * "signed" over text the signer never wrote. Must hold: the mail is never "signed" unless a good
 * signature covers everything shown; every unsigned part is marked unsigned.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { PrivateKey, PublicKey } from 'openpgp';
import { read } from '../../src/core/index.ts';
import { CRLF, bytesOf, certificate, clearsign, encryptArmored, entity, envelope, html, keyring, mimeSigned, multipart, nodeSanitizer, pgpMime, secretKey, text } from '../unit/core/incoming/mail.ts';

let alice: PrivateKey;
let bob: PrivateKey;
let mallory: PrivateKey;
let alicePublic: PublicKey;
let bobPublic: PublicKey;
let malloryPublic: PublicKey;
beforeAll(async () => {
  [alice, bob, mallory] = await Promise.all([secretKey('alice'), secretKey('bob'), secretKey('mallory')]);
  [alicePublic, bobPublic, malloryPublic] = await Promise.all([certificate('alice'), certificate('bob'), certificate('mallory')]);
});
const options = () => ({ ...keyring({ secret: [bob], public: [alicePublic, malloryPublic] }), sanitizeHtml: nodeSanitizer() });
const mixed = (parts: string[], from = 'Alice <alice@sigill.test>') => entity({ ...envelope(from, 'Johnny, you are fired'), 'Content-Type': 'multipart/mixed; boundary="w"' }, multipart('w', parts));
const forged = 'Johnny, you are fired.';

describe('SIG-WRAP: wrapped in unsigned content', () => {
  it('unsigned text before a multipart/signed part', async () => {
    const signed = await mimeSigned({}, text(`Lunch at noon?${CRLF}`), alice);
    const view = await read(mixed([text(forged), signed]), options());
    expect(view.signature).not.toBe('signed');
    expect(view.signature).toBe('partially-signed');
    expect(view.parts.find((part) => part.content.includes(forged))?.signed).toBe(false);
  });

  it('unsigned text around a cleartext signed block', async () => {
    const signed = await clearsign('Lunch at noon?\n', alice);
    const view = await read(entity(envelope('Alice <alice@sigill.test>', 'x'), `${forged}\r\n\r\n${signed}`), options());
    expect(view.signature).toBe('partially-signed');
    expect(view.parts.find((part) => part.content.includes(forged))?.signed).toBe(false);
  });

  it("Alice's signed part inside Mallory's encrypted mail, next to Mallory's text", async () => {
    const signed = await mimeSigned({}, text(`Lunch at noon?${CRLF}`), alice);
    const inner = entity({ 'Content-Type': 'multipart/mixed; boundary="in"' }, multipart('in', [text(forged), signed]));
    const armored = await encryptArmored(inner, { to: [bobPublic], format: 'binary' });
    const view = await read(pgpMime(envelope('Alice <alice@sigill.test>', 'x'), armored), options());
    expect(view.encryption).toBe('encrypted');
    expect(view.signature).toBe('partially-signed');
    expect(view.parts.find((part) => part.content.includes(forged))).toMatchObject({ encrypted: true, signed: false });
  });

  it('a signed-only inline message wrapped in unsigned text', async () => {
    const { sign, readAll } = await import('../../src/core/index.ts');
    const inlineSigned = new TextDecoder().decode(await readAll(await sign({ input: 'Lunch at noon?', signingKeys: [alice] })));
    const view = await read(entity(envelope('Alice <alice@sigill.test>', 'x'), `${forged}\r\n${inlineSigned}`), options());
    expect(view.signature).toBe('partially-signed');
    expect(view.parts.map((part) => [part.content.trim(), part.signed])).toEqual([
      [forged, false],
      ['Lunch at noon?', true],
    ]);
  });
});

describe('SIG-WRAP: hidden by HTML/CSS', () => {
  it('a signed HTML part hidden with CSS next to visible unsigned HTML', async () => {
    const signed = await mimeSigned({}, html('<div style="display:none">Lunch at noon?</div>'), alice);
    const view = await read(mixed([signed, html(`<p>${forged}</p>`)]), options());
    expect(view.signature).toBe('partially-signed');
    expect(view.parts.find((part) => part.content.includes(forged))?.signed).toBe(false);
  });

  it('a cleartext signed block inside attacker HTML: the visible attacker text is unsigned and never HTML', async () => {
    const signed = await clearsign('Lunch at noon?\n', alice);
    const body = `<p>${forged}</p><div style="display:none">${signed.replace(/\n/g, '<br>')}</div>`;
    const view = await read(entity({ ...envelope('Alice <alice@sigill.test>', 'x'), 'Content-Type': 'text/html' }, body), options());
    expect(view.signature).toBe('partially-signed');
    const unsigned = view.parts.filter((part) => !part.signed);
    expect(unsigned.map((part) => part.content.trim())).toEqual([forged]);
    expect(unsigned.every((part) => part.kind === 'text')).toBe(true);
  });

  it('multipart/alternative: the signed alternative is the one shown, the forged one is not shown at all', async () => {
    const signed = await mimeSigned({}, text(`Lunch at noon?${CRLF}`), alice);
    const mail = entity({ ...envelope('Alice <alice@sigill.test>', 'x'), 'Content-Type': 'multipart/alternative; boundary="alt"' }, multipart('alt', [signed, html(`<p>${forged}</p>`)]));
    const view = await read(mail, options());
    expect(view.signature).toBe('signed');
    expect(JSON.stringify(view.parts)).not.toContain(forged);
  });
});

describe('SIG-WRAP: moved to an attachment', () => {
  it("Alice's signed mail attached as message/rfc822 under Mallory's text is not verified at all", async () => {
    const alicesMail = await mimeSigned(envelope('Alice <alice@sigill.test>', 'Lunch'), text(`Lunch at noon?${CRLF}`), alice);
    const view = await read(mixed([text(forged), entity({ 'Content-Type': 'message/rfc822', 'Content-Disposition': 'attachment; filename="lunch.eml"' }, alicesMail)]), options());
    expect(view.signature).toBe('not-signed');
    expect(view.signers).toEqual([]);
    expect(view.attachments.map((attachment) => [attachment.name, attachment.signed])).toEqual([['lunch.eml', false]]);
  });

  it('a signed attachment (detached .sig) does not make the body signed', async () => {
    const { detachedSignature, attachmentPart } = await import('../unit/core/incoming/mail.ts');
    const file = bytesOf('lunch menu');
    const signature = await detachedSignature(file, alice);
    const view = await read(mixed([text(forged), attachmentPart('menu.txt', file), attachmentPart('menu.txt.asc', signature, 'application/pgp-signature')]), options());
    expect(view.signature).toBe('partially-signed');
    expect(view.parts).toEqual([expect.objectContaining({ content: forged, signed: false })]);
    expect(view.attachments).toEqual([expect.objectContaining({ name: 'menu.txt', signed: true })]);
  });

  it("Mallory's good signature over a mail claiming to be Alice's is signed by Mallory, with a warning", async () => {
    const signed = await mimeSigned(envelope('Alice <alice@sigill.test>', 'x'), text(`${forged}${CRLF}`), mallory);
    const view = await read(signed, options());
    expect(view.signers).toEqual([expect.objectContaining({ status: 'good', userID: 'Mallory <mallory@sigill.test>', matchesFrom: false })]);
    expect(view.warnings.map((warning) => warning.code)).toContain('SIGNER_NOT_FROM');
  });
});
