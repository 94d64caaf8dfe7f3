/**
 * What the driver asks the core probe and what it answers (runtime messaging between the two test
 * extensions). Types only, shared by the probe (Thunderbird), the driver's command map and the tests.
 */

export const coreProbeId = 'sigill-core-probe@sigill.test';

/**
 * Which primitives the core runs on: 'compiled' is what Sigill ships (extension/platform: WebAssembly
 * AES-CFB from OpenSSL's C code, WebAssembly SHA-1/SHA-2, native base64); 'pure-js' is OpenPGP.js's and
 * the core's JavaScript defaults, for comparison and cross-checking. Default 'compiled'.
 */
export type ProbePlatform = 'compiled' | 'pure-js';

/** Decrypt and verify one message inside Thunderbird with the core and the extension platform. */
export interface DecryptProbeRequest {
  kind: 'decrypt';
  platform?: ProbePlatform;
  /** The OpenPGP message, armored. The probe reads it as a stream (Blob.stream() of Thunderbird's realm). */
  message: string;
  /** The recipient's armored secret key, locked with `passphrase`. */
  secretKey: string;
  passphrase: string;
  /** Armored certificates to verify signatures with. */
  verificationKeys: string[];
  /** Return the plaintext itself (small messages); otherwise only its length and SHA-256. */
  returnPlaintext: boolean;
}

/** Sign and encrypt a text inside Thunderbird, for another implementation to decrypt and verify. */
export interface EncryptProbeRequest {
  kind: 'encrypt';
  platform?: ProbePlatform;
  plaintext: string;
  /** Armored certificates of the recipients. */
  recipients: string[];
  /** The signer's armored secret key, locked with `passphrase`. */
  signingKey: string;
  passphrase: string;
  /** false: a binary message (to tell the armor's cost in the bench); default true. */
  armor?: boolean;
}

/** Times the bulk primitives alone on random data, to tell where the time of an operation goes. */
export interface PrimitivesProbeRequest {
  kind: 'primitives';
  /** Octets of random data. */
  size: number;
}

/** Runs extension/platform's WebAssembly AES-CFB on given data (hex), for a comparison with OpenSSL. */
export interface AesCfbProbeRequest {
  kind: 'aes-cfb';
  algorithm: 'aes128' | 'aes192' | 'aes256';
  keyHex: string;
  ivHex: string;
  dataHex: string;
  encrypt: boolean;
  /** Piece sizes the data is fed in, in turn. */
  pieces: number[];
}

export interface AesCfbProbeResult {
  outputHex: string;
}

export type ProbeRequest = DecryptProbeRequest | EncryptProbeRequest | PrimitivesProbeRequest | AesCfbProbeRequest;

export interface ProbeVerification {
  status: 'good' | 'bad' | 'unknown-key';
  signingKeyFingerprint: string;
  certificateFingerprint?: string;
  userID?: string;
  error?: string;
}

export interface DecryptProbeResult {
  plaintext?: string;
  plaintextLength: number;
  /** SHA-256 of the plaintext, lower-case hex (WebCrypto of Thunderbird). */
  plaintextSha256: string;
  format: string;
  verifications: ProbeVerification[];
  /** Wall time inside Thunderbird (performance.now()), for the report; never asserted. */
  unlockMs: number;
  decryptMs: number;
}

export interface EncryptProbeResult {
  /** The armored OpenPGP message; the binary one as base64 when `armor` was false. */
  message: string;
  /** Wall time inside Thunderbird, for the report; never asserted. */
  encryptMs: number;
}

/** Milliseconds per primitive (performance.now() in Thunderbird); undefined where the primitive is missing. */
export interface PrimitivesProbeResult {
  /** extension/platform's WebAssembly hashes, fed in 256 KiB pieces. */
  sha1: number;
  sha256: number;
  sha512: number;
  /** WebCrypto's one-shot SHA-256, for reference. */
  webCryptoSha256: number;
  /** AES-256-CFB encryption and decryption with extension/platform's WebAssembly (OpenSSL's C code), in 256 KiB pieces. */
  aesCfb: number;
  aesCfbDecrypt: number;
  /** Native base64 (Uint8Array.prototype.toBase64 / Uint8Array.fromBase64), where Thunderbird has it. */
  toBase64?: number;
  fromBase64?: number;
}

/** What each request kind answers. */
export interface ProbeResults {
  decrypt: DecryptProbeResult;
  encrypt: EncryptProbeResult;
  primitives: PrimitivesProbeResult;
  'aes-cfb': AesCfbProbeResult;
}

/** A failure is an answer too: a SigillError's stable code, or none for anything else. */
export type ProbeResponse<K extends ProbeRequest['kind'] = ProbeRequest['kind']> =
  | { ok: true; result: ProbeResults[K] }
  | { ok: false; code: string | null; message: string };
