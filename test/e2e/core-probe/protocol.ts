/**
 * What the driver asks the core probe and what it answers (runtime messaging between the two test
 * extensions). Types only, shared by the probe (Thunderbird), the driver's command map and the tests.
 */

export const coreProbeId = 'sigill-core-probe@sigill.test';

/** Decrypt and verify one message inside Thunderbird with the core and the extension platform. */
export interface DecryptProbeRequest {
  kind: 'decrypt';
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

export type ProbeRequest = DecryptProbeRequest;

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

/** A failure is an answer too: a SigillError's stable code, or none for anything else. */
export type ProbeResponse =
  | { ok: true; result: DecryptProbeResult }
  | { ok: false; code: string | null; message: string };
