/**
 * Header fields of one MIME entity (RFC 5322 §2.2, §3.2.2 unfolding) and the parameterized values of
 * Content-Type and Content-Disposition (RFC 2045 §5.1, RFC 2183). Encoded words (RFC 2047) are decoded
 * by postal-mime's `decodeWords`; RFC 2231 file names are left to postal-mime's leaf decoding.
 */
import { decodeWords } from 'postal-mime';

export interface HeaderField {
  /** Lower-case field name. */
  name: string;
  /** The unfolded value, raw (8-bit bytes read as UTF-8, RFC 6532), encoded words not decoded. */
  value: string;
}

export interface ParameterizedValue {
  /** Lower-case value before the first ';', e.g. 'multipart/signed' or 'attachment'. */
  value: string;
  /** Lower-case parameter names; values unquoted, case kept. */
  params: Record<string, string>;
}

const utf8 = new TextDecoder('utf-8');

/**
 * Parses a header block (given as a latin1 view of its bytes, one char per byte). Lines that are
 * neither a field nor a continuation are skipped, as most mail readers do.
 */
export function parseHeaderBlock(block: string): HeaderField[] {
  const fields: HeaderField[] = [];
  const lines = block.split(/\r?\n/);
  let current: { name: string; value: string } | undefined;
  const flush = (): void => {
    if (current) fields.push({ name: current.name, value: toUtf8(current.value.trim()) });
    current = undefined;
  };
  for (const line of lines) {
    if (/^[ \t]/.test(line)) {
      // RFC 5322 §2.2.3: unfolding removes the CRLF before the whitespace.
      if (current) current.value += line;
      continue;
    }
    flush();
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) continue;
    current = { name, value: line.slice(colon + 1) };
  }
  flush();
  return fields;
}

/** Reads a latin1 view of bytes as UTF-8 when it is that (RFC 6532 headers); otherwise keeps it. */
function toUtf8(latin1: string): string {
  if (!/[\x80-\xff]/.test(latin1)) return latin1;
  const bytes = Uint8Array.from(latin1, (char) => char.charCodeAt(0) & 0xff);
  return utf8.decode(bytes);
}

export function headerValue(fields: readonly HeaderField[], name: string): string | undefined {
  return fields.find((field) => field.name === name)?.value;
}

export function headerValues(fields: readonly HeaderField[], name: string): string[] {
  return fields.filter((field) => field.name === name).map((field) => field.value);
}

/** RFC 2047 encoded words decoded (Subject, display names). */
export function decodeHeaderText(value: string): string {
  try {
    return decodeWords(value);
  } catch {
    return value;
  }
}

/**
 * Splits `type/subtype; a=b; c="d;e"` (RFC 2045 §5.1): tokens and quoted strings, backslash escapes
 * inside quotes, comments outside quotes dropped. RFC 2231 continuations (`name*0`, `name*1`) are
 * joined and extended values (`name*=utf-8''…`) percent-decoded as UTF-8.
 */
export function parseParameterized(raw: string | undefined): ParameterizedValue {
  if (raw === undefined) return { value: '', params: {} };
  const text = stripComments(raw);
  const firstSemicolon = text.indexOf(';');
  const value = (firstSemicolon < 0 ? text : text.slice(0, firstSemicolon)).replace(/"/g, '').trim().toLowerCase();
  const params: Record<string, string> = {};
  const continued: Record<string, string[]> = {};
  let index = firstSemicolon < 0 ? text.length : firstSemicolon + 1;
  while (index < text.length) {
    const equals = text.indexOf('=', index);
    const semicolon = text.indexOf(';', index);
    if (equals < 0) break;
    if (semicolon >= 0 && semicolon < equals) {
      index = semicolon + 1; // a parameter without '=': skipped
      continue;
    }
    const name = text.slice(index, equals).trim().toLowerCase();
    index = equals + 1;
    while (text[index] === ' ' || text[index] === '\t') index++;
    let paramValue = '';
    if (text[index] === '"') {
      index++;
      while (index < text.length && text[index] !== '"') {
        if (text[index] === '\\' && index + 1 < text.length) index++;
        paramValue += text[index++];
      }
      index++; // the closing quote
      const next = text.indexOf(';', index);
      index = next < 0 ? text.length : next + 1;
    } else {
      const next = text.indexOf(';', index);
      paramValue = (next < 0 ? text.slice(index) : text.slice(index, next)).trim();
      index = next < 0 ? text.length : next + 1;
    }
    if (name === '') continue;
    const continuation = /^(.+?)\*(\d+)\*?$/.exec(name);
    if (continuation) {
      const [, base = '', position = '0'] = continuation;
      (continued[base] ??= [])[Math.min(Number(position), 64)] = paramValue;
    } else if (name.endsWith('*')) {
      params[name.slice(0, -1)] ??= decodeExtendedValue(paramValue);
    } else {
      params[name] = paramValue;
    }
  }
  for (const [name, pieces] of Object.entries(continued)) params[name] ??= decodeExtendedValue(pieces.join(''));
  return { value, params };
}

/** Removes RFC 5322 comments `( ... )` outside quoted strings (nested comments included). */
function stripComments(raw: string): string {
  if (!raw.includes('(')) return raw;
  let out = '';
  let quoted = false;
  let depth = 0;
  for (let index = 0; index < raw.length; index++) {
    const char = raw[index] as string;
    if (depth === 0 && char === '"' && raw[index - 1] !== '\\') quoted = !quoted;
    if (!quoted && char === '(') depth++;
    if (depth === 0) out += char;
    if (!quoted && char === ')' && depth > 0) depth--;
  }
  return out;
}

/** RFC 2231 §4 `charset'language'percent-encoded`, for ASCII/UTF-8 values; anything else is kept. */
function decodeExtendedValue(value: string): string {
  const match = /^([^']*)'[^']*'(.*)$/.exec(value);
  if (!match) return value;
  try {
    return decodeURIComponent(match[2] ?? '');
  } catch {
    return match[2] ?? '';
  }
}
