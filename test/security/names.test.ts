/**
 * NAMES — attachment names chosen by the sender, decrypted ones included: `../` path walks, U+202E
 * (right-to-left override: `invoice‮gpj.exe` reads as `invoiceexe.jpg`), control characters and line
 * breaks, Windows device names, huge lengths. Must hold: every name in the view model is sanitized; the
 * name as sent is kept only as `originalName`, for the record.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { PrivateKey, PublicKey } from 'openpgp';
import { read, type AttachmentView } from '../../src/core/index.ts';
import { CRLF, attachmentPart, base64Lines, bytesOf, certificate, encryptArmored, encryptBinary, entity, envelope, keyring, multipart, pgpMime, secretKey, text } from '../unit/core/incoming/mail.ts';

let bob: PrivateKey;
let bobPublic: PublicKey;
beforeAll(async () => {
  bob = await secretKey('bob');
  bobPublic = await certificate('bob');
});
const options = () => keyring({ secret: [bob] });
const mixed = (parts: string[]) => entity({ ...envelope('Mallory <mallory@sigill.test>', 'files'), 'Content-Type': 'multipart/mixed; boundary="n"' }, multipart('n', parts));

/** What a save dialog or a file system would get: no separators, no controls, no bidi, bounded, not reserved. */
function assertSafe(attachment: AttachmentView | undefined): void {
  expect(attachment).toBeDefined();
  const name = attachment?.name ?? '';
  expect(name).not.toMatch(/[/\\]/);
  // eslint-disable-next-line no-control-regex -- looking for control characters is the point
  expect(name).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
  expect(name).not.toMatch(/^\./);
  expect(name.length).toBeGreaterThan(0);
  expect(name.length).toBeLessThanOrEqual(120);
  expect(name).not.toMatch(/^(?:con|prn|aux|nul|com\d|lpt\d)(?:\.|$)/i);
}

describe('NAMES', () => {
  it('names inside a decrypted PGP/MIME entity: path walks, RLO, device names', async () => {
    const names = ['../../.ssh/authorized_keys', 'invoice\u202Egpj.exe', 'nul.txt', '..\\..\\boot.ini'];
    const inner = entity({ 'Content-Type': 'multipart/mixed; boundary="i"' }, multipart('i', [text(`see files${CRLF}`), ...names.map((name) => attachmentPart(name, bytesOf('x')))]));
    const armored = await encryptArmored(inner, { to: [bobPublic], format: 'binary' });
    const view = await read(pgpMime(envelope('Mallory <mallory@sigill.test>', 'x'), armored), options());
    expect(view.attachments.map((attachment) => attachment.name)).toEqual(['authorized_keys', 'invoicegpj.exe', '_nul.txt', 'boot.ini']);
    // In a quoted string a backslash escapes the next character (RFC 5322 §3.2.4 quoted-pair).
    expect(view.attachments.map((attachment) => attachment.originalName)).toEqual([...names.slice(0, 3), '....boot.ini']);
    view.attachments.forEach(assertSafe);
  });

  it('an encrypted .pgp attachment whose outer name carries U+202E and controls', async () => {
    const pgp = await encryptBinary(bytesOf('payload'), { to: [bobPublic] });
    const name = 'report\u202Efdp.exe\u0007\u0001.pgp';
    const view = await read(mixed([text('x'), attachmentPart(name, pgp)]), options());
    expect(view.attachments[0]?.name).toBe('reportfdp.exe');
    assertSafe(view.attachments[0]);
  });

  it("the literal data packet's file name (used when the outer name gives none) is sanitized too", async () => {
    const pgp = await encryptBinary(bytesOf('payload'), { to: [bobPublic], filename: '../../etc/cron.d/\u202Eevil' });
    const view = await read(mixed([text('x'), attachmentPart('.pgp', pgp)]), options());
    expect(view.attachments[0]?.name).toBe('evil');
    assertSafe(view.attachments[0]);
  });

  it('RFC 2231 and RFC 2047 encoded names with line breaks, NUL and bidi controls', async () => {
    const parts = [
      entity({ 'Content-Type': 'application/octet-stream', 'Content-Disposition': "attachment; filename*=utf-8''a%0D%0AContent-Type%3A%20x%00%E2%80%AEb.txt", 'Content-Transfer-Encoding': 'base64' }, base64Lines(bytesOf('1'))),
      entity({ 'Content-Type': 'application/octet-stream; name="=?utf-8?B?Li4vLi4v4oCuZXZpbC50eHQ=?="', 'Content-Disposition': 'attachment', 'Content-Transfer-Encoding': 'base64' }, base64Lines(bytesOf('2'))),
    ];
    const view = await read(mixed([text('x'), ...parts]), options());
    expect(view.attachments.map((attachment) => attachment.name)).toEqual(['aContent-Type_ xb.txt', 'evil.txt']);
    view.attachments.forEach(assertSafe);
  });

  it('a huge name is shortened, keeping its extension', async () => {
    const view = await read(mixed([text('x'), attachmentPart(`${'A'.repeat(50_000)}.pdf`, bytesOf('%PDF'))]), options());
    expect(view.attachments[0]?.name.endsWith('.pdf')).toBe(true);
    assertSafe(view.attachments[0]);
  });

  it('error locations and offered-key sources use sanitized names', async () => {
    const { readFileSync } = await import('node:fs');
    const { fixturePath } = await import('../../keys-fixtures/index.ts');
    const carolOnly = await encryptBinary(bytesOf('x'), { to: [await certificate('carol')] });
    const key = readFileSync(fixturePath('carol', 'pub'));
    const view = await read(mixed([text('x'), attachmentPart('../\u202Esecret.pgp', carolOnly), attachmentPart('../../\u0000key.asc', key, 'application/pgp-keys')]), options());
    expect(view.errors.map((error) => error.where)).toEqual(['secret.pgp']);
    expect(view.offeredKeys.map((offered) => offered.from)).toEqual(['key.asc']);
  });
});
