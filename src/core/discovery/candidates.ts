/**
 * From key data received for an address (a WKD or VKS answer, an Autocrypt header, an attached key
 * file) to candidates: every key is judged on its own (KEY-BAD) and what is kept of it is only what
 * concerns the address and has been verified:
 * - only the user IDs that name the address (draft-koch-openpgp-webkey-service §3.1: the key must
 *   carry a user ID with the address; other user IDs are none of this source's business);
 * - only subkeys with a valid binding signature (RFC 9580 §5.2.1, 0x18), and signing subkeys only
 *   with their embedded back-signature (0x19): a grafted subkey never reaches the keyring.
 * A key is refused (with the reason) when no valid user ID names the address, when it is revoked,
 * expired, invalid or of a refused algorithm, or when it cannot encrypt.
 */
import { enums, readKey, type PublicKey, type Subkey } from 'openpgp';
import { SigillError, isSigillError } from '../errors.ts';
import { assertUsable, formatFingerprint, keyStatus, readCertificates } from '../keys/index.ts';
import { userIDMatchesAddress } from './address.ts';
import type { DiscoveredKey, DiscoveryProblem, DiscoverySourceName, RejectedKey } from './types.ts';

export interface ExamineContext {
  source: DiscoverySourceName;
  /** Lower-cased address the keys are for. */
  address: string;
  /** URL, header or file name, for people. */
  origin: string;
  now: Date;
  preferEncrypt?: 'mutual' | 'nopreference';
}

/**
 * Keys judged per answer. A WKD answer legitimately holds a few (a new key beside revoked ones); each
 * key costs signature checks, so a 256 KiB answer packed with small keys is not worked through whole.
 */
export const MAX_KEYS_PER_ANSWER = 16;

export interface ExaminedKeys {
  keys: DiscoveredKey[];
  rejected: RejectedKey[];
}

export function toProblem(error: unknown): DiscoveryProblem {
  if (error instanceof SigillError) return { code: error.code, message: error.message };
  const wrapped = new SigillError('INTERNAL', { detail: error instanceof Error ? error.message : String(error), cause: error });
  return { code: wrapped.code, message: wrapped.message };
}

/** Whether a subkey carries a valid binding signature (revoked or expired ones still count: they tell the keyring so). */
async function hasValidBinding(subkey: Subkey, date: Date): Promise<boolean> {
  let binding;
  try {
    binding = await subkey.verify(date);
  } catch {
    // Revoked or expired at `date`, or no valid binding signature at all: only the last is dropped.
    return (await subkey.getExpirationTime(date).catch(() => null)) !== null;
  }
  const flags = binding.keyFlags?.[0] ?? 0;
  if ((flags & (enums.keyFlags.signData | enums.keyFlags.certifyKeys)) === 0) return true;
  // A signing subkey must sign the primary key back (RFC 9580 §5.2.1, 0x19), or anyone could claim it.
  const backSignature = binding.embeddedSignature;
  if (backSignature === null || backSignature === undefined) return false;
  const primary = subkey.mainKey.keyPacket;
  return backSignature
    .verify(subkey.keyPacket, enums.signature.keyBinding, { key: primary, bind: subkey.keyPacket }, date)
    .then(() => true)
    .catch(() => false);
}

/** A copy of `certificate` with only the user IDs naming `address` and only properly bound subkeys. */
async function keepWhatConcernsAddress(certificate: PublicKey, address: string, date: Date): Promise<{ copy: PublicKey; notes: string[]; otherUserIDs: string[] }> {
  const copy = await readKey({ binaryKey: certificate.write() });
  const notes: string[] = [];
  const otherUserIDs: string[] = [];
  const users = copy.users.filter((user) => {
    if (user.userID === null) return false; // user attributes (photos) are never needed
    if (userIDMatchesAddress(user.userID.userID, address)) return true;
    otherUserIDs.push(user.userID.userID);
    return false;
  });
  if (otherUserIDs.length > 0) notes.push(`${otherUserIDs.length} user ID(s) for other addresses left out`);
  copy.users = users;
  const subkeys: Subkey[] = [];
  for (const subkey of copy.subkeys) {
    if (await hasValidBinding(subkey, date)) {
      subkeys.push(subkey);
    } else {
      notes.push(`subkey ${subkey.getKeyID().toHex()} dropped: no valid binding signature`);
    }
  }
  copy.subkeys = subkeys;
  return { copy, notes, otherUserIDs };
}

async function examineOne(certificate: PublicKey, context: ExamineContext): Promise<{ key?: DiscoveredKey; rejected?: RejectedKey }> {
  const fingerprint = certificate.getFingerprint();
  const reject = (reason: DiscoveryProblem, key?: DiscoveredKey): { rejected: RejectedKey } => ({
    rejected: { source: context.source, address: context.address, fingerprint, reason, ...(key === undefined ? {} : { key }) },
  });
  const { copy, notes, otherUserIDs } = await keepWhatConcernsAddress(certificate, context.address, context.now);
  if (copy.users.length === 0) {
    const found = otherUserIDs.length === 0 ? 'it has no user ID' : `its user IDs: ${otherUserIDs.map((id) => JSON.stringify(id)).join(', ')}`;
    return reject(toProblem(new SigillError('ADDRESS_NOT_IN_KEY', { detail: `${context.address} is not in key ${formatFingerprint(fingerprint)}; ${found}` })));
  }
  const status = await keyStatus(copy, { date: context.now });
  const discovered: DiscoveredKey = {
    source: context.source,
    address: context.address,
    certificate: copy.armor(),
    fingerprint,
    userIDs: status.userIDs,
    status,
    fetchedAt: context.now,
    origin: context.origin,
    notes,
    ...(context.preferEncrypt === undefined ? {} : { preferEncrypt: context.preferEncrypt }),
  };
  try {
    await assertUsable(copy, 'encrypt', { date: context.now });
  } catch (error) {
    const keepForRefresh = isSigillError(error, 'KEY_REVOKED') || isSigillError(error, 'KEY_EXPIRED');
    return reject(toProblem(error), keepForRefresh ? discovered : undefined);
  }
  if (status.userIDs.length === 0) {
    const detail = `the user ID for ${context.address} in key ${formatFingerprint(fingerprint)} has no valid self-signature`;
    return reject(toProblem(new SigillError('ADDRESS_NOT_IN_KEY', { detail })));
  }
  return { key: discovered };
}

/**
 * Judges every key in `data` (armored or binary; several keys allowed, as a WKD answer may hold an
 * old revoked key beside the new one). Unreadable data gives one rejection without fingerprint.
 */
export async function examineKeyData(data: Uint8Array | string, context: ExamineContext): Promise<ExaminedKeys> {
  let certificates: PublicKey[];
  try {
    certificates = await readCertificates(data);
  } catch (error) {
    return { keys: [], rejected: [{ source: context.source, address: context.address, reason: toProblem(error) }] };
  }
  const result: ExaminedKeys = { keys: [], rejected: [] };
  if (certificates.length > MAX_KEYS_PER_ANSWER) {
    const error = new SigillError('TOO_LARGE', { detail: `${certificates.length} keys in one answer; only the first ${MAX_KEYS_PER_ANSWER} are looked at` });
    result.rejected.push({ source: context.source, address: context.address, reason: toProblem(error) });
  }
  const seen = new Set<string>();
  for (const certificate of certificates.slice(0, MAX_KEYS_PER_ANSWER)) {
    const fingerprint = certificate.getFingerprint();
    if (seen.has(fingerprint)) continue;
    seen.add(fingerprint);
    try {
      const { key, rejected } = await examineOne(certificate, context);
      if (key !== undefined) result.keys.push(key);
      if (rejected !== undefined) result.rejected.push(rejected);
    } catch (error) {
      result.rejected.push({ source: context.source, address: context.address, fingerprint, reason: toProblem(error) });
    }
  }
  return result;
}
