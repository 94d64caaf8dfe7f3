/**
 * The view model of a received mail: what `read()` returns and the display (message display script,
 * status popup, reply quoting) renders. It states only what was proven: a part is "encrypted" only if
 * it came out of a decryption that passed its integrity check, "signed" only if a good signature covers
 * it, and the mail as a whole is "encrypted" or "signed" only if that holds for everything shown.
 */
import type { PrivateKey, PublicKey } from 'openpgp';
import type { SigillErrorCode } from '../errors.ts';
import type { MimeLimits } from '../mime/limits.ts';

/** What the keyring is asked for a decryption: the key IDs (16 hex digits, upper case) of the PKESK packets. */
export interface DecryptionKeyRequest {
  keyIDs: string[];
}

/**
 * What the keyring is asked for a verification; answer with every certificate that matches any item.
 * First the From addresses (lower case) alone, so that a mail signed by its sender verifies in one
 * pass; then, for a signature no certificate so far could check, the issuer key IDs and fingerprints
 * (hex, upper case) it names.
 */
export interface VerificationKeyRequest {
  keyIDs: string[];
  fingerprints: string[];
  addresses: string[];
}

export interface ReadOptions {
  /**
   * Unlocked secret keys for these key IDs (an empty list when none is held). May throw a SigillError
   * KEY_LOCKED, BAD_PASSPHRASE or CANCELLED (the passphrase prompt): the view model then carries a
   * retryable error and shows nothing of that part.
   */
  decryptionKeys?: (request: DecryptionKeyRequest) => Promise<PrivateKey[]>;
  /** Certificates that may have made the signatures (an empty list when none is known). */
  verificationKeys?: (request: VerificationKeyRequest) => Promise<PublicKey[]>;
  /**
   * Turns mail HTML into HTML that is safe to show (see `sanitizeHtml`, with DOMPurify injected). Without
   * it an HTML part is given as text (its source), never as HTML.
   */
  sanitizeHtml?: (html: string) => string;
  /** Bounds on the MIME structure (PARSE). */
  limits?: Partial<MimeLimits>;
  /** Refuse (TOO_LARGE) a decrypted part larger than this; default 256 MiB. */
  maxPlaintextSize?: number;
  /**
   * 'decrypt' (default): separately encrypted attachments (.pgp, name.ext.asc) are decrypted now.
   * 'defer': they are listed (`deferred`, no data) and decrypted on request with `readAttachment`, so
   * the body shows without waiting for large files. PGP/MIME attachments are always decrypted with
   * the body (they are one encrypted entity), but a large base64 one is not decoded yet: it comes as
   * `encoded` (a Blob slice of the checked plaintext), decoded on request with `decodeAttachment`.
   */
  attachments?: 'decrypt' | 'defer';
  /** The time signatures and keys are judged at; default now. */
  date?: Date;
  /**
   * How large mail is read without being held (tuning; the defaults suit Thunderbird): an entity or a
   * decrypted part of at most `inMemoryBelow` bytes is held in memory (default 4 MiB); larger ones stay in
   * their source and are read `windowSize` bytes at a time (default 1 MiB), and large plaintext and
   * attachments become Blobs.
   */
  streaming?: { inMemoryBelow?: number; windowSize?: number };
}

/** How one piece of content is protected. */
export interface Protection {
  /** Came out of a successful decryption; the id of that decryption (see `ReadResult.encryptedParts`). */
  encryption: number | undefined;
  /** Covered by this signature group (see `ReadResult.signatureGroups`), if any. */
  signatureGroup: number | undefined;
}

export interface DisplayPart {
  /** 'text': show as text nodes. 'html': already sanitized with the injected policy. */
  kind: 'text' | 'html';
  content: string;
  /** Where it came from: an inline armored block, a PGP/MIME entity, a cleartext signature, plain mail. */
  source: 'inline-pgp' | 'pgp-mime' | 'cleartext-signed' | 'mime-signed' | 'attachment' | 'plain';
  protection: Protection;
  /** True when it came out of a decryption. */
  encrypted: boolean;
  /** True when a good signature covers it. */
  signed: boolean;
  /** For an HTML part shown from a multipart/alternative: the text/plain alternative (used to quote it in a reply). */
  plainText?: string;
}

export type SignerStatus = 'good' | 'bad' | 'unknown-key' | 'expired-key' | 'revoked-key';

export interface Signer {
  status: SignerStatus;
  /** The signer's primary user ID (from the certificate, never from the mail), when the key is known. */
  userID: string | undefined;
  /** Every e-mail address in the certificate's user IDs. */
  addresses: string[];
  /** Fingerprint of the certificate (primary key) when known, else the signing key's fingerprint or key ID. */
  fingerprint: string;
  /** 16 hex digits. */
  keyID: string;
  created: Date;
  /**
   * Whether one of the certificate's addresses is the From address. undefined when the key is unknown
   * or the mail has no single From address.
   */
  matchesFrom: boolean | undefined;
  /** The error code behind a status other than 'good'. */
  error: SigillErrorCode | undefined;
  /** The signature group (one signed entity or block) this signature belongs to. */
  group: number;
}

export type EncryptionState = 'encrypted' | 'partially-encrypted' | 'not-encrypted';
export type SignatureState = 'signed' | 'partially-signed' | 'bad' | 'unverified' | 'not-signed';

export interface ReadError {
  code: SigillErrorCode;
  /** A sentence for a person. */
  message: string;
  /** For NOT_ENCRYPTED_FOR_US: the key IDs the message was encrypted to. */
  keyIDs?: string[];
  /** Asking again may succeed (locked key, wrong or cancelled passphrase). */
  retryable: boolean;
  /** What failed: 'body', 'signature' (of a multipart/signed) or the (sanitized) attachment name. */
  where: string;
}

export type WarningCode =
  | 'SIGNER_NOT_FROM' // a good signature, but the signer's key has no user ID with the From address
  | 'MULTIPLE_FROM' // several From headers, or several addresses in one
  | 'NO_FROM'
  | 'FROM_NAME_HAS_OTHER_ADDRESS' // the From display name shows another address than the real one
  | 'UNPROTECTED_PARTS' // content outside the encryption or signature is kept apart
  | 'TOO_MANY_BLOCKS' // armor blocks past the bound were left as text
  | 'PROTECTED_SUBJECT_IGNORED' // protected headers in an encrypted part that is not the whole mail
  | 'PROTECTED_FROM_DIFFERS'; // the From inside the encryption (protected headers) is not the outer From

export interface ReadWarning {
  code: WarningCode;
  message: string;
}

export interface AttachmentView {
  /** Sanitized (NAMES); the encryption suffix (.pgp/.gpg/.asc) removed for decrypted ones. */
  name: string;
  /** The name as the mail gave it, for the record only: never use it to save a file. */
  originalName: string | undefined;
  contentType: string;
  size: number;
  /**
   * The bytes (decrypted when `encrypted`): a Uint8Array when small, a Blob when large (see
   * `ReadOptions.streaming`); undefined when decryption failed or was deferred.
   */
  data: Uint8Array | Blob | undefined;
  /** Listed but not decrypted yet (attachments: 'defer'): `size` is the encrypted size; see readAttachment. */
  deferred?: boolean;
  /**
   * With attachments: 'defer', a large base64 attachment whose bytes are there (decrypted and checked
   * with the body, or not encrypted) but not yet decoded: its base64 text as a Blob slice of the mail or
   * of the plaintext (no copy), `data` undefined and `size` estimated. `decodeAttachment` gives the bytes;
   * decoding tens of megabytes while the body is shown would only delay it and leave the garbage of the
   * decoding in memory.
   */
  encoded?: { data: Blob; transferEncoding: 'base64' };
  encrypted: boolean;
  signed: boolean;
  protection: Protection;
  /** A detached signature (`name.sig` / `name.asc`) found for it, with its result. */
  detachedSignature: number | undefined;
  error: ReadError | undefined;
}

export interface OfferedKey {
  /** Armored certificate as it came. Offered for import, never imported by read(). */
  armored: string;
  fingerprint: string;
  userIDs: string[];
  /** Where it came from: an attachment name (sanitized) or 'body'. */
  from: string;
  /** Inside the encryption? (A key that came in clear may have been replaced in transit.) */
  encrypted: boolean;
}

export interface ReadResult {
  /**
   * The parts to show as the body. When the mail has decrypted content, ONLY that (decrypted content
   * is shown alone, EFAIL); everything else is in `unprotectedParts`.
   */
  parts: DisplayPart[];
  /** Content outside the encryption, kept apart (shown, if at all, separately and labelled). */
  unprotectedParts: DisplayPart[];
  encryption: EncryptionState;
  signature: SignatureState;
  signers: Signer[];
  /** The Subject from protected headers (RFC 3156 PGP/MIME with protected-headers="v1"), when present. */
  protectedSubject: string | undefined;
  /** The outer Subject header (what travelled in clear). */
  subject: string | undefined;
  /** The From addresses (lower case), one per address in every From header. */
  fromAddresses: string[];
  attachments: AttachmentView[];
  offeredKeys: OfferedKey[];
  errors: ReadError[];
  warnings: ReadWarning[];
  /** Number of decryptions that succeeded, and which one is the mail's root (for replies, REPLY). */
  encryptedParts: { count: number; root: number | undefined };
  /** Signature groups: every signed entity or block, with whether it is the whole mail. */
  signatureGroups: Array<{ id: number; coversWholeMessage: boolean }>;
}
