/**
 * Signature subcommands (draft-dkg-openpgp-stateless-cli, sections "sign", "verify", "inline-sign",
 * "inline-verify", "inline-detach"). Data streams from stdin; signing and verification are the core's.
 */
import { SigillError } from '../../../core/index.ts';
import { armor, detachInline, sign, verifyDetached, verifyInline, type Verification } from '../../../core/index.ts';
import { choiceOption, optionValue, type ParsedArgs } from '../args.ts';
import { keyPasswordOption, noArmorOption, type SopCommand } from '../command.ts';
import { requirePositionals } from '../checks.ts';
import { sopExitCodes } from '../exit-codes.ts';
import { formatVerifications, parseSopDate } from '../formats.ts';
import { assertOutputWritable, collect, readIndirectInput, stdinStream, writeIndirectOutput, writeStdout } from '../io.ts';
import { clearKeys, loadCertificates, signingKeys, unlockPasswords } from '../key-inputs.ts';
import { micalgOf } from '../micalg.ts';
import { openPlaintextOutput } from '../plaintext-output.ts';

const verificationWindowOptions = [
  { name: 'not-before', takesValue: true },
  { name: 'not-after', takesValue: true },
] as const;

/** --not-before (default: the beginning of time) and --not-after (default: now), section "verify". */
function verificationWindow(args: ParsedArgs): { notBefore?: Date; notAfter?: Date } {
  const notBefore = parseSopDate(optionValue(args, 'not-before') ?? '-', '--not-before');
  const notAfter = parseSopDate(optionValue(args, 'not-after') ?? 'now', '--not-after');
  return { ...(notBefore ? { notBefore } : {}), ...(notAfter ? { notAfter } : {}) };
}

/** "At least one valid signature", else NO_SIGNATURE (3), the success criterion of every verify. */
function requireGoodSignature(verifications: readonly Verification[]): void {
  if (!verifications.some((verification) => verification.status === 'good')) throw new SigillError('NO_SIGNATURE');
}

export const signCommand: SopCommand = {
  name: 'sign',
  summary: 'Creates detached signatures',
  usage: '[--no-armor] [--as={binary|text}] [--with-key-password=PASSWORD...] [--micalg-out=MICALG] [--] KEYS... < DATA',
  options: [noArmorOption, { name: 'as', takesValue: true }, keyPasswordOption, { name: 'micalg-out', takesValue: true }],
  keyPurpose: 'sign',
  async run(args) {
    const mode = choiceOption(args, 'as', ['binary', 'text'] as const, 'binary');
    const micalgOut = optionValue(args, 'micalg-out');
    if (micalgOut !== undefined) assertOutputWritable(micalgOut);
    const keys = await signingKeys(requirePositionals(args, 'KEYS to sign with'), await unlockPasswords(args, 'with-key-password'));
    let signatures: Uint8Array;
    try {
      // Detached signatures are small: collected, so --micalg-out can be read from them.
      signatures = await collect(await sign({ input: stdinStream(), signingKeys: keys, detached: true, mode, armor: !args.flags.has('no-armor') }));
    } finally {
      clearKeys(keys);
    }
    if (micalgOut !== undefined) await writeIndirectOutput(micalgOut, await micalgOf(signatures));
    await writeStdout(signatures);
    return sopExitCodes.OK;
  },
};

export const verifyCommand: SopCommand = {
  name: 'verify',
  summary: 'Verifies detached signatures',
  usage: '[--not-before=DATE] [--not-after=DATE] [--] SIGNATURES CERTS... < DATA',
  options: verificationWindowOptions,
  async run(args) {
    const [signaturesDesignator, ...certificateDesignators] = args.positionals;
    if (signaturesDesignator === undefined) throw new SigillError('MISSING_ARGUMENT', { detail: 'SIGNATURES' });
    if (certificateDesignators.length === 0) throw new SigillError('MISSING_ARGUMENT', { detail: 'CERTS to verify with' });
    const window = verificationWindow(args);
    const signature = await readIndirectInput(signaturesDesignator);
    const verificationKeys = await loadCertificates(certificateDesignators);
    const verifications = await verifyDetached({ input: stdinStream(), signature, verificationKeys, ...window });
    requireGoodSignature(verifications);
    await writeStdout(formatVerifications(verifications));
    return sopExitCodes.OK;
  },
};

export const inlineSignCommand: SopCommand = {
  name: 'inline-sign',
  summary: 'Creates inline-signed messages (binary, text, or cleartext signature framework)',
  usage: '[--no-armor] [--as={binary|text|clearsigned}] [--with-key-password=PASSWORD...] [--] KEYS... < DATA',
  options: [noArmorOption, { name: 'as', takesValue: true }, keyPasswordOption],
  keyPurpose: 'sign',
  async run(args) {
    const as = choiceOption(args, 'as', ['binary', 'text', 'clearsigned'] as const, 'binary');
    // Section "inline-sign": the cleartext signature framework is armored by definition.
    if (as === 'clearsigned' && args.flags.has('no-armor')) throw new SigillError('INCOMPATIBLE_OPTIONS', { detail: '--as=clearsigned with --no-armor' });
    const keys = await signingKeys(requirePositionals(args, 'KEYS to sign with'), await unlockPasswords(args, 'with-key-password'));
    try {
      // --as=text / clearsigned: the core checks the input is UTF-8 (EXPECTED_TEXT, 53).
      const signed = await sign({
        input: stdinStream(),
        signingKeys: keys,
        detached: false,
        cleartext: as === 'clearsigned',
        mode: as === 'binary' ? 'binary' : 'text',
        armor: !args.flags.has('no-armor'),
      });
      await writeStdout(signed);
    } finally {
      clearKeys(keys);
    }
    return sopExitCodes.OK;
  },
};

export const inlineVerifyCommand: SopCommand = {
  name: 'inline-verify',
  summary: 'Verifies inline-signed messages and outputs the data',
  usage: '[--not-before=DATE] [--not-after=DATE] [--verifications-out=VERIFICATIONS] [--] CERTS... < INLINESIGNED',
  options: [...verificationWindowOptions, { name: 'verifications-out', takesValue: true }],
  async run(args) {
    const verificationsOut = optionValue(args, 'verifications-out');
    if (verificationsOut !== undefined) assertOutputWritable(verificationsOut);
    const window = verificationWindow(args);
    const verificationKeys = await loadCertificates(requirePositionals(args, 'CERTS to verify with'));
    const plaintext = await openPlaintextOutput();
    try {
      const verifications = await verifyInline({ input: stdinStream(), sink: plaintext.sink, verificationKeys, ...window });
      // No data leaves without a valid signature.
      requireGoodSignature(verifications);
      if (verificationsOut !== undefined) await writeIndirectOutput(verificationsOut, formatVerifications(verifications));
      await plaintext.writeToStdout();
    } finally {
      await plaintext.dispose();
    }
    return sopExitCodes.OK;
  },
};

export const inlineDetachCommand: SopCommand = {
  name: 'inline-detach',
  summary: 'Splits an inline-signed message into data and detached signatures',
  usage: '[--no-armor] --signatures-out=SIGNATURES < INLINESIGNED',
  options: [noArmorOption, { name: 'signatures-out', takesValue: true }],
  async run(args) {
    const signaturesOut = optionValue(args, 'signatures-out');
    if (signaturesOut === undefined) throw new SigillError('MISSING_ARGUMENT', { detail: '--signatures-out' });
    assertOutputWritable(signaturesOut);
    const { data, signatures } = await detachInline({ input: stdinStream() });
    // The data streams out first: an inline signed message carries its signatures after it.
    await writeStdout(data);
    const binary = await signatures;
    const output = args.flags.has('no-armor') ? binary : await collect(armor(binary, 'signature'));
    await writeIndirectOutput(signaturesOut, output);
    return sopExitCodes.OK;
  },
};
