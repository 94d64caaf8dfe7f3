/**
 * Public types of the messages API. Kept in one module so the CLI, the extension and tests code
 * against the same names (see src/core/messages/index.ts).
 */
import type { SigillErrorCode } from '../errors.ts';

// The injected platform interfaces are declared with the other seams in src/core/platform.ts;
// re-exported here so code importing them from the messages API keeps working.
export type { CfbDecipher, CfbDecryptorFactory, CfbEncipher, CfbEncryptorFactory, IncrementalHash, PlaintextSink } from '../platform.ts';

/** Anything a message operation can read: bytes, text (encoded as UTF-8) or a web stream of bytes. */
export type DataInput = Uint8Array | string | ReadableStream<Uint8Array>;

/** A session key as OpenPGP.js names it: `algorithm` is the openpgp enum name, e.g. 'aes256'. */
export interface SessionKey {
  algorithm: string;
  data: Uint8Array;
}

export interface Verification {
  status: 'good' | 'bad' | 'unknown-key';
  /** Fingerprint (hex, upper case) of the (sub)key that made the signature; the issuer key ID if unknown. */
  signingKeyFingerprint: string;
  /** Fingerprint of the certificate (primary key) the signing key belongs to, when known. */
  certificateFingerprint?: string;
  /** The primary user ID of that certificate, when known. */
  userID?: string;
  created: Date;
  /** Signature type 0x00 (binary) or 0x01 (canonical text), RFC 9580 §5.2.1. */
  mode: 'binary' | 'text';
  /** Why the status is not 'good'. */
  error?: SigillErrorCode;
}

export interface DecryptResult {
  sessionKey: SessionKey;
  verifications: Verification[];
  filename?: string;
  /** The literal data packet's format octet, RFC 9580 §5.9 ('b', 't', 'u', 'm'). */
  format: 'binary' | 'text' | 'utf8' | 'mime';
}
