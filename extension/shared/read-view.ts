/**
 * What the background hands the message display script and the status popup about one received
 * message: the core's view model (`ReadResult`) made safe to pass around (no attachment bytes, dates as
 * ISO strings, fingerprints formatted) with what the keyring knows of the keys involved.
 */
import type { KeyChangeWarningView } from './messages.ts';
import type { Acceptance, DisplayPart, EncryptionState, ReadError, ReadWarning, SignatureState, SignerStatus } from '../../src/core/index.ts';

export interface SignerView {
  status: SignerStatus;
  /** From the certificate (never from the mail); undefined when the key is unknown. */
  userID: string | undefined;
  /** The fingerprint in groups of four (or the key ID when only that is known). */
  fingerprint: string;
  keyID: string;
  /** ISO 8601. */
  created: string;
  matchesFrom: boolean | undefined;
  /** How far the user relies on the signer's key in Sigill's keyring. */
  acceptance: Acceptance | undefined;
}

export interface AttachmentSummary {
  /** Its index in the core's view (what `read.saveAttachment` takes). */
  index: number;
  /** Sanitized (NAMES): the only name ever used to save it. */
  name: string;
  contentType: string;
  /** Bytes: the decrypted size once known, else the size of the ciphertext (`sizeOfCiphertext`). */
  size: number;
  /** `size` is still that of the encrypted data (not decrypted yet). */
  sizeOfCiphertext: boolean;
  encrypted: boolean;
  signed: boolean;
  /** Encrypted separately and decrypted only when saved. */
  deferred: boolean;
  /** The verdict of a detached signature (`name.sig`) found for it. */
  detachedSignature: SignerView | undefined;
  error: ReadError | undefined;
}

export interface OfferedKeyView {
  index: number;
  /** Attached to the message, or in its Autocrypt header (collected as undecided on display). */
  source: 'attachment' | 'autocrypt';
  fingerprint: string;
  userIDs: string[];
  /** The attachment name it came in (sanitized), or 'body'. */
  from: string;
  encrypted: boolean;
  /** This very key in the keyring, if it is there already. */
  acceptance: Acceptance | undefined;
  /** Other keys in the keyring for the same addresses (a possible key change: shown side by side). */
  others: Array<{ fingerprint: string; userID: string; acceptance: Acceptance }>;
  /** The key names the sender's address (only those user IDs are kept when it is imported). */
  namesSender: boolean;
  /** What the keyring would do with it for the sender's address (KEY-SWAP): new, same, conflict, ignore. */
  decision?: 'new' | 'same' | 'conflict' | 'ignore';
  /** Open key-change warning: it differs from the key accepted for the address, which stays in use. */
  keyChange?: KeyChangeWarningView;
}

export interface MessageView {
  messageId: number;
  /** False for mail with no OpenPGP content at all: it is displayed as Thunderbird shows it. */
  openpgp: boolean;
  encryption: EncryptionState;
  signature: SignatureState;
  signers: SignerView[];
  protectedSubject: string | undefined;
  subject: string | undefined;
  /** The content to show in place of the body (decrypted content alone when there is any). */
  parts: DisplayPart[];
  /** How many parts outside the encryption or signature were left out of the display. */
  unprotectedParts: number;
  attachments: AttachmentSummary[];
  offeredKeys: OfferedKeyView[];
  errors: ReadError[];
  warnings: ReadWarning[];
  /** A reply or forward may quote decrypted text (it comes from the mail's one root encryption). */
  quotable: boolean;
}

/** What the display script is told: the content to draw, or nothing (leave the body as it is). */
export interface DisplayContent {
  /** Decrypted (or verified) parts to show in place of the body; empty: leave the body untouched. */
  parts: DisplayPart[];
  protectedSubject: string | undefined;
}
