/**
 * SIG-UI — a fake status banner drawn in the body ("✔ Signed by Alice, verified", a green box in HTML,
 * a fake "decrypted" frame). Must hold: it stays content of an unprotected part; the status the
 * extension shows comes only from the view model's state, which says what was proven and nothing else.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { PrivateKey, PublicKey } from 'openpgp';
import { read } from '../../src/core/index.ts';
import { certificate, clearsign, entity, envelope, html, keyring, multipart, nodeSanitizer, secretKey, text } from '../unit/core/incoming/mail.ts';

let mallory: PrivateKey;
let keys: PublicKey[];
beforeAll(async () => {
  mallory = await secretKey('mallory');
  keys = await Promise.all([certificate('alice'), certificate('mallory')]);
});
const options = () => ({ ...keyring({ public: keys }), sanitizeHtml: nodeSanitizer() });

const textBanner = '✔ Good signature from Alice <alice@sigill.test> — verified, encrypted end to end\n\nPlease pay invoice 4711.';
const htmlBanner =
  '<div style="background:#2e7d32;color:white;padding:8px;position:fixed;top:0;left:0;right:0">🔒 Signed and encrypted by Alice &lt;alice@sigill.test&gt; (verified)</div><p>Please pay invoice 4711.</p>';

describe('SIG-UI', () => {
  it('a text banner is an unprotected text part; nothing is signed or encrypted', async () => {
    const view = await read(entity(envelope('Alice <alice@sigill.test>', 'Invoice'), textBanner), options());
    expect(view.parts).toEqual([expect.objectContaining({ kind: 'text', content: textBanner, signed: false, encrypted: false, source: 'plain' })]);
    expect(view.signature).toBe('not-signed');
    expect(view.encryption).toBe('not-encrypted');
    expect(view.signers).toEqual([]);
  });

  it('an HTML banner stays sanitized content of an unsigned part', async () => {
    const mail = entity({ ...envelope('Alice <alice@sigill.test>', 'Invoice'), 'Content-Type': 'multipart/alternative; boundary="a"' }, multipart('a', [text(textBanner), html(htmlBanner)]));
    const view = await read(mail, options());
    expect(view.parts).toHaveLength(1);
    expect(view.parts[0]).toMatchObject({ kind: 'html', signed: false, encrypted: false });
    expect(view.parts[0]?.content).toContain('Signed and encrypted by Alice');
    // It cannot lift itself over what the display draws around the body.
    expect(view.parts[0]?.content).not.toMatch(/position/i);
    expect(view.signature).toBe('not-signed');
    expect(view.signers).toEqual([]);
  });

  it("a banner inside Mallory's genuinely signed text names Alice; the status names Mallory", async () => {
    const signed = await clearsign(`${textBanner}\n`, mallory);
    const view = await read(entity(envelope('Alice <alice@sigill.test>', 'Invoice'), signed), options());
    expect(view.signers.map((signer) => [signer.status, signer.userID, signer.matchesFrom])).toEqual([['good', 'Mallory <mallory@sigill.test>', false]]);
    expect(view.warnings.map((warning) => warning.code)).toContain('SIGNER_NOT_FROM');
  });

  it('a fake armor-looking banner that is not OpenPGP data is shown as text, and nothing is claimed', async () => {
    const fake = '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nPay 4711.\n-----BEGIN PGP SIGNATURE-----\n\nnot a signature\n-----END PGP SIGNATURE-----\n';
    const view = await read(entity(envelope('Alice <alice@sigill.test>', 'Invoice'), fake), options());
    expect(view.signature).toBe('not-signed');
    expect(view.errors).toHaveLength(1);
    expect(['MALFORMED_ARMOR', 'MALFORMED_MESSAGE']).toContain(view.errors[0]?.code);
    expect(view.parts.every((part) => !part.signed)).toBe(true);
    expect(view.parts.map((part) => part.content).join('')).toContain('Pay 4711.');
  });

  it('the subject cannot carry a status either: it is reported as the outer subject, unprotected', async () => {
    const view = await read(entity(envelope('Alice <alice@sigill.test>', '[Signed by Alice ✔] Invoice'), 'x'), options());
    expect(view.subject).toBe('[Signed by Alice ✔] Invoice');
    expect(view.protectedSubject).toBeUndefined();
    expect(view.signature).toBe('not-signed');
  });
});
