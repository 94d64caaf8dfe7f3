/**
 * Mail addresses as key discovery needs them, and whether a user ID names one.
 */
import { SigillError } from '../errors.ts';

// RFC 5322 §3.4 angle-addr; the display name before it may be anything.
const ANGLE_ADDRESS = /<([^<>]*)>\s*$/;
// Deliberately simple, as in outgoing/address.ts: one @, no spaces, controls or angle brackets.
const ADDRESS = /^([^\s@<>\p{Cc}]+)@([^\s@<>\p{Cc}]+)$/u;

export interface ParsedAddress {
  /** The whole address, lower-cased: what keys are stored and matched by. */
  address: string;
  /** The local part as written (WKD sends it unchanged in `?l=`). */
  localPart: string;
  /** The domain, lower-cased. */
  domain: string;
}

/** Accepts `bob@example.org` or `Bob <bob@example.org>`; throws BAD_INPUT for anything else. */
export function parseAddress(mailbox: string): ParsedAddress {
  const trimmed = typeof mailbox === 'string' ? mailbox.trim() : '';
  const angle = ANGLE_ADDRESS.exec(trimmed);
  const candidate = (angle ? (angle[1] ?? '') : trimmed).trim();
  const match = ADDRESS.exec(candidate);
  if (match === null) throw new SigillError('BAD_INPUT', { detail: `not a mail address: ${JSON.stringify(mailbox)}` });
  const localPart = match[1] ?? '';
  const domain = (match[2] ?? '').toLowerCase();
  return { address: `${localPart.toLowerCase()}@${domain}`, localPart, domain };
}

/** The address a user ID names (`Name <addr>`, `<addr>` or a bare `addr`), lower-cased, or undefined. */
export function userIDAddress(userID: string): string | undefined {
  try {
    return parseAddress(userID).address;
  } catch {
    return undefined;
  }
}

/** True when `userID` names exactly `address` (compared lower-cased). */
export function userIDMatchesAddress(userID: string, address: string): boolean {
  return userIDAddress(userID) === address.toLowerCase();
}
