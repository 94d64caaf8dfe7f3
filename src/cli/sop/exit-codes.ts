/**
 * SOP exit codes (draft-dkg-openpgp-stateless-cli, section "Failure Modes") and the one mapping
 * from Sigill's error taxonomy (src/core/errors.ts) to them.
 */
import { isSigillError, type SigillError, type SigillErrorCode } from '../../core/index.ts';

/** The draft's named return codes; anything not covered is 1. */
export const sopExitCodes = {
  OK: 0,
  GENERIC_FAILURE: 1,
  NO_SIGNATURE: 3,
  UNSUPPORTED_ASYMMETRIC_ALGO: 13,
  CERT_CANNOT_ENCRYPT: 17,
  MISSING_ARG: 19,
  INCOMPLETE_VERIFICATION: 23,
  CANNOT_DECRYPT: 29,
  PASSWORD_NOT_HUMAN_READABLE: 31,
  UNSUPPORTED_OPTION: 37,
  BAD_DATA: 41,
  EXPECTED_TEXT: 53,
  OUTPUT_EXISTS: 59,
  MISSING_INPUT: 61,
  KEY_IS_PROTECTED: 67,
  UNSUPPORTED_SUBCOMMAND: 69,
  UNSUPPORTED_SPECIAL_PREFIX: 71,
  AMBIGUOUS_INPUT: 73,
  KEY_CANNOT_SIGN: 79,
  INCOMPATIBLE_OPTIONS: 83,
  UNSUPPORTED_PROFILE: 89,
  NO_HARDWARE_KEY_FOUND: 97,
  HARDWARE_KEY_FAILURE: 99,
  PRIMARY_KEY_BAD: 101,
  CERT_USERID_NO_MATCH: 103,
} as const;

export type SopExitCode = (typeof sopExitCodes)[keyof typeof sopExitCodes];

/**
 * Sigill error code -> SOP exit code. Partial on purpose: a code added to the taxonomy later and not
 * yet mapped here falls back to 1 (GENERIC_FAILURE) instead of breaking the build.
 */
export const exitCodeBySigillCode: Partial<Record<SigillErrorCode, SopExitCode>> = {
  // keys
  NO_ENCRYPTION_KEY: sopExitCodes.CERT_CANNOT_ENCRYPT,
  NO_SIGNING_KEY: sopExitCodes.KEY_CANNOT_SIGN,
  // An expired or revoked key is a certificate (or key) that cannot do the job asked of it; the
  // caller (encrypt / sign) passes the purpose, see exitCodeFor().
  KEY_INVALID: sopExitCodes.BAD_DATA,
  KEY_NOT_SECRET: sopExitCodes.BAD_DATA,
  KEY_LOCKED: sopExitCodes.KEY_IS_PROTECTED,
  KEY_TAMPERED: sopExitCodes.BAD_DATA,
  BAD_PASSPHRASE: sopExitCodes.KEY_IS_PROTECTED,
  UNSUPPORTED_ALGORITHM: sopExitCodes.UNSUPPORTED_ASYMMETRIC_ALGO,
  BAD_USER_ID: sopExitCodes.BAD_DATA,
  // messages
  NOT_ENCRYPTED_FOR_US: sopExitCodes.CANNOT_DECRYPT,
  INTEGRITY_FAILURE: sopExitCodes.CANNOT_DECRYPT,
  NO_INTEGRITY_PROTECTION: sopExitCodes.CANNOT_DECRYPT,
  // The draft has no code for a refusal on cost; its "decrypt" section fails with CANNOT_DECRYPT when
  // no session key can be obtained, which is what happened (sqop gives 29 for the same bombs).
  TOO_EXPENSIVE: sopExitCodes.CANNOT_DECRYPT,
  BAD_SIGNATURE: sopExitCodes.NO_SIGNATURE,
  NO_SIGNATURE: sopExitCodes.NO_SIGNATURE,
  MALFORMED_MESSAGE: sopExitCodes.BAD_DATA,
  MALFORMED_ARMOR: sopExitCodes.BAD_DATA,
  NOT_OPENPGP: sopExitCodes.BAD_DATA,
  NOT_ENCRYPTED: sopExitCodes.BAD_DATA,
  PASSWORD_NOT_HUMAN_READABLE: sopExitCodes.PASSWORD_NOT_HUMAN_READABLE,
  // command line
  MISSING_ARGUMENT: sopExitCodes.MISSING_ARG,
  INCOMPATIBLE_OPTIONS: sopExitCodes.INCOMPATIBLE_OPTIONS,
  UNSUPPORTED_PROFILE: sopExitCodes.UNSUPPORTED_PROFILE,
  UNSUPPORTED_SUBCOMMAND: sopExitCodes.UNSUPPORTED_SUBCOMMAND,
  UNSUPPORTED_SPECIAL_PREFIX: sopExitCodes.UNSUPPORTED_SPECIAL_PREFIX,
  AMBIGUOUS_INPUT: sopExitCodes.AMBIGUOUS_INPUT,
  INPUT_NOT_FOUND: sopExitCodes.MISSING_INPUT,
  OUTPUT_EXISTS: sopExitCodes.OUTPUT_EXISTS,
  EXPECTED_TEXT: sopExitCodes.EXPECTED_TEXT,
  INCOMPLETE_VERIFICATION: sopExitCodes.INCOMPLETE_VERIFICATION,
  // generic
  BAD_INPUT: sopExitCodes.BAD_DATA,
  UNSUPPORTED_OPTION: sopExitCodes.UNSUPPORTED_OPTION,
};

/** What a key or certificate was needed for: decides the exit code of "expired" or "revoked". */
export type KeyPurpose = 'encrypt' | 'sign' | 'other';

const unusableKeyExitCode: Record<KeyPurpose, SopExitCode> = {
  encrypt: sopExitCodes.CERT_CANNOT_ENCRYPT,
  sign: sopExitCodes.KEY_CANNOT_SIGN,
  other: sopExitCodes.BAD_DATA,
};

/**
 * A core error whose SOP exit code depends on where it arose, not only on its code; the message is
 * the error's own.
 */
export class ExitCodeOverride extends Error {
  constructor(
    readonly error: SigillError,
    readonly exitCode: SopExitCode,
  ) {
    super(error.message, { cause: error });
  }
}

export function exitCodeFor(error: unknown, purpose: KeyPurpose = 'other'): number {
  if (error instanceof ExitCodeOverride) return error.exitCode;
  if (!isSigillError(error)) return sopExitCodes.GENERIC_FAILURE;
  if (error.code === 'KEY_EXPIRED' || error.code === 'KEY_REVOKED') return unusableKeyExitCode[purpose];
  return exitCodeBySigillCode[error.code] ?? sopExitCodes.GENERIC_FAILURE;
}
