/**
 * What a key is good for, and why not. Every answer here comes from signatures that OpenPGP.js has
 * verified: a subkey without a valid binding signature (RFC 9580 §5.2.1, type 0x18), or a signing
 * subkey without its embedded back-signature (0x19), never counts, and a user ID without a valid
 * self-certification is not listed.
 */
import { config as openpgpConfig, enums, type AlgorithmInfo } from 'openpgp';
import { SigillError, type SigillErrorCode } from '../errors.ts';
import { formatFingerprint } from './fingerprint.ts';
import type { AnyKey } from './internal.ts';

export interface KeyStatus {
  /** Lower-case hex, 40 digits (v4) or 64 (v6). */
  fingerprint: string;
  /** Lower-case hex, 16 digits. */
  keyID: string;
  version: 4 | 6;
  /** User IDs with a valid, unrevoked self-certification; the primary one first. */
  userIDs: string[];
  primaryUserID?: string;
  /** Primary key algorithm in GnuPG's words: `ed25519`, `rsa3072`, `ecdsa-nistP256` ... */
  algorithm: string;
  created: Date;
  /** Absent when the key does not expire (or its self-signature cannot be verified). */
  expires?: Date;
  expired: boolean;
  revoked: boolean;
  canEncrypt: boolean;
  canSign: boolean;
  /** Why the key is (partly) unusable; empty for a fully usable key. */
  problems: SigillErrorCode[];
}

export interface KeyDateOptions {
  /** The moment to judge the key at (default: now). */
  date?: Date;
}

export function algorithmName(info: AlgorithmInfo): string {
  if (info.algorithm.startsWith('rsa')) return `rsa${info.bits ?? ''}`;
  if (info.curve === 'ed25519Legacy') return 'ed25519';
  if (info.curve === 'curve25519Legacy') return 'cv25519';
  if (info.curve !== undefined) return `${info.algorithm}-${info.curve}`;
  return info.algorithm;
}

/** Algorithms OpenPGP.js's configuration refuses to use (short RSA, DSA, ElGamal, secp256k1 ...). */
function isRejectedAlgorithm(key: AnyKey): boolean {
  const info = key.getAlgorithmInfo();
  if (info.algorithm.startsWith('rsa') && (info.bits ?? 0) < openpgpConfig.minRSABits) return true;
  if (openpgpConfig.rejectPublicKeyAlgorithms.has(key.keyPacket.algorithm)) return true;
  // enums.curve's values are the curve names themselves
  return info.curve !== undefined && openpgpConfig.rejectCurves.has(info.curve as enums.curve);
}

async function validUserIDs(key: AnyKey, date: Date): Promise<string[]> {
  const valid: string[] = [];
  for (const user of key.users) {
    if (user.userID === null) continue;
    try {
      await user.verify(date);
      valid.push(user.userID.userID);
    } catch {
      // unbound, forged or revoked user IDs are not shown as belonging to the key
    }
  }
  return valid;
}

async function primaryUserIDOf(key: AnyKey, date: Date): Promise<string | undefined> {
  try {
    return (await key.getPrimaryUser(date)).user.userID?.userID;
  } catch {
    return undefined;
  }
}

async function succeeds(operation: () => Promise<unknown>): Promise<boolean> {
  try {
    await operation();
    return true;
  } catch {
    return false;
  }
}

/** Reports a key's identity, validity and capabilities at `options.date` (default now). */
export async function keyStatus(key: AnyKey, options: KeyDateOptions = {}): Promise<KeyStatus> {
  const date = options.date ?? new Date();
  const version = key.keyPacket.version === 6 ? 6 : 4;
  const created = key.getCreationTime();
  const revoked = await key.isRevoked(undefined, undefined, date).catch(() => false);
  const expiration = await key.getExpirationTime().catch(() => null);
  const expires = expiration instanceof Date ? expiration : undefined;
  const expired = expires !== undefined && expires.getTime() <= date.getTime();
  const primaryValid = await succeeds(() => key.verifyPrimaryKey(date));

  const problems: SigillErrorCode[] = [];
  if (revoked) problems.push('KEY_REVOKED');
  if (expired) problems.push('KEY_EXPIRED');
  if (!primaryValid && !revoked && !expired) problems.push('KEY_INVALID');
  const rejected = isRejectedAlgorithm(key);
  if (rejected) problems.push('UNSUPPORTED_ALGORITHM');

  const usable = primaryValid && !rejected;
  const canEncrypt = usable && (await succeeds(() => key.getEncryptionKey(undefined, date)));
  const canSign = usable && (await succeeds(() => key.getSigningKey(undefined, date)));
  if (usable && !canEncrypt) problems.push('NO_ENCRYPTION_KEY');
  if (usable && !canSign) problems.push('NO_SIGNING_KEY');

  const primaryUserID = await primaryUserIDOf(key, date);
  const userIDs = await validUserIDs(key, date);
  if (primaryUserID !== undefined && userIDs.includes(primaryUserID)) {
    userIDs.splice(userIDs.indexOf(primaryUserID), 1);
    userIDs.unshift(primaryUserID);
  }
  return {
    fingerprint: key.getFingerprint(),
    keyID: key.getKeyID().toHex(),
    version,
    userIDs,
    ...(primaryUserID === undefined ? {} : { primaryUserID }),
    algorithm: algorithmName(key.getAlgorithmInfo()),
    created,
    ...(expires === undefined ? {} : { expires }),
    expired,
    revoked,
    canEncrypt,
    canSign,
    problems,
  };
}

/** "Alice <alice@example.org>, 1234 ABCD ..." for error details. */
export function describeKey(status: Pick<KeyStatus, 'fingerprint' | 'primaryUserID'>): string {
  const fingerprint = formatFingerprint(status.fingerprint);
  return status.primaryUserID === undefined ? fingerprint : `${status.primaryUserID}, ${fingerprint}`;
}

const blockingProblems: readonly SigillErrorCode[] = ['KEY_REVOKED', 'KEY_EXPIRED', 'KEY_INVALID', 'UNSUPPORTED_ALGORITHM'];

/**
 * Throws unless `key` can be used for `purpose` at `options.date`: KEY_REVOKED, KEY_EXPIRED,
 * KEY_INVALID (no valid self-signature), UNSUPPORTED_ALGORITHM, NO_ENCRYPTION_KEY or NO_SIGNING_KEY
 * (no subkey with a valid binding signature and the right key flags, RFC 9580 §5.2.3.29).
 */
export async function assertUsable(key: AnyKey, purpose: 'encrypt' | 'sign', options: KeyDateOptions = {}): Promise<void> {
  const status = await keyStatus(key, options);
  const blocking = status.problems.find((code) => blockingProblems.includes(code));
  if (blocking !== undefined) {
    throw new SigillError(blocking, { detail: describeKey(status) });
  }
  if (purpose === 'encrypt' && !status.canEncrypt) {
    throw new SigillError('NO_ENCRYPTION_KEY', { detail: describeKey(status) });
  }
  if (purpose === 'sign' && !status.canSign) {
    throw new SigillError('NO_SIGNING_KEY', { detail: describeKey(status) });
  }
}

