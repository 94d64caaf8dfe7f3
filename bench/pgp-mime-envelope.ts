/** The RFC 3156 §4 `multipart/encrypted` envelope the benches wrap around GnuPG's armored ciphertext. */

const CRLF = '\r\n';

/** The Content-Type of the envelope (boundary "enc"). */
export const pgpMimeContentType = 'multipart/encrypted; protocol="application/pgp-encrypted"; boundary="enc"';

/** The envelope's body: the version part and the armored message, CRLF lines, ending with the closing boundary. */
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
