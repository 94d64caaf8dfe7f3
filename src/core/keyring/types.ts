/**
 * What the keyring stores about each key and how it answers "can I encrypt to this address?".
 */
import type { SigillErrorCode } from '../errors.ts';

/**
 * How far the user relies on a key (the model of Thunderbird's own OpenPGP):
 * - `undecided`: imported or discovered, not yet used for encryption;
 * - `rejected`: the user said it is not the person's key; never used;
 * - `accepted`: the user accepted it for its addresses;
 * - `verified`: accepted after comparing the fingerprint with its owner.
 */
export type Acceptance = 'undecided' | 'rejected' | 'accepted' | 'verified';
export const acceptanceStates: readonly Acceptance[] = ['undecided', 'rejected', 'accepted', 'verified'];

/**
 * The per-key metadata kept next to the armored key, so that loading and lookups never parse keys.
 * Dates are ISO 8601 strings (storage holds JSON); fingerprints lower-case hex.
 */
export interface KeyRecord {
  fingerprint: string;
  keyID: string;
  version: 4 | 6;
  /** True for the user's own keys: the stored key holds (passphrase-protected) secret material. */
  secret: boolean;
  /** User IDs with a valid self-certification, primary first. */
  userIDs: string[];
  primaryUserID?: string;
  /** Lower-case addresses taken from `userIDs`. */
  addresses: string[];
  /** Primary key algorithm then subkey algorithms, GnuPG's words (`ed25519`, `cv25519`, `rsa3072` ...). */
  algorithms: string[];
  created: string;
  /** When the key as a whole expires; absent when it does not. */
  expires?: string;
  /** When the encryption subkey chosen at the last check stops being usable (its own or the key's expiry). */
  encryptionExpires?: string;
  revoked: boolean;
  /** A valid encryption subkey existed when the key was last checked. */
  canEncrypt: boolean;
  canSign: boolean;
  /** The problems found when the key was last checked (`KeyStatus.problems`). */
  problems: SigillErrorCode[];
  acceptance: Acceptance;
  /** Own keys: the user saved a backup (protected secret key and revocation certificate). */
  backedUp?: boolean;
  /** Own keys: the armored revocation certificate made at generation, if known. */
  revocationCertificate?: string;
  /** When the key entered this keyring. */
  added: string;
  /** When the key was last checked (the moment `problems`, `canEncrypt` ... describe). */
  checked: string;
}

/**
 * Why a key can or cannot be used to encrypt to an address now, in the order they are reported:
 * a revoked key is "revoked" even if it also expired.
 */
export type KeyUseStatus =
  | 'usable'
  | 'revoked'
  | 'expired'
  | 'invalid'
  | 'no-encryption-key'
  | 'rejected'
  | 'not-accepted';

/** The answer for an address: `missing` when no key carries it at all. */
export type AddressKeyStatus = KeyUseStatus | 'missing';

/** A person-readable sentence for each status (the extension shows its own translated strings). */
export const addressStatusMessages: Record<AddressKeyStatus, string> = {
  usable: 'An accepted key can be used.',
  missing: 'No key is known for this address.',
  revoked: 'The only key for this address has been revoked by its owner.',
  expired: 'The key for this address has expired.',
  invalid: 'The key for this address is not valid (broken self-signature or an algorithm that is refused).',
  'no-encryption-key': 'The key for this address can only sign; it has no encryption subkey.',
  rejected: 'You rejected the key for this address.',
  'not-accepted': 'The key for this address has not been accepted yet.',
};

export interface KeyCandidate {
  record: KeyRecord;
  status: KeyUseStatus;
}

export interface AddressLookup {
  address: string;
  /** `usable` when at least one key is; otherwise the reason of the most promising key. */
  status: AddressKeyStatus;
  message: string;
  /** Keys that can be used to encrypt to the address now (accepted or verified, valid, not expired). */
  usable: KeyRecord[];
  /** Every key carrying the address, each with its own status, usable ones first. */
  candidates: KeyCandidate[];
}
