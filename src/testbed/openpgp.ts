/**
 * Thunderbird's own OpenPGP (RNP) as a peer: key pairs made with gpg in a throwaway GNUPGHOME, and the
 * files that give a profile working built-in OpenPGP without a single dialog (pubring.gpg, secring.gpg,
 * the key passphrase encrypted with NSS SDR, acceptance rows in openpgp.sqlite, the identity's key pref).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MARKER_VARIABLE } from './processes.ts';
import { sqliteHelper } from './paths.ts';

export interface OpenPgpKey {
  address: string;
  /** 40 hex digits, upper case. */
  fingerprint: string;
  /** The primary key's 16-hex key ID, upper case: what `openpgp_key_id` wants. */
  keyId: string;
  /** Binary transferable public key. */
  publicKey: Buffer;
  /** Binary secret key, protected with `passphrase`. */
  secretKey: Buffer;
  passphrase: string;
}

/**
 * Generates Ed25519/Cv25519 key pairs with gpg. `gnupgHome` is created and its gpg-agent killed before
 * returning; `marker` tags gpg's processes so the leftover check would see a stray agent.
 */
export function generateKeys(people: { name: string; address: string }[], gnupgHome: string, marker: string): OpenPgpKey[] {
  mkdirSync(gnupgHome, { recursive: true, mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: gnupgHome, [MARKER_VARIABLE]: marker };
  const gpg = (args: string[], passphrase?: string): Buffer =>
    execFileSync(
      'gpg',
      ['--batch', '--no-tty', '--quiet', ...(passphrase === undefined ? [] : ['--pinentry-mode', 'loopback', '--passphrase', passphrase]), ...args],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
  try {
    return people.map(({ name, address }) => {
      const passphrase = randomBytes(12).toString('hex');
      gpg(['--quick-gen-key', `${name} <${address}>`, 'future-default', 'default', 'never'], passphrase);
      const colons = gpg(['--with-colons', '--list-keys', `<${address}>`]).toString();
      const fingerprint = /^fpr:(?:[^:]*:){8}([0-9A-F]{40}):/m.exec(colons)?.[1];
      if (fingerprint === undefined) throw new Error(`gpg made no key for ${address}`);
      return {
        address,
        fingerprint,
        keyId: fingerprint.slice(-16),
        publicKey: gpg(['--export', fingerprint]),
        secretKey: gpg(['--export-secret-keys', fingerprint], passphrase),
        passphrase,
      };
    });
  } finally {
    execFileSync('gpgconf', ['--kill', 'all'], { env, stdio: 'ignore' });
  }
}

export interface BuiltinOpenPgp {
  own: OpenPgpKey;
  /** Keys accepted (verified) for their addresses. */
  correspondents: OpenPgpKey[];
}

/**
 * Writes the OpenPGP files into a profile whose key4.db exists already (the login step creates it);
 * `sdrEncrypt` is the profile's NSS SDR. Returns the identity prefs that select the key.
 */
export function provisionBuiltinOpenPgp(
  profileDir: string,
  openpgp: BuiltinOpenPgp,
  sdrEncrypt: (plaintexts: string[]) => string[],
): Record<string, string> {
  const { own, correspondents } = openpgp;
  writeFileSync(join(profileDir, 'pubring.gpg'), Buffer.concat([own.publicKey, ...correspondents.map((key) => key.publicKey)]));
  writeFileSync(join(profileDir, 'secring.gpg'), own.secretKey);
  const [passphrase] = sdrEncrypt([own.passphrase]);
  writeFileSync(join(profileDir, 'encrypted-openpgp-passphrase.txt'), passphrase ?? '');
  const rows = [
    { fpr: own.fingerprint, decision: 'personal', emails: [] },
    ...correspondents.map((key) => ({ fpr: key.fingerprint, decision: 'verified', emails: [key.address] })),
  ];
  execFileSync('python3', [sqliteHelper, join(profileDir, 'openpgp.sqlite')], { input: JSON.stringify(rows) });
  return { 'mail.identity.id1.openpgp_key_id': own.keyId };
}
