/**
 * Key revocation (RFC 9580 §5.2.1.11, type 0x20 key revocation signature; §5.2.3.31 reason).
 */
import { enums, revokeKey as openpgpRevokeKey, unarmor, type PrivateKey, type PublicKey } from 'openpgp';
import { SigillError } from '../errors.ts';
import { clearUnlockedKey, errorText, isUnlocked, requireSecret } from './internal.ts';
import { unlockKey } from './protect.ts';

/** RFC 9580 §5.2.3.31 reasons; `compromised` makes every signature of the key suspect, the others do not. */
export type RevocationReason = 'unspecified' | 'superseded' | 'compromised' | 'retired';

const reasonFlags: Record<RevocationReason, enums.reasonForRevocation> = {
  unspecified: enums.reasonForRevocation.noReason,
  superseded: enums.reasonForRevocation.keySuperseded,
  compromised: enums.reasonForRevocation.keyCompromised,
  retired: enums.reasonForRevocation.keyRetired,
};

export interface RevokeKeyOptions {
  /** An unlocked key, or a locked one together with `passphrases`. */
  key: PrivateKey;
  /** Free text for people, e.g. "replaced by my new key". */
  reason?: string;
  reasonCode?: RevocationReason;
  /** Used to unlock a locked `key`; the key comes back as locked as it was given. */
  passphrases?: string[];
  date?: Date;
}

/**
 * Returns `key` with a key revocation signature added. A locked key is unlocked only in a copy to
 * make the signature and is returned still locked. Throws KEY_LOCKED if the key is locked and no
 * passphrase is given.
 */
export async function revokeKey(options: RevokeKeyOptions): Promise<PrivateKey> {
  const key = requireSecret(options.key);
  const lockedOnInput = !isUnlocked(key);
  if (lockedOnInput && options.passphrases === undefined) {
    throw new SigillError('KEY_LOCKED', { detail: `unlock ${key.getFingerprint()} to revoke it` });
  }
  const signer = lockedOnInput ? await unlockKey(key, options.passphrases ?? []) : key;
  try {
    const { privateKey: revoked } = await openpgpRevokeKey({
      key: signer,
      reasonForRevocation: { flag: reasonFlags[options.reasonCode ?? 'unspecified'], string: options.reason ?? '' },
      ...(options.date === undefined ? {} : { date: options.date }),
      format: 'object',
    });
    if (!lockedOnInput) {
      return revoked;
    }
    const certificate = await revoked.getRevocationCertificate(options.date);
    clearUnlockedKey(revoked);
    if (typeof certificate !== 'string') {
      throw new SigillError('INTERNAL', { detail: 'no revocation certificate was made' });
    }
    return await applyRevocationCertificate(key, certificate);
  } catch (error) {
    if (error instanceof SigillError) throw error;
    throw new SigillError('INTERNAL', { detail: `revoking the key failed: ${errorText(error)}`, cause: error });
  } finally {
    if (signer !== key) clearUnlockedKey(signer);
  }
}

/**
 * Adds an armored revocation certificate (as made at generation) to `key`, after checking that it is
 * a key revocation signature made by `key` itself. Throws MALFORMED_ARMOR or BAD_INPUT.
 */
export async function applyRevocationCertificate<K extends PublicKey | PrivateKey>(key: K, armoredCertificate: string): Promise<K> {
  if (typeof armoredCertificate !== 'string') {
    throw new SigillError('BAD_INPUT', { detail: 'the revocation certificate must be armored text' });
  }
  let armorType: enums.armor;
  try {
    // Unarmored once on its own so that bad armor is told apart from a signature that does not fit.
    armorType = (await unarmor(armoredCertificate)).type;
  } catch (error) {
    throw new SigillError('MALFORMED_ARMOR', { detail: `revocation certificate: ${errorText(error)}`, cause: error });
  }
  // GnuPG and OpenPGP.js armor a lone revocation signature as a PUBLIC KEY BLOCK; others as a SIGNATURE.
  if (armorType !== enums.armor.publicKey && armorType !== enums.armor.signature) {
    throw new SigillError('BAD_INPUT', { detail: 'the revocation certificate must be a PUBLIC KEY BLOCK or SIGNATURE' });
  }
  try {
    const result = await openpgpRevokeKey({ key, revocationCertificate: armoredCertificate, format: 'object' });
    // OpenPGP.js returns the private key for a private key and only the public one for a certificate.
    return (key.isPrivate() ? result.privateKey : result.publicKey) as K;
  } catch (error) {
    throw new SigillError('BAD_INPUT', {
      detail: `the revocation certificate does not belong to ${key.getFingerprint()} or its signature is not valid: ${errorText(error)}`,
      cause: error,
    });
  }
}
