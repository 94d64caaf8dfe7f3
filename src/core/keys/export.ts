/**
 * Export of certificates and secret keys, armored (RFC 9580 §6) or binary.
 */
import type { PrivateKey, PublicKey } from 'openpgp';
import { SigillError } from '../errors.ts';
import type { AnyKey } from './internal.ts';

export interface ExportKeyOptions {
  armor: boolean;
  /** Export the secret key (as protected as it is); default: only the public certificate. */
  secret?: boolean;
}

export function exportKey(key: AnyKey, options: ExportKeyOptions & { armor: true }): string;
export function exportKey(key: AnyKey, options: ExportKeyOptions & { armor: false }): Uint8Array;
export function exportKey(key: AnyKey, options: ExportKeyOptions): Uint8Array | string;
export function exportKey(key: AnyKey, options: ExportKeyOptions): Uint8Array | string {
  let exported: AnyKey;
  if (options.secret === true) {
    if (!key.isPrivate()) {
      throw new SigillError('KEY_NOT_SECRET', { detail: key.getFingerprint() });
    }
    exported = key;
  } else {
    exported = key.isPrivate() ? key.toPublic() : key;
  }
  return options.armor ? exported.armor() : exported.write();
}

/** The public certificate of a key (a public key is returned as it is). */
export function extractCertificate(key: PrivateKey | PublicKey): PublicKey {
  return key.isPrivate() ? key.toPublic() : key;
}
