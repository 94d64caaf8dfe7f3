/**
 * The one error taxonomy of Sigill. Every failure that a person or a caller may act on is a
 * `SigillError` with a stable `code`; the message is written for a person. Codes never change
 * meaning once released: callers (the extension, the CLI's exit codes, tests) switch on them.
 */

export const errorMessages = {
  // keys
  NO_ENCRYPTION_KEY: 'The key has no usable encryption subkey.',
  NO_SIGNING_KEY: 'The key has no usable signing key.',
  KEY_EXPIRED: 'The key has expired.',
  KEY_REVOKED: 'The key has been revoked.',
  KEY_INVALID: 'The key is not valid (a self-signature or binding signature is missing or wrong).',
  KEY_NOT_SECRET: 'A secret key was needed, but this is only a public certificate.',
  KEY_LOCKED: 'The secret key is locked with a passphrase.',
  KEY_TAMPERED: 'The secret key material does not match its public key (it has been tampered with).',
  KEY_NOT_FOUND: 'No matching key was found.',
  KEY_NOT_ACCEPTED: 'The key has not been accepted yet: compare its fingerprint and accept it in the key manager.',
  KEY_REJECTED: 'The key has been rejected.',
  KEY_UNPROTECTED: 'The secret key is not protected with a passphrase; secret keys are only stored passphrase-protected.',
  BAD_PASSPHRASE: 'The passphrase is wrong.',
  UNSUPPORTED_ALGORITHM: 'The algorithm is not supported.',
  BAD_USER_ID: 'The user ID is not valid.',
  // messages
  NOT_ENCRYPTED_FOR_US: 'The message was not encrypted to any of the available keys.',
  INTEGRITY_FAILURE: 'The message has been modified or corrupted; nothing of it is shown.',
  NO_INTEGRITY_PROTECTION: 'The message is encrypted without integrity protection and is refused.',
  BAD_SIGNATURE: 'The signature is not valid.',
  NO_SIGNATURE: 'No valid signature was found.',
  MALFORMED_MESSAGE: 'The OpenPGP data is malformed.',
  MALFORMED_ARMOR: 'The ASCII armor is malformed.',
  NOT_OPENPGP: 'The input is not OpenPGP data (neither ASCII armor nor OpenPGP packets).',
  NOT_ENCRYPTED: 'The data is not an encrypted OpenPGP message.',
  PASSWORD_NOT_HUMAN_READABLE: 'The password is not human-readable text.',
  TOO_LARGE: 'The data is larger than allowed.',
  TOO_EXPENSIVE: 'Decrypting this message would take more work than allowed (too many session key packets, or too costly a password derivation); it was not decrypted.',
  NOT_COMMITTED: 'The plaintext is not available: it has not (yet) passed every integrity check.',
  // reading mail
  MALFORMED_MIME: 'The mail is malformed or goes beyond the limits of what is read (nesting, headers, parts).',
  CANCELLED: 'The operation was cancelled.',
  // command line (sigill sop): usage and file errors a person fixes in the command itself
  MISSING_ARGUMENT: 'A required argument is missing.',
  INCOMPATIBLE_OPTIONS: 'These options cannot be used together.',
  UNSUPPORTED_PROFILE: 'The profile is not supported.',
  UNSUPPORTED_SUBCOMMAND: 'The subcommand is not supported.',
  UNSUPPORTED_SPECIAL_PREFIX: 'The special designator (@...) is not supported.',
  AMBIGUOUS_INPUT: 'A file has the same name as the special designator; rename it.',
  INPUT_NOT_FOUND: 'The input file does not exist.',
  OUTPUT_EXISTS: 'The output file already exists; it is never overwritten.',
  EXPECTED_TEXT: 'The input is not UTF-8 text.',
  INCOMPLETE_VERIFICATION: 'Verification was asked for without all it needs (certificates and an output for the result).',
  // key discovery (WKD, keys.openpgp.org, Autocrypt, attached keys)
  LOOKUP_FAILED: 'The key lookup failed.',
  LOOKUP_TIMEOUT: 'The key server did not answer in time.',
  ADDRESS_NOT_IN_KEY: 'The key has no valid user ID with this mail address.',
  // generic
  BAD_INPUT: 'The input is not valid.',
  UNSUPPORTED_OPTION: 'The option is not supported.',
  INTERNAL: 'An internal error occurred.',
} as const;

export type SigillErrorCode = keyof typeof errorMessages;

export interface SigillErrorOptions {
  /** The underlying error, kept for logs; never shown as the message. */
  cause?: unknown;
  /** Details a person can act on (a field name, a fingerprint); appended to the message. */
  detail?: string;
}

export class SigillError extends Error {
  override readonly name = 'SigillError';
  readonly code: SigillErrorCode;
  readonly detail: string | undefined;

  constructor(code: SigillErrorCode, options: SigillErrorOptions = {}) {
    const base = errorMessages[code];
    super(options.detail ? `${base} (${options.detail})` : base, { cause: options.cause });
    this.code = code;
    this.detail = options.detail;
  }
}

export function isSigillError(error: unknown, code?: SigillErrorCode): error is SigillError {
  return error instanceof SigillError && (code === undefined || error.code === code);
}
