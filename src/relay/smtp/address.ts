/**
 * Envelope address policy shared by both SMTP listeners.
 *
 * smtp-server has already removed a source route (`@a,@b:user@d` → `user@d`, RFC 5321 §4.1.2 and
 * appendix C: accepted and ignored) and refused C0/C1 controls; this module checks every character
 * again (a header line is built from these addresses) and decides the rest conservatively: only
 * dot-atom local parts, only domain names (no address literals, no trailing dot), and `%` / `!` in
 * a local part of ours are refused instead of being interpreted, so that `user%victim.example@our.domain` or `victim!user@our.domain` can never turn us into a relay.
 */
import { domainToASCII } from 'node:url';
import { isDomainName } from '../config.ts';

/** atext of RFC 5322 §3.2.3, plus (with SMTPUTF8, RFC 6531 §3.3) any non-ASCII character. */
const ASCII_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$/;
const UTF8_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\u{10FFFF}-]+$/u;

/**
 * Never in an address, whatever SMTPUTF8 allows: control characters of every kind (C0, DEL, C1, as
 * \p{Cc}), line and paragraph separators and other spaces (\p{Z}: U+2028/U+2029 end a line for some
 * software), lone surrogates, the invisible and bidirectional formatting characters that make an
 * address look like another one (ZWNJ/ZWJ stay: some scripts need them), the BOM, and U+FFFD, which
 * is what malformed UTF-8 decodes to (RFC 6531 §3.3 requires well-formed UTF-8).
 */
const FORBIDDEN_CHARACTER = /[\p{Cc}\p{Z}\p{Cs}\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\uFFFD]/u;

export interface ParsedAddress {
  /** `local@domain` with the domain lower-cased ASCII (IDNs as A-labels). */
  address: string;
  local: string;
  domain: string;
}

export type AddressResult = { ok: true; value: ParsedAddress } | { ok: false; reason: string };

/** Parses an envelope address (without angle brackets) the way we are willing to route it. */
export function parseEnvelopeAddress(raw: string, options: { utf8: boolean }): AddressResult {
  if (raw.length > 254) return { ok: false, reason: 'address too long' };
  if (FORBIDDEN_CHARACTER.test(raw)) return { ok: false, reason: 'control, separator or invisible character in address' };
  const at = raw.lastIndexOf('@');
  if (at <= 0 || at === raw.length - 1) return { ok: false, reason: 'not local-part@domain' };
  const local = raw.slice(0, at);
  const rawDomain = raw.slice(at + 1);
  if (local.length > 64) return { ok: false, reason: 'local part too long' };
  if (local.startsWith('"')) return { ok: false, reason: 'quoted local parts are not accepted' };
  const atom = options.utf8 ? UTF8_ATOM : ASCII_ATOM;
  if (!local.split('.').every((part) => atom.test(part))) return { ok: false, reason: 'local part is not a dot-atom' };
  if (rawDomain.startsWith('[')) return { ok: false, reason: 'address literals are not accepted' };
  if (rawDomain.endsWith('.')) return { ok: false, reason: 'trailing dot in domain' };
  // eslint-disable-next-line no-control-regex -- non-ASCII domains need SMTPUTF8 (RFC 6531 §3.2)
  if (!options.utf8 && /[^\x00-\x7f]/.test(rawDomain)) return { ok: false, reason: 'non-ASCII domain without SMTPUTF8' };
  const domain = domainToASCII(rawDomain).toLowerCase();
  if (!isDomainName(domain)) return { ok: false, reason: 'not a domain name' };
  return { ok: true, value: { address: `${local}@${domain}`, local, domain } };
}

/** Local parts containing a routing character that some MTAs still interpret (RFC 5321 §3.6.1, §F.4). */
export function hasRoutingHack(local: string): boolean {
  return /[%!@]/.test(local);
}
