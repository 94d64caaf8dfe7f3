/**
 * A cleartext-signed body has to reach the verifier byte for byte (after the signature's own
 * whitespace rules), but a mail client's plain-text composer sends `format=flowed` (RFC 3676): lines
 * longer than its wrap column are soft-broken at spaces, trailing spaces mark flowed lines, and lines
 * starting with a space or "From " are space-stuffed (§4.4). A verifier that reads the raw body (gpg,
 * or any client that does not undo flowed) then sees different text. So Sigill signs text that
 * format=flowed leaves alone:
 *
 * - before signing, `prepareTextForSigning`: line ends normalised, trailing whitespace dropped (the
 *   cleartext signature ignores it anyway, RFC 9580 §7.2), lines longer than `width` hard-wrapped at
 *   their last space before it (a line without a space cannot be soft-broken either, so it stays);
 * - after signing, `dashEscapeForTransport`: lines starting with "From " or a space are dash-escaped
 *   ("- " prefix, RFC 9580 §7.1 allows it for any line; GnuPG does it for "From "), so nothing is
 *   space-stuffed. The signature is over the unescaped text, so it still verifies.
 */

/** Thunderbird wraps at 72 columns (mailnews.wraplength); a margin keeps every line below it. */
export const SIGNED_TEXT_WIDTH = 70;

function wrapLine(line: string, width: number): string[] {
  const lines: string[] = [];
  let rest = line;
  while (rest.length > width) {
    const space = rest.lastIndexOf(' ', width);
    if (space <= 0) break;
    lines.push(rest.slice(0, space).replace(/[ \t]+$/, ''));
    rest = rest.slice(space + 1).replace(/^ +/, '');
  }
  lines.push(rest);
  return lines;
}

/** The text to sign: `\n` line ends, no trailing whitespace, lines hard-wrapped at `width`. */
export function prepareTextForSigning(text: string, options: { width?: number } = {}): string {
  const width = options.width ?? SIGNED_TEXT_WIDTH;
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.replace(/[ \t]+$/, ''))
    .flatMap((line) => wrapLine(line, width))
    .join('\n');
}

const SIGNED_TEXT_START = /^-----BEGIN PGP SIGNED MESSAGE-----\r?\n(?:[^\r\n]+\r?\n)*\r?\n/;
const SIGNATURE_START = '\n-----BEGIN PGP SIGNATURE-----';

/** Dash-escapes the lines of a cleartext-signed message that format=flowed would space-stuff. */
export function dashEscapeForTransport(cleartextMessage: string): string {
  const head = SIGNED_TEXT_START.exec(cleartextMessage);
  const end = cleartextMessage.indexOf(SIGNATURE_START);
  if (head === null || end < head[0].length - 1) return cleartextMessage;
  const start = head[0].length;
  const signedText = cleartextMessage.slice(start, end);
  const escaped = signedText
    .split('\n')
    .map((line) => (line.startsWith('From ') || line.startsWith(' ') ? `- ${line}` : line))
    .join('\n');
  return cleartextMessage.slice(0, start) + escaped + cleartextMessage.slice(end);
}
