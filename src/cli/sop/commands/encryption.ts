/**
 * `encrypt` and `decrypt` (draft-dkg-openpgp-stateless-cli, sections "encrypt", "decrypt").
 * Plaintext streams from stdin to stdout; decryption writes to a sink that is committed (and only
 * then copied to stdout) after every integrity check of the core passed.
 */
import type { PrivateKey } from 'openpgp';
import { SigillError, isSigillError } from '../../../core/index.ts';
import { decrypt, encryptWithSessionKey, type DecryptResult, type SessionKey, type Verification } from '../../../core/index.ts';
import { choiceOption, optionValue, optionValues } from '../args.ts';
import { keyPasswordOption, noArmorOption, type SopCommand } from '../command.ts';
import { ExitCodeOverride, sopExitCodes } from '../exit-codes.ts';
import { formatSessionKey, formatVerifications, parseSessionKey, parseSopDate, passwordForNewMaterial } from '../formats.ts';
import { assertOutputWritable, readIndirectInput, stdinIsFile, stdinStream, writeIndirectOutput, writeStdout } from '../io.ts';
import { clearKeys, loadCertificates, loadSecretKeys, signingKeys, unlockKeys, unlockPasswords } from '../key-inputs.ts';
import { openPlaintextOutput } from '../plaintext-output.ts';
import { nodeCfbEncryptor } from '../../../platform/node/index.ts';
import { encryptProfiles, findProfile } from '../profiles.ts';

export const encryptCommand: SopCommand = {
  name: 'encrypt',
  summary: 'Encrypts a message to certificates and/or passwords, optionally signed',
  usage: '[--as={binary|text}] [--no-armor] [--with-password=PASSWORD...] [--sign-with=KEYS...] [--with-key-password=PASSWORD...] [--profile=PROFILE] [--session-key-out=SESSIONKEY] [--] [CERTS...] < DATA',
  options: [
    noArmorOption,
    { name: 'as', takesValue: true },
    { name: 'with-password', takesValue: true, repeatable: true },
    { name: 'sign-with', takesValue: true, repeatable: true },
    keyPasswordOption,
    { name: 'profile', takesValue: true },
    { name: 'session-key-out', takesValue: true },
  ],
  keyPurpose: 'encrypt',
  async run(args) {
    const format = choiceOption(args, 'as', ['binary', 'text'] as const, 'binary');
    findProfile(encryptProfiles, optionValue(args, 'profile'));
    const sessionKeyOut = optionValue(args, 'session-key-out');
    if (sessionKeyOut !== undefined) assertOutputWritable(sessionKeyOut);
    const passwords: string[] = [];
    for (const designator of optionValues(args, 'with-password')) passwords.push(passwordForNewMaterial(await readIndirectInput(designator), '--with-password'));
    if (args.positionals.length === 0 && passwords.length === 0) throw new SigillError('MISSING_ARGUMENT', { detail: 'CERTS or --with-password' });
    const recipients = await loadCertificates(args.positionals);
    const signers = await signingKeys(optionValues(args, 'sign-with'), await unlockPasswords(args, 'with-key-password'));
    try {
      // --as=text: the core checks the input is UTF-8 (EXPECTED_TEXT, 53).
      // A file on stdin is read into the writer's own reused buffer (reuseInputBuffer, io.ts).
      const encrypted = await encryptWithSessionKey({
        input: stdinStream(),
        recipients,
        signingKeys: signers,
        passwords,
        armor: !args.flags.has('no-armor'),
        format,
        cfb: nodeCfbEncryptor,
        reuseInputBuffer: stdinIsFile(),
      });
      await writeStdout(encrypted.data);
      // Section "encrypt": --session-key-out, written once the message is complete.
      if (sessionKeyOut !== undefined) await writeIndirectOutput(sessionKeyOut, formatSessionKey(encrypted.sessionKey));
    } finally {
      clearKeys(signers);
    }
    return sopExitCodes.OK;
  },
};

/** Unlocks what it can; keys that stay locked are remembered, to report KEY_IS_PROTECTED if needed. */
async function unlockDecryptionKeys(keys: readonly PrivateKey[], passwords: readonly string[]): Promise<{ unlocked: PrivateKey[]; lockError?: unknown }> {
  const unlocked: PrivateKey[] = [];
  let lockError: unknown;
  for (const key of keys) {
    try {
      unlocked.push(...(await unlockKeys([key], passwords)));
    } catch (error) {
      if (!isSigillError(error, 'KEY_LOCKED') && !isSigillError(error, 'BAD_PASSPHRASE')) throw error;
      lockError = error;
    }
  }
  return { unlocked, lockError };
}

/** --verify-not-before / --verify-not-after (section "decrypt"): a window on signature creation. */
function withinWindow(verification: Verification, notBefore: Date | undefined, notAfter: Date | undefined): boolean {
  if (notBefore && verification.created < notBefore) return false;
  if (notAfter && verification.created > notAfter) return false;
  return true;
}

export const decryptCommand: SopCommand = {
  name: 'decrypt',
  summary: 'Decrypts a message with keys, passwords or session keys, optionally verifying it',
  usage:
    '[--session-key-out=SESSIONKEY] [--with-session-key=SESSIONKEY...] [--with-password=PASSWORD...] [--with-key-password=PASSWORD...] [--verifications-out=VERIFICATIONS [--verify-with=CERTS...]] [--verify-not-before=DATE] [--verify-not-after=DATE] [--] [KEYS...] < CIPHERTEXT',
  options: [
    { name: 'session-key-out', takesValue: true },
    { name: 'with-session-key', takesValue: true, repeatable: true },
    { name: 'with-password', takesValue: true, repeatable: true },
    keyPasswordOption,
    { name: 'verifications-out', takesValue: true, aliases: ['verify-out'] },
    { name: 'verify-with', takesValue: true, repeatable: true },
    { name: 'verify-not-before', takesValue: true },
    { name: 'verify-not-after', takesValue: true },
  ],
  async run(args) {
    const verificationsOut = optionValue(args, 'verifications-out');
    const verifyWith = optionValues(args, 'verify-with');
    const sessionKeyOut = optionValue(args, 'session-key-out');
    // Section "decrypt": verification needs both the certificates and somewhere to write the result.
    if (verifyWith.length > 0 && verificationsOut === undefined) throw new SigillError('INCOMPLETE_VERIFICATION', { detail: '--verify-with needs --verifications-out' });
    if (verificationsOut !== undefined && verifyWith.length === 0) throw new SigillError('INCOMPLETE_VERIFICATION', { detail: '--verifications-out needs --verify-with' });
    for (const output of [verificationsOut, sessionKeyOut]) if (output !== undefined) assertOutputWritable(output);
    const notBefore = parseSopDate(optionValue(args, 'verify-not-before') ?? '-', '--verify-not-before');
    const notAfter = parseSopDate(optionValue(args, 'verify-not-after') ?? 'now', '--verify-not-after');

    const sessionKeys: SessionKey[] = [];
    for (const designator of optionValues(args, 'with-session-key')) sessionKeys.push(parseSessionKey(new TextDecoder().decode(await readIndirectInput(designator))));
    const passwords = await unlockPasswords(args, 'with-password');
    if (args.positionals.length === 0 && passwords.length === 0 && sessionKeys.length === 0) {
      throw new SigillError('MISSING_ARGUMENT', { detail: 'KEYS, --with-password or --with-session-key' });
    }
    const verificationKeys = await loadCertificates(verifyWith);
    const { unlocked, lockError } = await unlockDecryptionKeys(await loadSecretKeys(args.positionals), await unlockPasswords(args, 'with-key-password'));

    const plaintext = await openPlaintextOutput();
    try {
      let result: DecryptResult;
      try {
        result = await decrypt({ input: stdinStream(), sink: plaintext.sink, decryptionKeys: unlocked, passwords, sessionKeys, verificationKeys, cfb: plaintext.cfb });
      } catch (error) {
        // The one key that could have decrypted may be the one still locked.
        if (lockError !== undefined && isSigillError(error, 'NOT_ENCRYPTED_FOR_US')) throw lockError;
        // Every given key is unlocked by now: a wrong passphrase here is a message password that
        // does not decrypt, CANNOT_DECRYPT (29) in the draft, not KEY_IS_PROTECTED (67).
        if (isSigillError(error, 'BAD_PASSPHRASE')) throw new SigillError('NOT_ENCRYPTED_FOR_US', { detail: 'no given password decrypts it', cause: error });
        // A message cipher the core does not decrypt (Twofish, Camellia, ...): the draft's
        // UNSUPPORTED_ASYMMETRIC_ALGO (13) names public-key algorithms; here no usable session key
        // could be obtained, CANNOT_DECRYPT (29), which is also what sqop and pgpainless-cli answer.
        if (isSigillError(error, 'UNSUPPORTED_ALGORITHM')) throw new ExitCodeOverride(error, sopExitCodes.CANNOT_DECRYPT);
        throw error;
      } finally {
        clearKeys(unlocked);
      }
      if (sessionKeyOut !== undefined) await writeIndirectOutput(sessionKeyOut, formatSessionKey(result.sessionKey));
      if (verificationsOut !== undefined) {
        const inWindow = result.verifications.filter((verification) => withinWindow(verification, notBefore, notAfter));
        await writeIndirectOutput(verificationsOut, formatVerifications(inWindow));
      }
      await plaintext.writeToStdout();
    } finally {
      await plaintext.dispose();
    }
    return sopExitCodes.OK;
  },
};
