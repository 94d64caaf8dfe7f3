/**
 * Helpers shared by the key modules; not part of the public API.
 */
import { enums, readPrivateKey, SecretKeyPacket, type PartialConfig, type PrivateKey, type PublicKey } from 'openpgp';
import { SigillError } from '../errors.ts';
import { clearPrivateParams } from '../openpgp-internals.ts';

export type AnyKey = PublicKey | PrivateKey;

/** The message of whatever was thrown, for `detail` fields. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The secret key packets of a key (primary and subkeys) that really carry secret material: GnuPG
 * "dummy" stubs (e.g. an offline primary key) are left out. `SecretSubkeyPacket` extends `SecretKeyPacket`.
 */
export function secretKeyPackets(key: PrivateKey): SecretKeyPacket[] {
  return key
    .getKeys()
    .map((component) => component.keyPacket)
    .filter((packet): packet is SecretKeyPacket => packet instanceof SecretKeyPacket && !packet.isDummy());
}

/** True when every secret key packet is decrypted. */
export function isUnlocked(key: PrivateKey): boolean {
  return secretKeyPackets(key).every((packet) => packet.isDecrypted());
}

/** A deep, independent copy of a private key (OpenPGP.js's `clone(true)` is not in its typings). */
export async function copyPrivateKey(key: PrivateKey): Promise<PrivateKey> {
  return readPrivateKey({ binaryKey: key.write() });
}

/** Overwrites the decrypted secret parameters held by a key object (KEY-REST: unlocked copies are cleared). */
export function clearUnlockedKey(key: PrivateKey): void {
  for (const packet of secretKeyPackets(key)) clearPrivateParams(packet);
}

/**
 * How secret keys are protected at rest. v6 keys: AEAD (S2K usage 253, OCB, the mandatory AEAD mode)
 * with Argon2 (RFC 9580 §3.7.2.1, §5.5.3). v4 keys: CFB with iterated+salted S2K and the SHA-1 check
 * (usage 254), the only protection GnuPG 2.2 reads. Set explicitly so that a changed global OpenPGP.js
 * config cannot weaken or break it.
 */
export function protectionConfig(keyVersion: number): PartialConfig {
  return keyVersion === 6
    ? { aeadProtect: true, preferredAEADAlgorithm: enums.aead.ocb, s2kType: enums.s2k.argon2 }
    : { aeadProtect: false, s2kType: enums.s2k.iterated };
}

/** Throws KEY_NOT_SECRET unless `key` holds secret key packets. */
export function requireSecret(key: AnyKey): PrivateKey {
  if (!key.isPrivate()) {
    throw new SigillError('KEY_NOT_SECRET', { detail: key.getFingerprint() });
  }
  return key;
}
