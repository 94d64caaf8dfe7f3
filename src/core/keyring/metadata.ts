/**
 * Turning a parsed key into the metadata the keyring keeps next to it.
 */
import { addressOfUserID, algorithmName, keyStatus } from '../keys/index.ts';
import type { AnyKey } from '../keys/index.ts';
import type { Acceptance, KeyRecord, KeyUseStatus } from './types.ts';

/** Normalises an address for lookups: trimmed, without angle brackets, lower-case. */
export function normaliseAddress(address: string): string {
  return address.trim().replace(/^<|>$/g, '').toLowerCase();
}

function minDate(a: Date | undefined, b: Date | undefined): Date | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a.getTime() <= b.getTime() ? a : b;
}

/** When the encryption key OpenPGP.js would pick at `date` stops being usable. */
async function encryptionExpiry(key: AnyKey, date: Date, keyExpires: Date | undefined): Promise<Date | undefined> {
  try {
    const component = await key.getEncryptionKey(undefined, date);
    if (component === key) return keyExpires;
    // A Subkey: its binding signature may set an earlier expiry than the primary key's.
    const subkeyExpires = await (component as Extract<typeof component, { mainKey: unknown }>).getExpirationTime(date);
    return minDate(keyExpires, subkeyExpires instanceof Date ? subkeyExpires : undefined);
  } catch {
    return undefined;
  }
}

export interface RecordOptions {
  acceptance: Acceptance;
  now: Date;
  /** The record of the same key already stored: what the user decided about it is kept. */
  previous?: KeyRecord;
}

/** Checks `key` at `options.now` (every signature verified by OpenPGP.js) and describes it for storage. */
export async function recordFromKey(key: AnyKey, options: RecordOptions): Promise<KeyRecord> {
  const status = await keyStatus(key, { date: options.now });
  const addresses = [...new Set(status.userIDs.map(addressOfUserID).filter((address): address is string => address !== undefined))];
  const encryptionExpires = status.canEncrypt ? await encryptionExpiry(key, options.now, status.expires) : undefined;
  const previous = options.previous;
  const record: KeyRecord = {
    fingerprint: status.fingerprint,
    keyID: status.keyID,
    version: status.version,
    secret: key.isPrivate(),
    userIDs: status.userIDs,
    addresses,
    algorithms: [status.algorithm, ...key.getSubkeys().map((subkey) => algorithmName(subkey.getAlgorithmInfo()))],
    created: status.created.toISOString(),
    revoked: status.revoked,
    canEncrypt: status.canEncrypt,
    canSign: status.canSign,
    problems: status.problems,
    acceptance: previous?.acceptance ?? options.acceptance,
    added: previous?.added ?? options.now.toISOString(),
    checked: options.now.toISOString(),
  };
  if (status.primaryUserID !== undefined) record.primaryUserID = status.primaryUserID;
  if (status.expires !== undefined) record.expires = status.expires.toISOString();
  if (encryptionExpires !== undefined) record.encryptionExpires = encryptionExpires.toISOString();
  if (previous?.backedUp !== undefined) record.backedUp = previous.backedUp;
  if (previous?.revocationCertificate !== undefined) record.revocationCertificate = previous.revocationCertificate;
  return record;
}

/**
 * Whether the key of `record` can be used to encrypt at `now`, judged from its metadata alone: the
 * stored check plus the dates, which are the only thing that changes without a new import.
 */
export function keyUseStatus(record: KeyRecord, now: Date): KeyUseStatus {
  const time = now.getTime();
  if (record.revoked || record.problems.includes('KEY_REVOKED')) return 'revoked';
  if (record.problems.includes('KEY_EXPIRED') || (record.expires !== undefined && Date.parse(record.expires) <= time)) return 'expired';
  if (record.problems.includes('KEY_INVALID') || record.problems.includes('UNSUPPORTED_ALGORITHM')) return 'invalid';
  if (!record.canEncrypt) return 'no-encryption-key';
  if (record.encryptionExpires !== undefined && Date.parse(record.encryptionExpires) <= time) return 'expired';
  if (record.acceptance === 'rejected') return 'rejected';
  if (record.acceptance === 'undecided') return 'not-accepted';
  return 'usable';
}
