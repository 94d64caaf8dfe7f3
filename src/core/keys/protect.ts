/**
 * Passphrase protection of secret keys (RFC 9580 §5.5.3, §3.7): unlock, lock, change.
 * Unlocking always works on a copy and checks the secret parameters against the public ones, so a
 * key whose public part was swapped or whose secret part was altered is never used (KEY-BAD, and the
 * key-overwriting attacks of Bruseghini, Huigens and Paterson, 2022).
 */
import { encryptKey, type PrivateKey } from 'openpgp';
import { SigillError } from '../errors.ts';
import { clearUnlockedKey, copyPrivateKey, errorText, isUnlocked, protectionConfig, requireSecret, secretKeyPackets } from './internal.ts';

type DecryptOutcome = 'ok' | 'wrong-passphrase' | 'unsupported' | 'no-webassembly' | 'corrupt';

/** OpenPGP.js reports these cases only through error messages. */
function classifyDecryptError(error: unknown): Exclude<DecryptOutcome, 'ok'> {
  // Argon2 (RFC 9580 §3.7.1.4) runs as WebAssembly in OpenPGP.js; a page whose content security
  // policy refuses WebAssembly fails here, which says nothing about the key.
  // Checked by name: the WebAssembly globals are not typed for the core, and names hold across realms.
  if (error instanceof Error && (error.name === 'CompileError' || error.name === 'LinkError')) return 'no-webassembly';
  const text = errorText(error);
  if (text.startsWith('Incorrect key passphrase')) return 'wrong-passphrase';
  if (/unsupported S2K|insecure|unsalted/i.test(text)) return 'unsupported';
  // The passphrase check passed but the decrypted parameters cannot be parsed.
  return 'corrupt';
}

/**
 * Returns an unlocked copy of `key`; the given key object is not changed. Every passphrase is tried for
 * every secret key packet. An unprotected key needs no passphrase. Throws KEY_NOT_SECRET, KEY_LOCKED
 * (no passphrase given), BAD_PASSPHRASE, UNSUPPORTED_ALGORITHM (an S2K Sigill refuses, RFC 9580 §3.7.2.1)
 * or KEY_TAMPERED (secret and public parameters do not match).
 */
export async function unlockKey(key: PrivateKey, passphrases: string[]): Promise<PrivateKey> {
  requireSecret(key);
  const copy = await copyPrivateKey(key);
  try {
    for (const packet of secretKeyPackets(copy)) {
      if (!packet.isDecrypted()) {
        await decryptPacket(packet, passphrases, copy.getFingerprint());
      }
      try {
        // With AEAD protection (usage 253) decryption already authenticated the public part; otherwise
        // OpenPGP.js recomputes the public parameters from the secret ones.
        await packet.validate();
      } catch (error) {
        throw new SigillError('KEY_TAMPERED', { detail: `key packet ${packet.getFingerprint()}`, cause: error });
      }
    }
    return copy;
  } catch (error) {
    clearUnlockedKey(copy);
    throw error;
  }
}

async function decryptPacket(packet: ReturnType<typeof secretKeyPackets>[number], passphrases: string[], fingerprint: string): Promise<void> {
  if (passphrases.length === 0) {
    throw new SigillError('KEY_LOCKED', { detail: fingerprint });
  }
  const outcomes: DecryptOutcome[] = [];
  let lastError: unknown;
  for (const passphrase of passphrases) {
    try {
      await packet.decrypt(passphrase);
      return;
    } catch (error) {
      outcomes.push(classifyDecryptError(error));
      lastError = error;
    }
  }
  if (outcomes.includes('no-webassembly')) {
    throw new SigillError('INTERNAL', { detail: `unlocking ${packet.getFingerprint()} needs WebAssembly (Argon2), which this environment refused: ${errorText(lastError)}`, cause: lastError });
  }
  if (outcomes.includes('corrupt')) {
    throw new SigillError('KEY_TAMPERED', { detail: `the secret part of ${packet.getFingerprint()} cannot be read`, cause: lastError });
  }
  if (outcomes.includes('unsupported')) {
    throw new SigillError('UNSUPPORTED_ALGORITHM', { detail: `the secret key protection of ${packet.getFingerprint()}: ${errorText(lastError)}`, cause: lastError });
  }
  throw new SigillError('BAD_PASSPHRASE', { detail: fingerprint, cause: lastError });
}

/**
 * Returns a copy of the unlocked `key` protected with `passphrase`. Throws KEY_LOCKED if `key` is not
 * unlocked, BAD_INPUT for an empty passphrase.
 */
export async function lockKey(key: PrivateKey, passphrase: string): Promise<PrivateKey> {
  requireSecret(key);
  if (typeof passphrase !== 'string' || passphrase === '') {
    throw new SigillError('BAD_INPUT', { detail: 'the passphrase must not be empty' });
  }
  if (!isUnlocked(key)) {
    throw new SigillError('KEY_LOCKED', { detail: `unlock ${key.getFingerprint()} before protecting it with a new passphrase` });
  }
  try {
    return await encryptKey({ privateKey: key, passphrase, config: protectionConfig(key.keyPacket.version) });
  } catch (error) {
    throw new SigillError('INTERNAL', { detail: `protecting the key failed: ${errorText(error)}`, cause: error });
  }
}

export interface ChangePassphraseOptions {
  key: PrivateKey;
  /** Passphrases to try for unlocking; may be empty for an unprotected key. */
  oldPassphrases: string[];
  /** The new passphrase; `undefined` removes the protection. */
  newPassphrase?: string | undefined;
}

/** Returns a copy of `key` protected with `newPassphrase` (or unprotected); the unlocked intermediate is cleared. */
export async function changePassphrase(options: ChangePassphraseOptions): Promise<PrivateKey> {
  const unlocked = await unlockKey(options.key, options.oldPassphrases);
  if (options.newPassphrase === undefined) {
    return unlocked;
  }
  try {
    return await lockKey(unlocked, options.newPassphrase);
  } finally {
    clearUnlockedKey(unlocked);
  }
}
