/**
 * Public types of the messages API. Kept in one module so the CLI, the extension and tests code
 * against the same names (see src/core/messages/index.ts).
 */
import type { SigillErrorCode } from '../errors.ts';

/** Anything a message operation can read: bytes, text (encoded as UTF-8) or a web stream of bytes. */
export type DataInput = Uint8Array | string | ReadableStream<Uint8Array>;

/**
 * Where decrypted or verified plaintext goes. The contract that makes streaming safe: a producer
 * writes as it goes, but calls `commit()` only after every integrity check passed (MDC, AEAD final
 * tag, packet grammar); on any failure it calls `abort()` and the sink must discard what it got.
 * A sink never exposes bytes before `commit()`.
 */
export interface PlaintextSink {
  write(chunk: Uint8Array): Promise<void>;
  commit(): Promise<void>;
  abort(reason: unknown): Promise<void>;
}

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

/** One running CFB decryption (RFC 9580 §5.13.1 uses plain CFB with a zero IV, no resync). */
export interface CfbDecipher {
  /** Decrypts the next ciphertext bytes of any length; may hold back bytes until a block is complete. */
  update(chunk: Uint8Array): Uint8Array;
  /** Returns the bytes still held back (a final partial block). */
  final(): Uint8Array;
}

/** An incremental hash (SHA-1 for the MDC). */
export interface IncrementalHash {
  update(chunk: Uint8Array): void;
  digest(): Uint8Array;
}

/**
 * Lets a platform inject faster audited primitives for SEIPDv1 decryption (Node: node:crypto,
 * see src/cli/node-cfb.ts). The default uses @noble/ciphers and @noble/hashes.
 */
export interface CfbDecryptorFactory {
  /** `algorithm` is 'aes128' | 'aes192' | 'aes256'; return undefined if not supported (the default is used). */
  decipher(options: { algorithm: string; key: Uint8Array; iv: Uint8Array }): CfbDecipher | undefined;
  /** An incremental SHA-1; optional (the default is @noble/hashes). */
  sha1?(): IncrementalHash;
}
