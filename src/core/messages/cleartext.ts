/**
 * The Cleartext Signature Framework (RFC 9580 §7): text shown as it is, followed by an armored
 * signature over its canonical form. It cannot stream (the signature and the dash-escaping both
 * need the whole text), so it is held in memory up to a bound (TOO_LARGE past it).
 *
 * OpenPGP.js makes the signature; this module frames the document, because OpenPGP.js writes the
 * body in canonical form — `a\r\n` lines inside an otherwise LF document — and keeps the input's
 * final line ending as an extra empty line, so GnuPG and sqop read `a\nb\n` back as `a\r\nb\r\n\n`.
 */
import * as openpgp from 'openpgp';
import { SigillError } from '../errors.ts';
import { toSigillError } from './common.ts';
import { readAll } from './streams.ts';
import type { DataInput } from './types.ts';

const CLEARTEXT_HEADER = '-----BEGIN PGP SIGNED MESSAGE-----';
/** How many leading bytes startsCleartext needs to see. */
export const CLEARTEXT_HEAD_LENGTH = CLEARTEXT_HEADER.length;
const SIGNATURE_HEADER = '-----BEGIN PGP SIGNATURE-----';

/** Default bound for the in-memory cleartext framework: far above any mail body. */
export const DEFAULT_CLEARTEXT_LIMIT = 64 * 1024 * 1024;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');

/**
 * Reads a whole text input, at most `limit` bytes (TOO_LARGE). 'strict' (text to sign): UTF-8 or
 * EXPECTED_TEXT. 'lenient' (a document to verify): invalid sequences become U+FFFD, which then
 * fails the signature check of any text that was signed as other bytes; nothing is guessed.
 */
export async function readText(input: DataInput, limit: number, mode: 'strict' | 'lenient'): Promise<string> {
  const bytes = await readAll(input, limit);
  if (mode === 'lenient') return lenientUtf8.decode(bytes);
  try {
    return strictUtf8.decode(bytes);
  } catch (error) {
    throw new SigillError('EXPECTED_TEXT', { cause: error });
  }
}

interface Line {
  /** The line as signed: trailing blanks removed (RFC 9580 §7.2). */
  content: string;
  /** The line ending as given: '\r\n' or '\n' ('' for the last line). */
  ending: string;
}

/**
 * The lines of a text to clearsign. RFC 9580 §7.1: the line ending just before the
 * "-----BEGIN PGP SIGNATURE-----" line is not part of the signed text, so the input's final line
 * ending takes that place (as GnuPG and sqop do): `a\nb\n` is signed as `a<CR><LF>b`. §7.2: trailing
 * spaces and tabs are not signed; they are left out of the shown text as well (as OpenPGP.js does),
 * so what is shown is exactly what is signed. A carriage return is part of the line ending only
 * before a line feed.
 */
function splitLines(text: string): { lines: Line[]; finalEnding: string } {
  const finalEnding = /\r\n$/.test(text) ? '\r\n' : text.endsWith('\n') ? '\n' : '';
  const body = text.slice(0, text.length - finalEnding.length);
  const parts = body.split('\n');
  const lines = parts.map((part, index): Line => {
    const last = index === parts.length - 1;
    const crlf = !last && part.endsWith('\r');
    return { content: (crlf ? part.slice(0, -1) : part).replace(/[ \t\r]+$/, ''), ending: last ? '' : crlf ? '\r\n' : '\n' };
  });
  return { lines, finalEnding };
}

/**
 * Signs `text` in the cleartext framework. The body keeps the input's line endings (LF in, LF out;
 * CRLF in, CRLF out); the armor lines are LF, as OpenPGP.js and sqop write them. The signature is
 * over the canonical text, lines joined with <CR><LF> (§7.1, signature type 0x01).
 */
export async function clearsign(text: string, sign: (message: openpgp.CleartextMessage) => Promise<string>): Promise<string> {
  const { lines, finalEnding } = splitLines(text);
  const canonical = lines.map((line) => line.content).join('\r\n');
  // createCleartextMessage refuses '' but strips trailing blanks itself: ' ' is the empty text.
  const armored = await sign(await openpgp.createCleartextMessage({ text: canonical === '' ? ' ' : canonical }));
  // OpenPGP.js writes: the header lines, an empty line, the dash-escaped body, '\n', the signature
  // armor. Its body has no line starting with '-', so the first "\n-----BEGIN PGP SIGNATURE-----"
  // ends it.
  const headerEnd = armored.indexOf('\n\n');
  const signatureStart = armored.indexOf(`\n${SIGNATURE_HEADER}\n`);
  if (!armored.startsWith(CLEARTEXT_HEADER) || headerEnd < 0 || signatureStart < headerEnd) {
    throw new SigillError('INTERNAL', { detail: 'unexpected cleartext signature layout from OpenPGP.js' });
  }
  // §7.2 dash-escaping: a line starting with '-' is prefixed with "- ". Done per line here (OpenPGP.js's
  // /^-/m would also escape after a lone CR or U+2028, which readers do not treat as a line start).
  const body = lines.map((line) => (line.content.startsWith('-') ? `- ${line.content}` : line.content) + line.ending).join('');
  return armored.slice(0, headerEnd + 2) + body + (finalEnding || '\n') + armored.slice(signatureStart + 1);
}

/** The line ending of a cleartext document: the one before its signature armor (§7.1). */
function documentEnding(document: string): string {
  return document.includes(`\r\n${SIGNATURE_HEADER}`) ? '\r\n' : '\n';
}

/**
 * The signed text exactly as signed (as OpenPGP.js verified it), lines joined with the document's
 * line ending and no final one: what a detached text signature (§5.2.1.2) verifies against, for
 * inline-detach.
 */
export function signedText(message: openpgp.CleartextMessage, document: string): string {
  return message.getText().split('\n').join(documentEnding(document));
}

/**
 * The signed text as a file again: every line ended with the document's line ending, including the
 * last (the one before the signature armor, which §7.1 keeps out of the signed text), so `a\nb\n`
 * clearsigned by GnuPG, sqop or us reads back as `a\nb\n`, as GnuPG and sqop output it; a CRLF
 * document gives CRLF. For inline-verify.
 */
export function signedTextAsFile(message: openpgp.CleartextMessage, document: string): string {
  return signedText(message, document) + documentEnding(document);
}

/** Parses a cleartext signed document (MALFORMED_ARMOR when it is not one). */
export async function readCleartext(document: string): Promise<openpgp.CleartextMessage> {
  try {
    return await openpgp.readCleartextMessage({ cleartextMessage: document });
  } catch (error) {
    throw toSigillError(error, 'MALFORMED_ARMOR');
  }
}

/** Whether the first bytes of an armored input open a cleartext signed message (§7). */
export function startsCleartext(head: Uint8Array): boolean {
  return new TextDecoder().decode(head).trimStart().startsWith(CLEARTEXT_HEADER);
}
