/**
 * Key material for the interop suites, written as files into a throwaway directory: every SOP tool and
 * gpg take keys as files. Persona keys come from keys-fixtures/; peers' own keys are added by the suites.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { repoRoot } from '../support/sop.ts';

export type KeyKind = 'cv25519' | 'rsa3072' | 'v6' | 'other';

export interface InteropKey {
  /** Short name used in file names and test titles: `alice`, `gpg-rsa3072` ... */
  name: string;
  kind: KeyKind;
  /** Where the key comes from, for titles: `fixture`, `OpenPGP.js`, `made by sqop` ... */
  origin: string;
  /** Armored secret key, protected with `password` when there is one. */
  secretPath: string;
  /** The same secret key without passphrase protection, for peers with no --with-key-password (gosop). */
  unlockedSecretPath: string;
  /** Armored certificate. */
  certPath: string;
  /** File holding the password (no trailing newline), or undefined for an unprotected key. */
  passwordPath: string | undefined;
  /** Primary key fingerprint, upper-case hex. */
  fingerprint: string;
  /** Primary and subkey fingerprints, upper-case hex. */
  fingerprints: string[];
  /** The user ID's e-mail address. */
  email: string;
}

/** Reads a secret key (and optionally its certificate as the tool that made it exported it) into files. */
export async function keyFromArmor(
  dir: string,
  name: string,
  kind: KeyKind,
  origin: string,
  secret: string | Uint8Array,
  password: string | undefined,
  cert?: string | Uint8Array,
): Promise<InteropKey> {
  const key =
    typeof secret === 'string'
      ? await openpgp.readPrivateKey({ armoredKey: secret })
      : await openpgp.readPrivateKey({ binaryKey: secret });
  const unlocked = key.isDecrypted() ? key : await openpgp.decryptKey({ privateKey: key, passphrase: password ?? '' });
  const secretPath = join(dir, `${name}.sec.asc`);
  const unlockedSecretPath = join(dir, `${name}.unlocked.sec.asc`);
  const certPath = join(dir, `${name}.cert.asc`);
  await writeFile(secretPath, typeof secret === 'string' ? secret : key.armor());
  await writeFile(unlockedSecretPath, unlocked.armor());
  await writeFile(certPath, cert ?? key.toPublic().armor());
  let passwordPath: string | undefined;
  if (password !== undefined && !key.isDecrypted()) {
    passwordPath = join(dir, `${name}.password`);
    await writeFile(passwordPath, password);
  }
  const userId = await key.getPrimaryUser().catch(() => undefined);
  return {
    name,
    kind,
    origin,
    secretPath,
    unlockedSecretPath,
    certPath,
    passwordPath,
    fingerprint: key.getFingerprint().toUpperCase(),
    fingerprints: [key, ...key.getSubkeys()].map((k) => k.getFingerprint().toUpperCase()),
    email: userId?.user.userID?.email ?? '',
  };
}

/** Classifies a key read from a peer: Cv25519/Ed25519 v4, RSA-3072 v4, v6 or something else. */
export async function kindOf(secretOrCert: string): Promise<KeyKind> {
  const key = await openpgp.readKey({ armoredKey: secretOrCert });
  if (key.keyPacket.version === 6) return 'v6';
  const info = key.getAlgorithmInfo();
  if (info.algorithm === 'eddsaLegacy' || info.algorithm === 'ed25519') return 'cv25519';
  if (info.algorithm.startsWith('rsa') && info.bits === 3072) return 'rsa3072';
  return 'other';
}

export interface Personas {
  /** Ed25519/Cv25519 v4. */
  alice: InteropKey;
  /** RSA-3072 v4. */
  dave: InteropKey;
  /** RFC 9580 v6 (unsupported by gpg 2.2 and the Debian SOP peers). */
  erin: InteropKey;
}

const fixturesDir = join(repoRoot, 'keys-fixtures');

/**
 * A persona from keys-fixtures/ (see its README): `<name>.sec.asc` locked with `<name>-passphrase`,
 * `<name>.pub.asc`, and `<name>.unprotected.sec.asc`.
 */
async function fixture(dir: string, name: string, kind: KeyKind): Promise<InteropKey> {
  const read = (file: string) => readFile(join(fixturesDir, file), 'utf8');
  const key = await keyFromArmor(dir, name, kind, 'fixture', await read(`${name}.sec.asc`), `${name}-passphrase`, await read(`${name}.pub.asc`));
  const unprotected = join(fixturesDir, `${name}.unprotected.sec.asc`);
  return existsSync(unprotected) ? { ...key, unlockedSecretPath: unprotected } : key;
}

/** alice (Cv25519 v4), dave (RSA-3072 v4), erin (v6), from keys-fixtures/. */
export async function loadPersonas(dir: string): Promise<Personas> {
  const [alice, dave, erin] = await Promise.all([fixture(dir, 'alice', 'cv25519'), fixture(dir, 'dave', 'rsa3072'), fixture(dir, 'erin', 'v6')]);
  return { alice, dave, erin };
}
