/**
 * KEYS, CERTS and PASSWORD arguments (draft-dkg-openpgp-stateless-cli, sections "Terminology",
 * "Human-Readable Passwords"): each is an indirect input holding one or more keys / certificates.
 */
import type { PrivateKey, PublicKey } from 'openpgp';
import { SigillError, isSigillError } from '../../core/index.ts';
import { assertUsable, clearUnlockedKey, exportKey, readCertificates, readSecretKeys, unlockKey } from '../../core/index.ts';
import { optionValues, type ParsedArgs } from './args.ts';
import { passwordCandidates, passwordForNewMaterial } from './formats.ts';
import { readIndirectInput } from './io.ts';
import { armor } from '../../core/index.ts';

export async function loadSecretKeys(designators: readonly string[]): Promise<PrivateKey[]> {
  const keys: PrivateKey[] = [];
  for (const designator of designators) keys.push(...(await readSecretKeys(await readIndirectInput(designator))));
  return keys;
}

export async function loadCertificates(designators: readonly string[]): Promise<PublicKey[]> {
  const certificates: PublicKey[] = [];
  for (const designator of designators) certificates.push(...(await readCertificates(await readIndirectInput(designator))));
  return certificates;
}

/** Every candidate password from a repeatable password option, for unlocking (never for new material). */
export async function unlockPasswords(args: ParsedArgs, option: string): Promise<string[]> {
  const candidates: string[] = [];
  for (const designator of optionValues(args, option)) candidates.push(...passwordCandidates(await readIndirectInput(designator)));
  return [...new Set(candidates)];
}

/** A password protecting new material, from a single-valued option; undefined when not given. */
export async function newMaterialPassword(designator: string | undefined, option: string): Promise<string | undefined> {
  if (designator === undefined) return undefined;
  return passwordForNewMaterial(await readIndirectInput(designator), `--${option}`);
}

/**
 * Unlocks every key with the candidate passwords (an unprotected key needs none). A key that stays
 * locked is KEY_IS_PROTECTED (67) in the draft, which is how KEY_LOCKED / BAD_PASSPHRASE map.
 */
export async function unlockKeys(keys: readonly PrivateKey[], passwords: readonly string[]): Promise<PrivateKey[]> {
  const unlocked: PrivateKey[] = [];
  try {
    for (const key of keys) unlocked.push(await unlockKey(key, [...passwords]));
    return unlocked;
  } catch (error) {
    for (const key of unlocked) clearUnlockedKey(key);
    throw error;
  }
}

export function clearKeys(keys: readonly PrivateKey[]): void {
  for (const key of keys) clearUnlockedKey(key);
}

/**
 * Signing keys for sign / inline-sign / encrypt --sign-with: loaded, checked for signing (an
 * expired, revoked or certification-only key is KEY_CANNOT_SIGN, 79) and unlocked.
 */
export async function signingKeys(designators: readonly string[], passwords: readonly string[]): Promise<PrivateKey[]> {
  const keys = await loadSecretKeys(designators);
  for (const key of keys) {
    try {
      await assertUsable(key, 'sign');
    } catch (error) {
      if (isSigillError(error, 'KEY_EXPIRED') || isSigillError(error, 'KEY_REVOKED')) {
        throw new SigillError('NO_SIGNING_KEY', { detail: error.message, cause: error });
      }
      throw error;
    }
  }
  return unlockKeys(keys, passwords);
}

/** KEYS / CERTS output: one armor block (or binary) holding every key, in order. */
export function exportKeys(keys: readonly (PrivateKey | PublicKey)[], options: { armor: boolean; secret: boolean }): Uint8Array | string | ReadableStream<Uint8Array> {
  const [only] = keys;
  if (keys.length === 1 && only !== undefined) return exportKey(only, options);
  const binaries = keys.map((key) => exportKey(key, { armor: false, secret: options.secret }));
  const all = new Uint8Array(binaries.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of binaries) {
    all.set(part, offset);
    offset += part.byteLength;
  }
  return options.armor ? armor(all, options.secret ? 'private key' : 'public key') : all;
}
