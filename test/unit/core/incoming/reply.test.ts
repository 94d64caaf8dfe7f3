import { beforeAll, describe, expect, it } from 'vitest';
import type { PrivateKey, PublicKey } from 'openpgp';
import { quoteForReply, read } from '../../../../src/core/index.ts';
import { CRLF, canary, certificate, encryptArmored, entity, envelope, keyring, multipart, pgpMime, secretKey, text } from './mail.ts';

let bob: PrivateKey;
let bobPublic: PublicKey;
beforeAll(async () => {
  bob = await secretKey('bob');
  bobPublic = await certificate('bob');
});

describe('quoteForReply', () => {
  it('quotes a plain mail', async () => {
    const view = await read(entity(envelope('Alice <alice@sigill.test>', 'x'), 'line one\r\n> earlier\r\n'), keyring({}));
    expect(quoteForReply(view)).toEqual({ text: '> line one\n>> earlier', fromEncrypted: false, omitted: undefined });
  });

  it('quotes the decrypted text of a mail that is one encrypted message (PGP/MIME root)', async () => {
    const secret = canary();
    const armored = await encryptArmored(text(`hello ${secret}${CRLF}`), { to: [bobPublic], format: 'binary' });
    const view = await read(pgpMime(envelope('Alice <alice@sigill.test>', 'x'), armored), keyring({ secret: [bob] }));
    expect(quoteForReply(view)).toEqual({ text: `> hello ${secret}`, fromEncrypted: true, omitted: undefined });
  });

  it('quotes nothing decrypted from a mail that mixes encrypted and other content', async () => {
    const secret = canary();
    const armored = await encryptArmored(`someone else's ${secret}`, { to: [bobPublic] });
    const mail = entity({ ...envelope('Mallory <mallory@sigill.test>', 'x'), 'Content-Type': 'multipart/mixed; boundary="m"' }, multipart('m', [text('Please reply!'), text(armored)]));
    const view = await read(mail, keyring({ secret: [bob] }));
    expect(view.encryption).toBe('partially-encrypted');
    const quote = quoteForReply(view);
    expect(quote.text).not.toContain(secret);
    expect(quote).toEqual({ text: '', fromEncrypted: false, omitted: 'not-root-encryption' });
  });
});

describe('quoteForReply: HTML mail', () => {
  it('quotes the text/plain alternative of an HTML part shown from multipart/alternative', async () => {
    const { html, nodeSanitizer } = await import('./mail.ts');
    const secret = canary();
    const inner = entity({ 'Content-Type': 'multipart/alternative; boundary="alt"' }, multipart('alt', [text(`plain ${secret}${CRLF}`), html(`<p>rich ${secret}</p>`)]));
    const armored = await encryptArmored(inner, { to: [bobPublic], format: 'binary' });
    const view = await read(pgpMime(envelope('Alice <alice@sigill.test>', 'x'), armored), { ...keyring({ secret: [bob] }), sanitizeHtml: nodeSanitizer() });
    expect(view.parts).toEqual([expect.objectContaining({ kind: 'html', content: `<p>rich ${secret}</p>`, plainText: `plain ${secret}${CRLF}` })]);
    expect(quoteForReply(view).text).toBe(`> plain ${secret}`);
  });
});
