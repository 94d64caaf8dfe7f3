/**
 * The MIME tree of a mail, over its raw bytes (RFC 2045, RFC 2046 §5.1).
 *
 * Why a tree of our own rather than postal-mime's result: postal-mime flattens a mail into one
 * `text`, one `html` and a list of attachments, joining every inline text part. That join is exactly
 * what EFAIL's direct exfiltration needs (attacker HTML around a decrypted part), and RFC 3156 §5
 * verifies a `multipart/signed` over the exact bytes of its first body part, which a decoded result
 * no longer has. So this module only splits entities at their boundaries, keeping each one's raw bytes;
 * decoding a leaf (transfer encodings, charsets, RFC 2231 file names) is left to postal-mime
 * (see decode.ts). Every size, depth and count is bounded (limits.ts, PARSE).
 */
import { SigillError } from '../errors.ts';
import { headerValue, parseHeaderBlock, parseParameterized, type HeaderField, type ParameterizedValue } from './headers.ts';
import { mimeLimits, type MimeLimits } from './limits.ts';
import type { ByteSource } from './source.ts';

export interface StoredEntity {
  source: ByteSource;
  start: number;
  end: number;
  bodyStart: number;
}

/** How much of a stored entity's body is kept in `body`: enough to sniff armor, packets and markers. */
export const STORED_PEEK = 64 * 1024;

export interface MimeEntity {
  /** The entity's raw bytes, headers and body (a view into the message). */
  raw: Uint8Array;
  headers: HeaderField[];
  /** Content-Type (RFC 2045 §5.2 default: text/plain). */
  contentType: ParameterizedValue;
  /** Content-Disposition, if any (RFC 2183). */
  disposition: ParameterizedValue | undefined;
  /**
   * The body's raw bytes, still transfer-encoded. For an entity read from a source (`stored`), only the
   * first bytes of the body (at most STORED_PEEK), enough to tell what it is; the whole body is read with
   * decode.ts (decodeBody, decodedBodyStream) or readStoredBody.
   */
  body: Uint8Array;
  /**
   * Set when the entity was too large to hold and stays in its source (source-entity.ts): `raw` is then
   * empty and `body` a prefix. `start`/`end` bound the entity, `bodyStart` its body.
   */
  stored?: StoredEntity;
  /** Sub-entities of a multipart, in order; empty for a leaf. */
  children: MimeEntity[];
  depth: number;
}

/** Counts shared by every entity parsed for one mail (decrypted entities included). */
export interface ParseBudget {
  limits: MimeLimits;
  parts: number;
  headerBytes: number;
}

export function parseBudget(limits: Partial<MimeLimits> = {}): ParseBudget {
  return { limits: mimeLimits(limits), parts: 0, headerBytes: 0 };
}

/** One char per byte, so string offsets are byte offsets (windows-1252 maps every byte to one code unit). */
const byteView = new TextDecoder('latin1');

/**
 * Parses a message or entity. Throws MALFORMED_MIME when a limit is exceeded; anything else that is
 * merely unusual (no closing boundary, stray lines) is read the lenient way mail readers do.
 */
export function parseMime(raw: Uint8Array, budget: ParseBudget = parseBudget(), depth = 0): MimeEntity {
  if (raw.length > budget.limits.maxMessageBytes) {
    throw new SigillError('TOO_LARGE', { detail: `the mail has ${raw.length} bytes, more than ${budget.limits.maxMessageBytes}` });
  }
  return parseEntity(raw, byteView.decode(raw), budget, depth);
}

function parseEntity(raw: Uint8Array, text: string, budget: ParseBudget, depth: number): MimeEntity {
  const { limits } = budget;
  const { headerEnd, bodyStart } = enterEntity(text, budget, depth);
  const entity: MimeEntity = { raw, ...describeEntity(text.slice(0, headerEnd)), body: raw.subarray(bodyStart), children: [], depth };
  const boundary = multipartBoundary(entity);
  if (boundary !== undefined) {
    // Stop splitting as soon as the part budget is spent: a mail of a million empty parts must not
    // cost a million ranges first.
    const remaining = limits.maxParts - budget.parts;
    for (const [start, end] of splitMultipart(text, bodyStart, boundary, remaining + 1)) {
      entity.children.push(parseEntity(raw.subarray(start, end), text.slice(start, end), budget, depth + 1));
    }
  }
  return entity;
}

/**
 * The checks and counts of one entity (depth, parts, header sizes) given the start of its text (at least
 * maxHeaderBytes + 4 characters of it, or all of it); where its header block ends and its body starts.
 */
export function enterEntity(head: string, budget: ParseBudget, depth: number): { headerEnd: number; bodyStart: number } {
  const { limits } = budget;
  if (depth > limits.maxDepth) throw new SigillError('MALFORMED_MIME', { detail: `nested deeper than ${limits.maxDepth} levels` });
  if (++budget.parts > limits.maxParts) throw new SigillError('MALFORMED_MIME', { detail: `more than ${limits.maxParts} parts` });
  const split = splitHeaderBlock(head, limits.maxHeaderBytes);
  budget.headerBytes += split.headerEnd;
  if (budget.headerBytes > limits.maxTotalHeaderBytes) {
    throw new SigillError('MALFORMED_MIME', { detail: `headers larger than ${limits.maxTotalHeaderBytes} bytes in all` });
  }
  return split;
}

/** Header fields, Content-Type and Content-Disposition of an entity from its header block. */
export function describeEntity(headerBlock: string): Pick<MimeEntity, 'headers' | 'contentType' | 'disposition'> {
  const headers = parseHeaderBlock(headerBlock);
  let contentType = parseParameterized(headerValue(headers, 'content-type'));
  if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(contentType.value)) {
    // RFC 2045 §5.2: a missing or unreadable Content-Type is text/plain (us-ascii).
    contentType = { value: 'text/plain', params: { charset: contentType.params.charset ?? 'us-ascii' } };
  }
  const dispositionRaw = headerValue(headers, 'content-disposition');
  return { headers, contentType, disposition: dispositionRaw === undefined ? undefined : parseParameterized(dispositionRaw) };
}

/** The boundary of a multipart entity that is split into parts; undefined for a leaf. */
export function multipartBoundary(entity: Pick<MimeEntity, 'contentType'>): string | undefined {
  const boundary = entity.contentType.params.boundary;
  return entity.contentType.value.startsWith('multipart/') && boundary !== undefined && boundary.length > 0 && boundary.length <= 200 ? boundary : undefined;
}

/** Where the header block ends (before the empty line) and the body starts (after it). */
function splitHeaderBlock(text: string, maxHeaderBytes: number): { headerEnd: number; bodyStart: number } {
  // An entity that starts with an empty line has no header fields (RFC 2046 §5.1.1 allows it).
  if (text.startsWith('\r\n')) return { headerEnd: 0, bodyStart: 2 };
  if (text.startsWith('\n')) return { headerEnd: 0, bodyStart: 1 };
  const window = text.length > maxHeaderBytes + 4 ? text.slice(0, maxHeaderBytes + 4) : text;
  const match = /\r?\n\r?\n/.exec(window);
  if (match) {
    if (match.index > maxHeaderBytes) throw new SigillError('MALFORMED_MIME', { detail: `a header block larger than ${maxHeaderBytes} bytes` });
    return { headerEnd: match.index, bodyStart: match.index + match[0].length };
  }
  if (text.length > maxHeaderBytes) throw new SigillError('MALFORMED_MIME', { detail: `a header block larger than ${maxHeaderBytes} bytes` });
  // Headers only, no body.
  return { headerEnd: text.length, bodyStart: text.length };
}

/**
 * The byte ranges of a multipart's body parts (RFC 2046 §5.1.1): a delimiter is a line starting with
 * "--" + boundary, optionally followed by "--" (the close delimiter) and transport padding. The line
 * break before a delimiter belongs to the delimiter, not to the part before it, which matters for
 * the exact signed bytes of RFC 3156 §5. Text after the close delimiter (the epilogue) and before the
 * first delimiter (the preamble) is ignored; a missing close delimiter ends the last part at the end.
 * At most `maxParts` ranges are returned.
 */
export function splitMultipart(text: string, bodyStart: number, boundary: string, maxParts = Infinity): Array<[number, number]> {
  const marker = `--${boundary}`;
  const ranges: Array<[number, number]> = [];
  let partStart: number | undefined;
  let search = bodyStart;
  for (;;) {
    const found = text.indexOf(marker, search);
    if (found < 0) break;
    search = found + marker.length;
    const atLineStart = found === bodyStart || text[found - 1] === '\n';
    if (!atLineStart) continue;
    let after = found + marker.length;
    const closing = text.startsWith('--', after);
    if (closing) after += 2;
    while (text[after] === ' ' || text[after] === '\t') after++;
    let lineEnd: number;
    if (after >= text.length) lineEnd = text.length;
    else if (text.startsWith('\r\n', after)) lineEnd = after + 2;
    else if (text[after] === '\n') lineEnd = after + 1;
    else continue; // "--boundary-more": a longer boundary, not this one
    if (partStart !== undefined) {
      let partEnd = found;
      if (partEnd > partStart && text[partEnd - 1] === '\n') partEnd--;
      if (partEnd > partStart && text[partEnd - 1] === '\r') partEnd--;
      ranges.push([partStart, Math.max(partStart, partEnd)]);
      if (ranges.length >= maxParts) return ranges;
    }
    if (closing) return ranges;
    partStart = lineEnd;
    search = lineEnd;
  }
  if (partStart !== undefined && partStart < text.length) ranges.push([partStart, text.length]);
  return ranges;
}

/** Whether the entity is an attachment rather than inline content (RFC 2183; a file name also counts). */
export function isAttachment(entity: MimeEntity): boolean {
  if (entity.disposition?.value === 'attachment') return true;
  if (entity.disposition?.value === 'inline') return false;
  const type = entity.contentType.value;
  if (type === 'text/plain' || type === 'text/html') return entity.contentType.params.name !== undefined;
  return !type.startsWith('multipart/');
}

/** Lines ending in CRLF everywhere (RFC 3156 §5: the signed part is verified in canonical form). */
export function canonicalCrlf(bytes: Uint8Array): Uint8Array {
  let bare = 0;
  for (let index = 0; index < bytes.length; index++) {
    if (bytes[index] === 0x0a && (index === 0 || bytes[index - 1] !== 0x0d)) bare++;
  }
  if (bare === 0) return bytes;
  const out = new Uint8Array(bytes.length + bare);
  let at = 0;
  for (let index = 0; index < bytes.length; index++) {
    const byte = bytes[index] as number;
    if (byte === 0x0a && (index === 0 || bytes[index - 1] !== 0x0d)) out[at++] = 0x0d;
    out[at++] = byte;
  }
  return out;
}
