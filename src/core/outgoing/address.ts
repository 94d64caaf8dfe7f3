/**
 * Recipient strings as a mail client hands them over (`Bob <bob@example.org>`, `bob@example.org`,
 * `"Smith, Bob" <bob@example.org>`) reduced to the address that keys are looked up by.
 */
import { SigillError } from '../errors.ts';

// RFC 5322 §3.4 angle-addr inside a name-addr; the display name may be quoted and contain anything.
const ANGLE_ADDRESS = /<([^<>]*)>\s*$/;
// Deliberately simple: one @, no spaces, controls or angle brackets. Keys are matched on this string.
const ADDRESS = /^[^\s@<>\p{Cc}]+@[^\s@<>\p{Cc}]+$/u;

/**
 * The lower-cased address of one mailbox string. Lower-casing the local part is what every OpenPGP
 * key lookup does in practice (WKD hashes the lower-cased local part, draft-koch-openpgp-webkey-service §3.1).
 * Throws BAD_INPUT for anything that is not one address.
 */
export function mailboxAddress(mailbox: string): string {
  const trimmed = mailbox.trim();
  const angle = ANGLE_ADDRESS.exec(trimmed);
  const address = (angle ? angle[1] ?? '' : trimmed).trim().toLowerCase();
  if (!ADDRESS.test(address)) throw new SigillError('BAD_INPUT', { detail: `not a mail address: ${JSON.stringify(mailbox)}` });
  return address;
}
