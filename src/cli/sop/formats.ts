/**
 * The draft's small text formats (draft-dkg-openpgp-stateless-cli, section "Input String Types" /
 * "Output String Types"): DATE, PASSWORD, SESSIONKEY, VERIFICATIONS, MICALG.
 */
import { enums } from 'openpgp';
import { SigillError } from '../../core/index.ts';
import type { Verification } from '../../core/index.ts';

// ---- DATE ("Date" input type): ISO-8601, `now`, or `-` for the beginning / end of time.

/** undefined means unbounded (`-`). */
export function parseSopDate(value: string, option: string): Date | undefined {
  if (value === '-') return undefined;
  if (value === 'now') return new Date();
  // ISO-8601 basic format (20191029T121104Z) -> extended format, which Date.parse understands.
  const basic = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z|[+-]\d{2}:?\d{2})?)?$/.exec(value);
  const extended = basic
    ? `${basic[1]}-${basic[2]}-${basic[3]}` + (basic[4] ? `T${basic[4]}:${basic[5]}:${basic[6]}${basic[7] ?? 'Z'}` : '')
    : value;
  const milliseconds = Date.parse(extended);
  if (Number.isNaN(milliseconds)) throw new SigillError('BAD_INPUT', { detail: `${option}=${value} is not an ISO-8601 date, "now" or "-"` });
  return new Date(milliseconds);
}

/** ISO-8601 UTC with second precision, as in the draft's examples: 2019-10-29T18:36:49Z. */
export function formatSopDate(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---- PASSWORD ("Human-Readable Passwords" / "Consuming Passwords").

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function decodePassword(bytes: Uint8Array, option: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch (error) {
    throw new SigillError('PASSWORD_NOT_HUMAN_READABLE', { detail: option, cause: error });
  }
}

/**
 * A password that protects new material (generate-key, change-key-password --new-key-password,
 * encrypt --with-password): UTF-8 or PASSWORD_NOT_HUMAN_READABLE, trailing whitespace (typically the
 * newline of a password file) stripped.
 */
export function passwordForNewMaterial(bytes: Uint8Array, option: string): string {
  return decodePassword(bytes, option).replace(/\s+$/u, '');
}

/**
 * Candidates to try when unlocking (--with-key-password, decrypt --with-password): the password as
 * given and, when it differs, with trailing whitespace stripped, so a password written with a final
 * newline by another implementation still works.
 */
export function passwordCandidates(bytes: Uint8Array): string[] {
  let asGiven: string;
  try {
    asGiven = strictUtf8.decode(bytes);
  } catch {
    // Not UTF-8: the draft lets a consumer try it anyway; OpenPGP.js takes strings, so use latin1
    // (one char per byte) to keep every byte.
    return [String.fromCharCode(...bytes)];
  }
  const trimmed = asGiven.replace(/\s+$/u, '');
  return trimmed === asGiven ? [asGiven] : [asGiven, trimmed];
}

// ---- SESSIONKEY ("ALGONUM:HEXKEY", e.g. 9:FCA4...).

/** OpenPGP.js symmetric algorithm names <-> RFC 9580 §9.3 numbers. */
const symmetricAlgorithms: ReadonlyArray<readonly [string, number]> = Object.entries(enums.symmetric).filter(
  (entry): entry is [string, number] => typeof entry[1] === 'number',
);

export interface SopSessionKey {
  /** OpenPGP.js name of the symmetric algorithm, e.g. 'aes256'. */
  algorithm: string;
  data: Uint8Array;
}

export function parseSessionKey(text: string): SopSessionKey {
  const match = /^(\d+):([0-9A-Fa-f]*)$/.exec(text.trim());
  if (!match || (match[2] as string).length % 2 !== 0) throw new SigillError('BAD_INPUT', { detail: 'a session key is ALGONUM:HEXKEY' });
  const algorithmNumber = Number(match[1]);
  const algorithm = symmetricAlgorithms.find(([, number]) => number === algorithmNumber)?.[0];
  if (algorithm === undefined || algorithmNumber === 0) throw new SigillError('UNSUPPORTED_ALGORITHM', { detail: `symmetric algorithm ${algorithmNumber}` });
  const hex = match[2] as string;
  const data = new Uint8Array(hex.length / 2);
  for (let index = 0; index < data.length; index += 1) data[index] = Number.parseInt(hex.slice(index * 2, index * 2 + 2), 16);
  return { algorithm, data };
}

export function formatSessionKey(sessionKey: { algorithm: string | number | null; data: Uint8Array }): string {
  const { algorithm } = sessionKey;
  const algorithmNumber = typeof algorithm === 'number' ? algorithm : symmetricAlgorithms.find(([name]) => name === algorithm)?.[1];
  if (algorithmNumber === undefined) throw new SigillError('UNSUPPORTED_ALGORITHM', { detail: `symmetric algorithm ${String(algorithm)}` });
  const hex = Array.from(sessionKey.data, (byte) => byte.toString(16).padStart(2, '0')).join('').toUpperCase();
  return `${algorithmNumber}:${hex}\n`;
}

// ---- VERIFICATIONS: `2019-10-29T18:36:49Z FPR_SIGNING_KEY FPR_PRIMARY_KEY mode:binary [free text]`.

/** Fingerprints in the draft's form: upper-case hex, no spaces. */
export function sopFingerprint(fingerprint: string): string {
  return fingerprint.replace(/[\s:]/g, '').toUpperCase();
}

/** One line per good signature; bad or unknown-key signatures are not listed (section "verify"). */
export function formatVerifications(verifications: readonly Verification[]): string {
  return verifications
    .filter((verification) => verification.status === 'good')
    .map((verification) => {
      const signingKey = sopFingerprint(verification.signingKeyFingerprint);
      const primaryKey = sopFingerprint(verification.certificateFingerprint ?? verification.signingKeyFingerprint);
      const freeText = verification.userID ? ` ${verification.userID.replace(/[\r\n]+/g, ' ')}` : '';
      return `${formatSopDate(verification.created)} ${signingKey} ${primaryKey} mode:${verification.mode}${freeText}\n`;
    })
    .join('');
}
