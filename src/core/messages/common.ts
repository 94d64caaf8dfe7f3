/**
 * Shared pieces of the message operations: OpenPGP.js configuration, error mapping into the one
 * taxonomy, and turning OpenPGP.js verification objects into `Verification`s.
 */
import * as openpgp from 'openpgp';
import { SigillError, isSigillError, type SigillErrorCode } from '../errors.ts';
import type { Verification } from './types.ts';

/** OpenPGP.js settings used for every message operation. */
export function pgpConfig(extra: Partial<openpgp.Config> = {}): Partial<openpgp.Config> {
  return {
    // Never: plaintext of SEIPDv1 must not be released before the MDC check (see decrypt.ts).
    allowUnauthenticatedStream: false,
    // RFC 9580 §10.3.2 and our policy: SEIPDv2 only with GCM (OCB is pure JS in OpenPGP.js, 30x slower).
    preferredAEADAlgorithm: openpgp.enums.aead.gcm,
    preferredSymmetricAlgorithm: openpgp.enums.symmetric.aes256,
    // Packet grammar (RFC 9580 §10.3) is enforced: e.g. literal data next to an encrypted packet.
    enforceGrammar: true,
    ...extra,
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.message} ${messageOf(error.cause)}` : '';
}

/** The innermost SigillError in a cause chain (OpenPGP.js wraps errors thrown inside our streams). */
function findSigillError(error: unknown, depth = 0): SigillError | undefined {
  if (isSigillError(error)) return error;
  if (depth > 5 || !(error instanceof Error)) return undefined;
  return findSigillError(error.cause, depth + 1);
}

/**
 * Maps an OpenPGP.js (or stream) error to a SigillError. OpenPGP.js has no error codes, only
 * messages, so this matches on them; `fallback` is used when nothing matches.
 */
export function toSigillError(error: unknown, fallback: SigillErrorCode): SigillError {
  const found = findSigillError(error);
  if (found) return found;
  const text = messageOf(error);
  const code = ((): SigillErrorCode => {
    // Text mode (RFC 9580 §5.9 'u', §5.2.1 type 0x01) needs UTF-8; the fatal TextDecoder says so.
    if (/not valid for encoding|ERR_ENCODING_INVALID/i.test(text)) return 'EXPECTED_TEXT';
    if (/armor|armored|ascii|checksum/i.test(text)) return 'MALFORMED_ARMOR';
    if (/Modification detected|tag mismatch|authentication tag|ciphertext.*(?:tag|auth)|unable to authenticate|Authentication failed/i.test(text)) return 'INTEGRITY_FAILURE';
    if (/Decompressed data exceeds|max.*decompress/i.test(text)) return 'TOO_LARGE';
    if (/Unsupported|not supported|Unknown (?:symmetric|hash|public key|AEAD|compression)/i.test(text)) return 'UNSUPPORTED_ALGORITHM';
    if (/GrammarError|Unexpected packet|grammar|Parsing|Error during parsing|packet|Unexpected end|Malformed|not conform/i.test(text) || (error instanceof Error && error.name === 'GrammarError')) return 'MALFORMED_MESSAGE';
    return fallback;
  })();
  return new SigillError(code, { cause: error, detail: error instanceof Error ? error.message : undefined });
}

export function hex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out.toUpperCase();
}

interface PgpVerification {
  keyID: openpgp.KeyID;
  verified: Promise<true>;
  signature: Promise<openpgp.Signature>;
}

export interface VerificationWindow {
  notBefore?: Date | undefined;
  notAfter?: Date | undefined;
}

/**
 * Turns OpenPGP.js's per-signature promises into final Verification records. Must be awaited only
 * after the signed data has been read to the end (streamed signatures resolve then).
 * 'unknown-key': no given certificate has a (sub)key with the issuer key ID; 'bad': a certificate
 * has it but the signature does not verify, or the signing key is not validly bound (RFC 9580
 * §5.2.1 subkey binding) or was expired/revoked at signing time.
 */
export async function toVerifications(list: PgpVerification[], verificationKeys: openpgp.PublicKey[], window: VerificationWindow = {}): Promise<Verification[]> {
  const results: Verification[] = [];
  for (const item of list) {
    let packet: openpgp.SignaturePacket | undefined;
    try {
      packet = (await item.signature).packets[0];
    } catch {
      packet = undefined;
    }
    const keyIDHex = item.keyID.toHex().toUpperCase();
    const issuerFingerprint = packet?.issuerFingerprint ? hex(packet.issuerFingerprint) : undefined;
    const created = packet?.created ?? new Date(0);
    const mode: 'binary' | 'text' = packet?.signatureType === openpgp.enums.signature.text ? 'text' : 'binary';
    const certificate = verificationKeys.find((key) => key.getKeys(item.keyID).length > 0);
    if (!certificate) {
      results.push({ status: 'unknown-key', signingKeyFingerprint: issuerFingerprint ?? keyIDHex, created, mode, error: 'KEY_NOT_FOUND' });
      // Keep the rejection handled.
      item.verified.catch(() => undefined);
      continue;
    }
    const signingKey = certificate.getKeys(item.keyID)[0];
    const base = {
      signingKeyFingerprint: signingKey ? signingKey.getFingerprint().toUpperCase() : (issuerFingerprint ?? keyIDHex),
      certificateFingerprint: certificate.getFingerprint().toUpperCase(),
      userID: await primaryUserID(certificate),
      created,
      mode,
    };
    try {
      await item.verified;
    } catch (error) {
      const text = messageOf(error);
      const code: SigillErrorCode = /revoked/i.test(text) ? 'KEY_REVOKED' : /expired/i.test(text) ? 'KEY_EXPIRED' : 'BAD_SIGNATURE';
      results.push({ ...base, status: 'bad', error: code });
      continue;
    }
    if ((window.notBefore && created < window.notBefore) || (window.notAfter && created > window.notAfter)) {
      results.push({ ...base, status: 'bad', error: 'BAD_SIGNATURE' });
      continue;
    }
    results.push({ ...base, status: 'good' });
  }
  return results;
}

async function primaryUserID(key: openpgp.PublicKey): Promise<string | undefined> {
  try {
    const primary = await key.getPrimaryUser();
    return primary.user.userID?.userID;
  } catch {
    return key.getUserIDs()[0];
  }
}

/** Wraps an output stream so that any error it raises is a SigillError (fallback code when unknown). */
export function mapStreamErrors(stream: ReadableStream<Uint8Array>, fallback: SigillErrorCode): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        controller.error(toSigillError(error, fallback));
      }
    },
    async cancel(reason) {
      await reader.cancel(reason);
    },
  });
}
