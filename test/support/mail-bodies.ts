/**
 * Mail the benches and the reading scenarios build around GnuPG's output: a header section, the RFC 3156 §4
 * `multipart/encrypted` envelope and a text with one base64 attachment. CRLF lines throughout.
 */
import { randomBytes } from 'node:crypto';

const CRLF = '\r\n';

/** A message's header section (without the blank line after it), from carol to bob unless told, with a fresh Date and Message-ID. */
export function mailHeaders(options: { subject: string; contentType: string; from?: string; to?: string; extra?: string[] }): string {
  return [
    `From: ${options.from ?? 'Carol <carol@sigill.test>'}`,
    `To: ${options.to ?? 'Bob <bob@sigill.test>'}`,
    `Subject: ${options.subject}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${randomBytes(8).toString('hex')}@sigill.test>`,
    'MIME-Version: 1.0',
    `Content-Type: ${options.contentType}`,
    ...(options.extra ?? []),
  ].join(CRLF);
}

/** The Content-Type of the PGP/MIME envelope (boundary "enc"). */
export const pgpMimeContentType = 'multipart/encrypted; protocol="application/pgp-encrypted"; boundary="enc"';

/** The envelope's body: the version part and the armored message, ending with the closing boundary. */
export function pgpMimeBody(armored: string): string {
  return [
    '--enc',
    'Content-Type: application/pgp-encrypted',
    '',
    'Version: 1',
    '--enc',
    'Content-Type: application/octet-stream; name="encrypted.asc"',
    '',
    armored.trimEnd(),
    '--enc--',
    '',
  ].join(CRLF);
}

/** The Content-Type of `textWithAttachmentBody` (boundary "in"). */
export const mixedContentType = 'multipart/mixed; boundary="in"';

/** A text part and one attachment, data.bin, whose base64 body (already in lines) is `base64Lines`. */
export function textWithAttachmentBody(text: string, base64Lines: string): string {
  return [
    '--in',
    'Content-Type: text/plain; charset=utf-8',
    '',
    text,
    '--in',
    'Content-Type: application/octet-stream; name="data.bin"',
    'Content-Disposition: attachment; filename="data.bin"',
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines,
    '--in--',
    '',
  ].join(CRLF);
}

/** The same as an entity with its Content-Type header, ready to be encrypted. */
export function textWithAttachment(text: string, base64Lines: string): string {
  return `Content-Type: ${mixedContentType}${CRLF}${CRLF}${textWithAttachmentBody(text, base64Lines)}`;
}

/** `size` random octets as a base64 body in lines of 76 characters (RFC 2045 §6.8). */
export function randomBase64Lines(size: number): string {
  return randomBytes(size).toString('base64').replace(/.{76}/g, `$&${CRLF}`);
}
