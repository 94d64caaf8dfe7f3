/**
 * Helpers for the header fields the relay itself writes into messages (Received, Return-Path, the
 * DSN's fields), shared by the SMTP listener, local delivery and the bounce builder.
 *
 * Every such field goes through `headerField()`: it is the one place where text from a client (an
 * envelope address, a HELO name, a remote diagnostic) becomes message bytes, so it is the one place
 * that guarantees that no value can end a header line early, start another field or the body. Values
 * are written as UTF-8 (RFC 6532 §3, as Postfix stores SMTPUTF8 mail); an encoding that truncates
 * code points to one byte (latin1) would turn U+010A/U+010D into LF/CR.
 */

/** RFC 5322 §3.6.8: a field name is 1 or more printable ASCII characters except ":". */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]{1,76}$/;

/**
 * Characters that never appear in a value we write: C0 controls (CR and LF above all), DEL, the C1
 * controls (U+0085 NEL is a line end to some software), and the Unicode line and paragraph separators
 * U+2028/U+2029. TAB is allowed (RFC 5322 §3.2.2 WSP).
 */
// eslint-disable-next-line no-control-regex -- these are exactly the characters refused
const FORBIDDEN_IN_VALUE = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]/u;

export class HeaderValueError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`header field ${field}: ${problem}`);
    this.name = 'HeaderValueError';
  }
}

/**
 * One header field as UTF-8 bytes, CRLF-terminated. `value` is one line, or several that are folded
 * (RFC 5322 §2.2.3: CRLF then a TAB); no piece may contain CR, LF or another control character, and
 * a piece may not be empty or all white space (that would make a folded line look like the blank line
 * that ends the header section). Throws HeaderValueError instead of writing a broken field.
 */
export function headerField(name: string, value: string | readonly string[]): Buffer {
  if (!FIELD_NAME.test(name)) throw new HeaderValueError(JSON.stringify(name.slice(0, 40)), 'not a field name');
  const pieces = typeof value === 'string' ? [value] : value;
  if (pieces.length === 0) throw new HeaderValueError(name, 'empty value');
  pieces.forEach((piece, index) => {
    if (FORBIDDEN_IN_VALUE.test(piece)) throw new HeaderValueError(name, 'control character or line break in the value');
    if (index > 0 && piece.trim() === '') throw new HeaderValueError(name, 'an empty folded line');
  });
  return Buffer.from(`${name}: ${pieces.join('\r\n\t')}\r\n`, 'utf8');
}

/** RFC 5322 §3.3 date-time in UTC. */
export function rfc5322Date(date = new Date()): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

/** "1 message", "2 messages": counts in replies, pages and logs read as English (no "1 messages"). */
export function counted(count: number, noun: string, pluralNoun = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : pluralNoun}`;
}
