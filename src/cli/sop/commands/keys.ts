/**
 * Key subcommands (draft-dkg-openpgp-stateless-cli, sections "generate-key", "change-key-password",
 * "revoke-key", "extract-cert"): KEYS in, KEYS or CERTS out, all OpenPGP work in src/core/keys.
 */
import { SigillError } from '../../../core/index.ts';
import { changePassphrase, extractCertificate, generateKey, readSecretKeys, revokeKey, clearUnlockedKey } from '../../../core/index.ts';
import { optionValue } from '../args.ts';
import { keyPasswordOption, noArmorOption, type SopCommand } from '../command.ts';
import { rejectPositionals } from '../checks.ts';
import { sopExitCodes } from '../exit-codes.ts';
import { collect, stdinStream, writeStdout } from '../io.ts';
import { exportKeys, newMaterialPassword, unlockPasswords } from '../key-inputs.ts';
import { findProfile, generateKeyProfiles } from '../profiles.ts';

export const generateKeyCommand: SopCommand = {
  name: 'generate-key',
  summary: 'Generates a secret key (see list-profiles generate-key)',
  usage: '[--no-armor] [--with-key-password=PASSWORD] [--profile=PROFILE] [--signing-only] [--] [USERID...]',
  options: [
    noArmorOption,
    { name: 'with-key-password', takesValue: true },
    { name: 'profile', takesValue: true },
    { name: 'signing-only', takesValue: false },
  ],
  async run(args) {
    const profile = findProfile(generateKeyProfiles, optionValue(args, 'profile'));
    if (args.positionals.length === 0 && profile !== 'rfc9580') {
      // The draft allows generate-key without USERID. A v4 key keeps its preferences, flags and
      // expiry on user ID self-signatures (RFC 9580 §10.1.1, §5.2.3.10); a user-ID-less v4 key needs
      // a direct-key self-signature (0x1F) in their place, which OpenPGP.js cannot make (it refuses
      // v4 keys without user IDs), and stripping the user ID of a generated key would leave one
      // without those subpackets. So: the request is valid SOP that this implementation does not
      // support, UNSUPPORTED_OPTION (37) rather than BAD_DATA (41); v6 keys (rfc9580) work.
      throw new SigillError('UNSUPPORTED_OPTION', { detail: `generate-key without USERID needs --profile=rfc9580 (a v4 ${profile} key needs a user ID)` });
    }
    const passphrase = await newMaterialPassword(optionValue(args, 'with-key-password'), 'with-key-password');
    // Section "generate-key": --signing-only makes a key that cannot decrypt (no encryption subkey).
    const signingOnly = args.flags.has('signing-only');
    const { secretKey } = await generateKey({ userIDs: args.positionals, profile, signingOnly, ...(passphrase !== undefined ? { passphrase } : {}) });
    await writeStdout(exportKeys([secretKey], { armor: !args.flags.has('no-armor'), secret: true }));
    return sopExitCodes.OK;
  },
};

export const changeKeyPasswordCommand: SopCommand = {
  name: 'change-key-password',
  summary: 'Changes (or removes) the password of secret keys',
  usage: '[--no-armor] [--new-key-password=PASSWORD] [--old-key-password=PASSWORD...] < KEYS',
  options: [noArmorOption, { name: 'new-key-password', takesValue: true }, { name: 'old-key-password', takesValue: true, repeatable: true }],
  async run(args) {
    rejectPositionals(args);
    const oldPassphrases = await unlockPasswords(args, 'old-key-password');
    const newPassphrase = await newMaterialPassword(optionValue(args, 'new-key-password'), 'new-key-password');
    const keys = await readSecretKeys(await collect(stdinStream()));
    const changed = [];
    for (const key of keys) changed.push(await changePassphrase({ key, oldPassphrases, newPassphrase }));
    try {
      await writeStdout(exportKeys(changed, { armor: !args.flags.has('no-armor'), secret: true }));
    } finally {
      // Without a new password the output keys are unlocked copies: clear them once written.
      for (const key of changed) clearUnlockedKey(key);
    }
    return sopExitCodes.OK;
  },
};

export const revokeKeyCommand: SopCommand = {
  name: 'revoke-key',
  summary: 'Makes revocation certificates for secret keys',
  usage: '[--no-armor] [--with-key-password=PASSWORD...] < KEYS',
  options: [noArmorOption, keyPasswordOption],
  async run(args) {
    rejectPositionals(args);
    const passphrases = await unlockPasswords(args, 'with-key-password');
    const keys = await readSecretKeys(await collect(stdinStream()));
    const certificates = [];
    for (const key of keys) certificates.push(extractCertificate(await revokeKey({ key, passphrases })));
    await writeStdout(exportKeys(certificates, { armor: !args.flags.has('no-armor'), secret: false }));
    return sopExitCodes.OK;
  },
};

export const extractCertCommand: SopCommand = {
  name: 'extract-cert',
  summary: 'Extracts the certificates (public keys) of secret keys',
  usage: '[--no-armor] < KEYS',
  options: [noArmorOption],
  async run(args) {
    rejectPositionals(args);
    const keys = await readSecretKeys(await collect(stdinStream()));
    await writeStdout(exportKeys(keys.map(extractCertificate), { armor: !args.flags.has('no-armor'), secret: false }));
    return sopExitCodes.OK;
  },
};
