/**
 * Autocrypt Level 1 headers of received mail (https://autocrypt.org/level1.html, §2.1 "The
 * Autocrypt Header", §2.3 "Internal state storage"). What is taken from a message:
 * - `Autocrypt:` fields only (not `Autocrypt-Gossip`), unfolded (RFC 5322 §2.2.3);
 * - attributes `addr` (required, must be the From address), `keydata` (required, base64 of a binary
 *   key; white space ignored) and `prefer-encrypt` (`mutual`; any other value is "nopreference");
 *   attributes starting with `_` are non-critical and skipped; any other attribute makes the header
 *   invalid;
 * - invalid headers are ignored with a reason; more than one valid header makes all of them
 *   invalid (§2.3: treated as an error, all discarded).
 * The key becomes an undecided candidate like any other discovered key.
 */
import { SigillError } from '../errors.ts';
import { parseAddress } from './address.ts';
import { examineKeyData, toProblem } from './candidates.ts';
import { DEFAULT_MAX_KEY_BYTES, type DiscoveryResult, type RejectedKey } from './types.ts';

export interface AutocryptHeader {
  addr: string;
  preferEncrypt: 'mutual' | 'nopreference';
  keydata: Uint8Array;
}

export interface AutocryptParseResult {
  /** The one valid header, if there is exactly one. */
  header?: AutocryptHeader;
  /** Each header not used, with why. */
  ignored: { header: string; reason: string }[];
}

export interface AutocryptInput {
  /** The message's header section as text (up to the first empty line), or the `Autocrypt` field values. */
  headers: string | readonly string[];
  /** The From address (`Name <addr>` or `addr`). */
  from: string;
  maxKeyBytes?: number;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The unfolded values of the `Autocrypt:` fields in a header section. */
export function autocryptFieldValues(headerSection: string): string[] {
  const end = headerSection.search(/\r?\n\r?\n/);
  const section = end === -1 ? headerSection : headerSection.slice(0, end);
  const unfolded = section.replace(/\r?\n(?=[ \t])/g, '');
  const values: string[] = [];
  for (const line of unfolded.split(/\r?\n/)) {
    const match = /^autocrypt[ \t]*:(.*)$/i.exec(line);
    if (match !== null) values.push((match[1] ?? '').trim());
  }
  return values;
}

function decodeBase64(text: string, maxBytes: number): Uint8Array {
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !BASE64.test(compact)) {
    throw new SigillError('BAD_INPUT', { detail: 'keydata is not valid base64' });
  }
  const padding = compact.endsWith('==') ? 2 : compact.endsWith('=') ? 1 : 0;
  if ((compact.length / 4) * 3 - padding > maxBytes) throw new SigillError('TOO_LARGE', { detail: `keydata is larger than ${maxBytes} bytes` });
  const binary = atob(compact);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

/** Parses one header value; throws BAD_INPUT (or TOO_LARGE) with the reason it is invalid. */
export function parseAutocryptHeader(value: string, maxKeyBytes = DEFAULT_MAX_KEY_BYTES): AutocryptHeader {
  const attributes = new Map<string, string>();
  for (const part of value.split(';')) {
    if (part.trim() === '') continue;
    const equals = part.indexOf('=');
    if (equals === -1) throw new SigillError('BAD_INPUT', { detail: `attribute without "=": ${JSON.stringify(part.trim().slice(0, 40))}` });
    const name = part.slice(0, equals).trim().toLowerCase();
    if (name.startsWith('_')) continue; // non-critical (§2.1)
    if (!['addr', 'prefer-encrypt', 'keydata'].includes(name)) throw new SigillError('BAD_INPUT', { detail: `unknown critical attribute ${JSON.stringify(name)}` });
    if (attributes.has(name)) throw new SigillError('BAD_INPUT', { detail: `attribute ${name} given twice` });
    attributes.set(name, part.slice(equals + 1).trim());
  }
  const addr = attributes.get('addr');
  if (addr === undefined || addr === '') throw new SigillError('BAD_INPUT', { detail: 'no addr attribute' });
  const keydata = attributes.get('keydata');
  if (keydata === undefined) throw new SigillError('BAD_INPUT', { detail: 'no keydata attribute' });
  return {
    addr: parseAddress(addr).address,
    preferEncrypt: attributes.get('prefer-encrypt')?.toLowerCase() === 'mutual' ? 'mutual' : 'nopreference',
    keydata: decodeBase64(keydata, maxKeyBytes),
  };
}

function abbreviate(value: string): string {
  return value.length > 60 ? `${value.slice(0, 57)}...` : value;
}

/** Picks the one valid Autocrypt header whose addr is the From address (§2.3), or none, with reasons. */
export function parseAutocryptHeaders(input: AutocryptInput): AutocryptParseResult {
  const from = parseAddress(input.from).address;
  const values = typeof input.headers === 'string' ? autocryptFieldValues(input.headers) : [...input.headers];
  const valid: { value: string; header: AutocryptHeader }[] = [];
  const ignored: AutocryptParseResult['ignored'] = [];
  for (const value of values) {
    try {
      const header = parseAutocryptHeader(value, input.maxKeyBytes);
      if (header.addr !== from) {
        ignored.push({ header: abbreviate(value), reason: `addr ${header.addr} is not the From address ${from}` });
        continue;
      }
      valid.push({ value, header });
    } catch (error) {
      ignored.push({ header: abbreviate(value), reason: error instanceof Error ? error.message : String(error) });
    }
  }
  if (valid.length > 1) {
    for (const { value } of valid) ignored.push({ header: abbreviate(value), reason: `one of ${valid.length} valid Autocrypt headers: all are discarded` });
    return { ignored };
  }
  const only = valid[0];
  return only === undefined ? { ignored } : { header: only.header, ignored };
}

/**
 * The key of a received message's Autocrypt header as a candidate (source `autocrypt`), judged like
 * every discovered key; ignored headers come back as rejections without fingerprint.
 */
export async function autocryptCandidates(input: AutocryptInput & { now?: () => Date }): Promise<DiscoveryResult> {
  const parsed = parseAutocryptHeaders(input);
  const address = parseAddress(input.from).address;
  const rejected: RejectedKey[] = parsed.ignored.map(({ header, reason }) => ({
    source: 'autocrypt',
    address,
    reason: toProblem(new SigillError('BAD_INPUT', { detail: `Autocrypt header ignored (${reason}): ${header}` })),
  }));
  const result: DiscoveryResult = { source: 'autocrypt', address, keys: [], rejected, attempts: [] };
  if (parsed.header === undefined) return result;
  const examined = await examineKeyData(parsed.header.keydata, {
    source: 'autocrypt',
    address,
    origin: 'Autocrypt header',
    now: (input.now ?? (() => new Date()))(),
    preferEncrypt: parsed.header.preferEncrypt,
  });
  result.keys = examined.keys;
  result.rejected.push(...examined.rejected);
  return result;
}
