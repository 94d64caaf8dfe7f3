/**
 * User ID validation. RFC 9580 §5.11 puts no restriction on a User ID packet's UTF-8 text, but a
 * mail tool shows user IDs to people and matches them against addresses, so Sigill refuses what
 * only serves to confuse: empty strings, control and bidirectional-override characters, broken
 * Unicode and malformed `Name <address>` forms.
 */
import { SigillError } from '../errors.ts';

/** OpenPGP.js's default `maxUserIDLength`: longer user IDs would not be read back. */
export const MAX_USER_ID_LENGTH = 5120;

// C0/C1 controls (CR/LF would split the ID in displays and headers) and the bidi controls that
// can make "Alice" read as someone else (U+202A..U+202E, U+2066..U+2069).
const FORBIDDEN_CHARACTERS = /[\p{Cc}\u202A-\u202E\u2066-\u2069]/u;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const NAME_ADDR = /^[^<>]*<([^<>]*)>$/;
const ADDRESS = /^[^\s@<>]+@[^\s@<>]+$/;

/** Throws BAD_USER_ID unless `userID` is acceptable; returns it unchanged otherwise. */
export function validateUserID(userID: string): string {
  if (typeof userID !== 'string' || userID.trim() === '') {
    throw new SigillError('BAD_USER_ID', { detail: 'a user ID must not be empty' });
  }
  if (userID.length > MAX_USER_ID_LENGTH) {
    throw new SigillError('BAD_USER_ID', { detail: `longer than ${MAX_USER_ID_LENGTH} characters` });
  }
  if (LONE_SURROGATE.test(userID)) {
    throw new SigillError('BAD_USER_ID', { detail: 'not valid Unicode text' });
  }
  if (FORBIDDEN_CHARACTERS.test(userID)) {
    throw new SigillError('BAD_USER_ID', { detail: 'contains control or text-direction characters' });
  }
  if (userID.includes('<') || userID.includes('>')) {
    const address = NAME_ADDR.exec(userID.trim())?.[1];
    if (address === undefined || !ADDRESS.test(address)) {
      throw new SigillError('BAD_USER_ID', { detail: `expected "Name <address@example.org>", got ${JSON.stringify(userID)}` });
    }
  }
  return userID;
}

/** Validates a list of user IDs (each once). */
export function validateUserIDs(userIDs: readonly string[]): string[] {
  if (!Array.isArray(userIDs)) {
    throw new SigillError('BAD_USER_ID', { detail: 'user IDs must be a list of strings' });
  }
  const seen = new Set<string>();
  for (const userID of userIDs) {
    validateUserID(userID);
    if (seen.has(userID)) {
      throw new SigillError('BAD_USER_ID', { detail: `${JSON.stringify(userID)} is given twice` });
    }
    seen.add(userID);
  }
  return [...userIDs];
}

const ANGLE_ADDRESS = /<([^<>\s]+@[^<>\s]+)>\s*$/;
const BARE_ADDRESS = /^\s*([^<>\s]+@[^<>\s]+)\s*$/;

/**
 * The address of a user ID, lower-cased: `Name <a@b>` or a bare `a@b`; undefined when there is none.
 * Lower-casing the local part too is what mail users expect, although RFC 5321 §2.4 lets servers
 * distinguish case there.
 */
export function addressOfUserID(userID: string): string | undefined {
  const match = ANGLE_ADDRESS.exec(userID) ?? BARE_ADDRESS.exec(userID);
  return match?.[1]?.toLowerCase();
}
