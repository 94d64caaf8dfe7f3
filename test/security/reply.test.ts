/**
 * REPLY — "Re: What's up Johnny?" (ACNS 2019): the attacker sends the victim a mail that embeds a
 * ciphertext the victim can decrypt (captured earlier: someone else's message to the victim), hidden or
 * mixed with the attacker's own content, hoping the victim's reply quotes its plaintext back. Must hold:
 * a reply quotes decrypted text only when it was shown as the body and comes from the mail's one root
 * encryption; otherwise nothing decrypted is quoted.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { PrivateKey, PublicKey } from 'openpgp';
import { quoteForReply, read } from '../../src/core/index.ts';
import { CRLF, canary, certificate, encryptArmored, entity, envelope, keyring, multipart, nodeSanitizer, pgpMime, secretKey, text } from '../unit/core/incoming/mail.ts';

let bob: PrivateKey;
let alice: PrivateKey;
let bobPublic: PublicKey;
beforeAll(async () => {
  [bob, alice, bobPublic] = await Promise.all([secretKey('bob'), secretKey('alice'), certificate('bob')]);
});
const options = () => ({ ...keyring({ secret: [bob] }), sanitizeHtml: nodeSanitizer() });
/** Alice's old message to Bob, captured by Mallory. */
const captured = async (secret: string) => encryptArmored(`Alice to Bob: ${secret}`, { to: [bobPublic], signer: alice });
const fromMallory = (parts: string[]) => entity({ ...envelope('Mallory <mallory@sigill.test>', 'What do you think?'), 'Content-Type': 'multipart/mixed; boundary="r"' }, multipart('r', parts));

describe('REPLY', () => {
  it('captured ciphertext hidden in HTML (display:none) under an innocent question', async () => {
    const secret = canary();
    const body = `<p>What do you think about this?</p><div style="display:none">${(await captured(secret)).replace(/\n/g, '<br>')}</div>`;
    const view = await read(entity({ ...envelope('Mallory <mallory@sigill.test>', 'x'), 'Content-Type': 'text/html' }, body), options());
    const quote = quoteForReply(view);
    expect(quote.text).not.toContain(secret);
    expect(quote.omitted).toBe('not-root-encryption');
  });

  it('captured ciphertext as a second part after the attacker text', async () => {
    const secret = canary();
    const view = await read(fromMallory([text('What do you think?'), text(await captured(secret))]), options());
    expect(quoteForReply(view).text).not.toContain(secret);
  });

  it('captured ciphertext as an attachment: decrypted for the person, never quoted', async () => {
    const secret = canary();
    const view = await read(
      fromMallory([text('See attachment'), entity({ 'Content-Type': 'application/octet-stream; name="note.txt.asc"', 'Content-Disposition': 'attachment; filename="note.txt.asc"' }, await captured(secret))]),
      options(),
    );
    expect(view.attachments[0]?.encrypted).toBe(true);
    expect(quoteForReply(view).text).not.toContain(secret);
  });

  it("captured ciphertext nested in the attacker's own encrypted mail (not the root encryption)", async () => {
    const secret = canary();
    const inner = entity({ 'Content-Type': 'multipart/mixed; boundary="in"' }, multipart('in', [text(`Thoughts?${CRLF}`), pgpMime({}, await captured(secret), 'nested')]));
    const armored = await encryptArmored(inner, { to: [bobPublic], format: 'binary' });
    const view = await read(pgpMime(envelope('Mallory <mallory@sigill.test>', 'x'), armored), options());
    expect(view.encryptedParts.count).toBe(2);
    const quote = quoteForReply(view);
    expect(quote.text).not.toContain(secret);
    expect(quote.text).not.toContain('Thoughts?');
  });

  it('a ciphertext quoted inside a decrypted message is never decrypted, so never quoted as plaintext', async () => {
    const secret = canary();
    const old = await captured(secret);
    const armored = await encryptArmored(`My answer.\n\n${old}`, { to: [bobPublic] });
    const view = await read(entity(envelope('Mallory <mallory@sigill.test>', 'x'), armored), options());
    expect(view.encryptedParts.count).toBe(1);
    expect(JSON.stringify(view)).not.toContain(secret);
    expect(quoteForReply(view).text).not.toContain(secret);
  });

  it('captured ciphertext inside a forwarded message/rfc822 is not decrypted at all', async () => {
    const secret = canary();
    const forwarded = entity(envelope('Alice <alice@sigill.test>', 'old'), await captured(secret));
    const view = await read(fromMallory([text('FYI'), entity({ 'Content-Type': 'message/rfc822', 'Content-Disposition': 'inline' }, forwarded)]), options());
    expect(view.encryptedParts.count).toBe(0);
    expect(JSON.stringify({ ...view, attachments: [] })).not.toContain(secret);
    expect(quoteForReply(view).text).not.toContain(secret);
  });

  it('the legitimate case: a mail that is one encrypted message is quoted', async () => {
    const secret = canary();
    const view = await read(entity(envelope('Alice <alice@sigill.test>', 'x'), await captured(secret)), options());
    expect(quoteForReply(view)).toMatchObject({ text: `> Alice to Bob: ${secret}`, fromEncrypted: true });
  });
});
