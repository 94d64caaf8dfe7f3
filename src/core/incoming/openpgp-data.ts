/**
 * The OpenPGP side of reading mail: what an armored or binary message is (encrypted, to which keys;
 * or only signed), and decryption and verification through the core's public functions, asking the
 * injected key callbacks for exactly the keys the data names.
 */
import * as openpgp from 'openpgp';
import { SigillError, isSigillError, type SigillErrorCode } from '../errors.ts';
import { addressOfUserID, keyStatus } from '../keys/index.ts';
import { decrypt, detachInline, readAll, verifyDetached, type Verification } from '../messages/index.ts';
import { pgpConfig } from '../messages/common.ts';
import { readMessageStream } from '../messages/decrypt.ts';
import { packetStream } from '../openpgp-internals.ts';
import type { DataInput } from '../messages/types.ts';
import { blobSink } from './blob-sink.ts';
import type { ReadOptions, SignerStatus } from './types.ts';

/**
 * Encrypted data as the read path has it: in memory, or a function that streams it afresh each time it
 * is read (a part of a large mail, read from its source; decryption may read it twice).
 */
export type EncryptedInput = Uint8Array | string | (() => ReadableStream<Uint8Array>);

const fresh = (input: EncryptedInput): DataInput => (typeof input === 'function' ? input() : input);

export interface MessageShape {
  /** Has an encrypted data packet (SEIPD, or the refused SED / AEAD ones). */
  encrypted: boolean;
  /** Key IDs of the PKESK packets (16 hex digits, upper case); '0000000000000000' for anonymous recipients. */
  keyIDs: string[];
  /** Has SKESK packets (a password, which mail reading does not ask for). */
  passwordOnly: boolean;
}

const tags = openpgp.enums.packet;

/**
 * Reads the message's packets up to its data packet for its shape (nothing is decrypted). Streamed: the
 * session key packets come before the encrypted data (RFC 9580 §10.3), so only the head is unarmored
 * (natively where the engine can) and parsed; the data packet's body, however large, is neither decoded
 * nor held here. decrypt reads the whole message afterwards. Errors map to MALFORMED_ARMOR (text) or
 * MALFORMED_MESSAGE (bytes).
 */
export async function inspectMessage(input: EncryptedInput): Promise<MessageShape> {
  let message: openpgp.Message<ReadableStream<Uint8Array>>;
  const data = fresh(input);
  try {
    message = await readMessageStream(data, pgpConfig());
  } catch (error) {
    const code = isSigillError(error) && error.code === 'MALFORMED_ARMOR' ? error.code : typeof data === 'string' ? 'MALFORMED_ARMOR' : 'MALFORMED_MESSAGE';
    throw new SigillError(code, { cause: error, detail: error instanceof Error ? error.message : undefined });
  }
  const packetTags = message.packets.map((packet) => (packet.constructor as { tag?: number }).tag ?? -1);
  const encryptedTags: number[] = [tags.symEncryptedIntegrityProtectedData, tags.symmetricallyEncryptedData, tags.aeadEncryptedData];
  const encrypted = packetTags.some((tag) => encryptedTags.includes(tag));
  const keyIDs = message.getEncryptionKeyIDs().map((id) => id.toHex().toUpperCase());
  const passwordOnly = keyIDs.length === 0 && packetTags.includes(tags.symEncryptedSessionKey);
  // The rest of the message is not needed here: stop reading it.
  const rest = packetStream(message);
  if (rest instanceof ReadableStream) await rest.cancel().catch(() => undefined);
  if (data instanceof ReadableStream) await data.cancel().catch(() => undefined);
  return { encrypted, keyIDs: [...new Set(keyIDs)], passwordOnly };
}

export interface Decrypted {
  /** Bytes when small; a Blob when large (blob-sink.ts), never one huge array. */
  plaintext: Uint8Array | Blob;
  verifications: Verification[];
  format: 'binary' | 'text' | 'utf8' | 'mime';
  filename: string | undefined;
  /** The certificates the verifications were checked with. */
  certificates: openpgp.PublicKey[];
}

export interface Verified {
  verifications: Verification[];
  certificates: openpgp.PublicKey[];
}

/** A SigillError of the read path, with what the view model's error needs besides the code. */
export class ReadFailure extends SigillError {
  readonly keyIDs: string[] | undefined;
  readonly retryable: boolean;

  constructor(code: SigillErrorCode, detail: string | undefined, keyIDs: string[] | undefined, retryable: boolean) {
    super(code, detail === undefined ? {} : { detail });
    this.keyIDs = keyIDs;
    this.retryable = retryable;
  }
}

const retryableCodes: readonly SigillErrorCode[] = ['KEY_LOCKED', 'BAD_PASSPHRASE', 'CANCELLED'];

function failure(error: unknown, fallback: SigillErrorCode, keyIDs?: string[]): ReadFailure {
  if (error instanceof ReadFailure) return error;
  const code: SigillErrorCode = isSigillError(error)
    ? error.code
    : error instanceof Error && error.name === 'AbortError'
      ? 'CANCELLED'
      : fallback;
  return new ReadFailure(code, isSigillError(error) ? error.detail : undefined, keyIDs, retryableCodes.includes(code));
}

/** key IDs named by verifications: a v4 fingerprint ends with its key ID, a v6 one starts with it (RFC 9580 §5.5.4). */
export function keyIDOf(fingerprintOrKeyID: string): string {
  const hex = fingerprintOrKeyID.toUpperCase();
  if (hex.length === 40) return hex.slice(24);
  if (hex.length === 64) return hex.slice(0, 16);
  return hex;
}

/**
 * The certificates met while reading one mail. The keyring is asked first for the From addresses'
 * certificates (once, when the first signature is to be checked), so that the usual mail, signed by its
 * sender, is verified in one pass; a signature by anyone else makes a second request for exactly the
 * key IDs it names, and a second pass only if that brought new certificates.
 */
export class CertificateLookup {
  readonly known: openpgp.PublicKey[] = [];
  private askedForSenders = false;

  constructor(
    private readonly options: ReadOptions,
    private readonly senderAddresses: string[],
  ) {}

  async forSenders(): Promise<openpgp.PublicKey[]> {
    if (!this.askedForSenders && this.options.verificationKeys && this.senderAddresses.length > 0) {
      this.askedForSenders = true;
      this.add(await this.ask({ keyIDs: [], fingerprints: [], addresses: this.senderAddresses }));
    }
    return this.known;
  }

  /** Asks for the certificates of signatures no known certificate can check; true if new ones came. */
  async forUnknown(verifications: Verification[]): Promise<boolean> {
    const unknown = verifications.filter((verification) => verification.status === 'unknown-key');
    if (unknown.length === 0 || !this.options.verificationKeys) return false;
    const named = unknown.map((verification) => verification.signingKeyFingerprint.toUpperCase());
    const fingerprints = [...new Set(named.filter((id) => id.length > 16))];
    const keyIDs = [...new Set(named.map(keyIDOf))];
    return this.add(await this.ask({ keyIDs, fingerprints, addresses: [] })) > 0;
  }

  private async ask(request: { keyIDs: string[]; fingerprints: string[]; addresses: string[] }): Promise<openpgp.PublicKey[]> {
    try {
      return (await this.options.verificationKeys?.(request)) ?? [];
    } catch {
      // A keyring that cannot answer leaves the signer unknown; the signature is never called good.
      return [];
    }
  }

  private add(keys: openpgp.PublicKey[]): number {
    let added = 0;
    for (const key of keys) {
      if (this.known.some((known) => known.getFingerprint() === key.getFingerprint())) continue;
      this.known.push(key);
      added++;
    }
    return added;
  }
}

/**
 * Decrypts an encrypted message with the keys the callback gives for its key IDs. Nothing is returned
 * unless the decryption passed every integrity check (the sink is committed only then). Signatures
 * inside are checked in a second pass with the session key once their certificates are known.
 */
export async function decryptMessage(data: EncryptedInput, shape: MessageShape, options: ReadOptions, lookup: CertificateLookup): Promise<Decrypted> {
  if (shape.keyIDs.length === 0) {
    throw new ReadFailure('NOT_ENCRYPTED_FOR_US', shape.passwordOnly ? 'encrypted with a password only' : 'no recipient key ID', [], false);
  }
  let keys: openpgp.PrivateKey[];
  try {
    keys = options.decryptionKeys ? await options.decryptionKeys({ keyIDs: shape.keyIDs }) : [];
  } catch (error) {
    throw failure(error, 'CANCELLED', shape.keyIDs);
  }
  if (keys.length === 0) throw new ReadFailure('NOT_ENCRYPTED_FOR_US', undefined, shape.keyIDs, false);
  const limit = options.maxPlaintextSize ?? 256 * 1024 * 1024;
  const date = options.date ?? new Date();
  const inMemoryBelow = options.streaming?.inMemoryBelow;
  // decrypt() writes only arrays that nobody writes to again, so the sink keeps them without a copy: the
  // AES-CFB output (a new array per call, the CfbDecipher contract in platform.ts) and views of it, and
  // OpenPGP.js's views of it or of its decompressors' output (DecompressionStream's; fflate's, which copies
  // every output chunk out of its window; bzip2's, a new array per block).
  const sinkOptions = { limit, handsOver: true, ...(inMemoryBelow === undefined ? {} : { inMemoryBelow }) };
  const first = blobSink(sinkOptions);
  let result: Awaited<ReturnType<typeof decrypt>>;
  try {
    result = await decrypt({ input: fresh(data), sink: first, decryptionKeys: keys, verificationKeys: [...(await lookup.forSenders())], date, maxDecompressedSize: limit });
  } catch (error) {
    throw failure(error, 'MALFORMED_MESSAGE', shape.keyIDs);
  }
  let plaintext = first.result();
  let verifications = result.verifications;
  if (await lookup.forUnknown(verifications)) {
    // A second pass with the session key, now that the signers' certificates are known.
    const second = blobSink(sinkOptions);
    try {
      const again = await decrypt({ input: fresh(data), sink: second, sessionKeys: [result.sessionKey], verificationKeys: [...lookup.known], date, maxDecompressedSize: limit });
      plaintext = second.result();
      verifications = again.verifications;
    } catch (error) {
      throw failure(error, 'MALFORMED_MESSAGE', shape.keyIDs);
    }
  }
  return { plaintext, verifications, format: result.format, filename: result.filename, certificates: [...lookup.known] };
}

/** Verifies a detached signature over `data`, asking for the certificates the signature names. */
export async function verifySignature(data: Uint8Array | Blob | (() => ReadableStream<Uint8Array>), signature: Uint8Array | string, lookup: CertificateLookup): Promise<Verified> {
  // A Blob or a part of a large mail (an attachment) is streamed, afresh for each pass.
  const input = (): DataInput => (data instanceof Uint8Array ? data : data instanceof Blob ? (data.stream() as ReadableStream<Uint8Array>) : data());
  try {
    const first = await verifyDetached({ input: input(), signature, verificationKeys: [...(await lookup.forSenders())] });
    if (!(await lookup.forUnknown(first))) return { verifications: first, certificates: [...lookup.known] };
    return { verifications: await verifyDetached({ input: input(), signature, verificationKeys: [...lookup.known] }), certificates: [...lookup.known] };
  } catch (error) {
    throw failure(error, 'MALFORMED_MESSAGE');
  }
}

/**
 * A cleartext signed message (RFC 9580 §7) or a signed-only OpenPGP message: the signed text and its
 * verifications. The text is returned whatever the verdict; the verdict decides how it is labelled.
 */
export async function readSigned(data: Uint8Array | string, options: ReadOptions, lookup: CertificateLookup): Promise<Verified & { content: Uint8Array }> {
  let content: Uint8Array;
  let signatures: Uint8Array;
  try {
    const parts = await detachInline({ input: data, maxCleartextSize: options.maxPlaintextSize ?? 64 * 1024 * 1024 });
    content = await readAll(parts.data, options.maxPlaintextSize ?? 256 * 1024 * 1024);
    signatures = await parts.signatures;
  } catch (error) {
    throw failure(error, typeof data === 'string' ? 'MALFORMED_ARMOR' : 'MALFORMED_MESSAGE');
  }
  return { content, ...(await verifySignature(content, signatures, lookup)) };
}

export interface JudgedSigner {
  status: SignerStatus;
  userID: string | undefined;
  addresses: string[];
  fingerprint: string;
  keyID: string;
  created: Date;
  error: SigillErrorCode | undefined;
}

/**
 * A verification as the person sees it. The user ID and addresses come from the certificate (valid
 * self-certifications only, at the signature's time), never from the mail. A good signature by a key
 * that is expired or revoked now is reported as such: the status popup says so instead of "good".
 */
export async function judgeSigner(verification: Verification, certificates: readonly openpgp.PublicKey[], date: Date): Promise<JudgedSigner> {
  const certificate = verification.certificateFingerprint
    ? certificates.find((key) => key.getFingerprint().toUpperCase() === verification.certificateFingerprint)
    : undefined;
  const keyID = keyIDOf(verification.signingKeyFingerprint);
  let status: SignerStatus =
    verification.status === 'good' ? 'good' : verification.status === 'unknown-key' ? 'unknown-key' : verification.error === 'KEY_EXPIRED' ? 'expired-key' : verification.error === 'KEY_REVOKED' ? 'revoked-key' : 'bad';
  let error = verification.error;
  let userIDs: string[] = [];
  let userID = verification.userID;
  if (certificate) {
    const atSigning = await keyStatus(certificate, { date: verification.created }).catch(() => undefined);
    const now = await keyStatus(certificate, { date }).catch(() => undefined);
    userIDs = atSigning?.userIDs.length ? atSigning.userIDs : (now?.userIDs ?? certificate.getUserIDs());
    userID = atSigning?.primaryUserID ?? userID ?? userIDs[0];
    if (status === 'good' && now?.revoked) {
      status = 'revoked-key';
      error = 'KEY_REVOKED';
    } else if (status === 'good' && now?.expired) {
      status = 'expired-key';
      error = 'KEY_EXPIRED';
    }
  }
  return {
    status,
    userID,
    addresses: [...new Set(userIDs.map(addressOfUserID).filter((address): address is string => address !== undefined))],
    fingerprint: verification.certificateFingerprint ?? verification.signingKeyFingerprint,
    keyID,
    created: verification.created,
    error,
  };
}

