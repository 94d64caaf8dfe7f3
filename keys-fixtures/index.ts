/**
 * Test helpers for the checked-in fixture keys (see README.md here). Tests read these files; they never
 * regenerate them (`npx tsx keys-fixtures/generate.ts` does, by hand).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PrivateKey, PublicKey } from 'openpgp';
import { readCertificates, readSecretKeys, unlockKey } from '../src/core/index.ts';

/** Ordinary people with good keys. alice, bob, carol: v4 Ed25519/Cv25519; dave: v4 RSA-3072; erin: v6 Ed25519/X25519. */
export const personas = ['alice', 'bob', 'carol', 'dave', 'erin'] as const;
export type Persona = (typeof personas)[number];

/**
 * Keys that must be refused or handled with care:
 * - `mallory`: an attacker's ordinary key, whose subkey is grafted onto `unbound-subkey` and `forged-subkey`;
 * - `expired`: created 2024-01-01, expired 2025-01-01;
 * - `revoked`: revoked by its owner (reason "retired");
 * - `signing-only`: an Ed25519 primary key with no encryption subkey;
 * - `tampered`: the secret Ed25519 seed of the primary key was altered before locking (public part intact);
 * - `tampered-subkey`: the same for the secret scalar of the Cv25519 encryption subkey;
 * - `unbound-subkey`: a good certificate plus mallory's newer subkey without any binding signature (public only);
 * - `forged-subkey`: a good certificate plus mallory's newer subkey carrying a copy of the owner's binding
 *   signature of another subkey, so its issuer looks right but it does not verify (public only).
 */
export const specialKeys = ['mallory', 'expired', 'revoked', 'signing-only', 'tampered', 'tampered-subkey', 'unbound-subkey', 'forged-subkey'] as const;
export type SpecialKey = (typeof specialKeys)[number];

export type FixtureName = Persona | SpecialKey;
export const fixtureNames: readonly FixtureName[] = [...personas, ...specialKeys];

/** Keys that come only as a public certificate. */
export const publicOnlyFixtures: readonly FixtureName[] = ['unbound-subkey', 'forged-subkey'];

/**
 * - `pub`: armored certificate;
 * - `sec`: armored secret key, locked with `fixturePassphrase(name)`;
 * - `unprotected`: the same secret key without passphrase (personas and mallory only), for tools that
 *   take keys without a passphrase (sop, gpg --batch);
 * - `rev`: the armored revocation certificate made at generation (not for the public-only fixtures).
 */
export type FixtureKind = 'pub' | 'sec' | 'unprotected' | 'rev';

const suffixes: Record<FixtureKind, string> = {
  pub: '.pub.asc',
  sec: '.sec.asc',
  unprotected: '.unprotected.sec.asc',
  rev: '.rev.asc',
};

export const fixturesDirectory = fileURLToPath(new URL('.', import.meta.url));

export function fixtureFileName(name: FixtureName, kind: FixtureKind): string {
  return `${name}${suffixes[kind]}`;
}

export function fixturePath(name: FixtureName, kind: FixtureKind): string {
  return fileURLToPath(new URL(fixtureFileName(name, kind), import.meta.url));
}

export function readFixture(name: FixtureName, kind: FixtureKind): string {
  return readFileSync(fixturePath(name, kind), 'utf8');
}

export function fixturePassphrase(name: FixtureName): string {
  return `${name}-passphrase`;
}

/** The persona's e-mail address; the user ID is `Name <address>` with the name capitalised. */
export function fixtureAddress(name: FixtureName): string {
  return `${name}@sigill.test`;
}

export function fixtureUserID(name: FixtureName): string {
  const displayName = name
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(' ');
  return `${displayName} <${fixtureAddress(name)}>`;
}

/** The fixture's certificate as an OpenPGP.js object. */
export async function loadCertificate(name: FixtureName): Promise<PublicKey> {
  const [certificate] = await readCertificates(readFixture(name, 'pub'));
  if (certificate === undefined) throw new Error(`fixture ${name} holds no certificate`);
  return certificate;
}

/** The fixture's secret key, locked as stored, or unlocked with its passphrase when `unlocked` is set. */
export async function loadSecretKey(name: FixtureName, options: { unlocked?: boolean } = {}): Promise<PrivateKey> {
  const [secretKey] = await readSecretKeys(readFixture(name, 'sec'));
  if (secretKey === undefined) throw new Error(`fixture ${name} holds no secret key`);
  return options.unlocked === true ? unlockKey(secretKey, [fixturePassphrase(name)]) : secretKey;
}
