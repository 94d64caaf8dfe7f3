/**
 * Finding the session key candidates of a message from the caller's keys and passwords, one session
 * key packet at a time and within limits (the password and key-packet bombs: a 1.6 KB message of 100
 * SKESKs with the maximum S2K count, one Argon2 SKESK asking for 2 GiB × 255 passes, 1,000 wildcard
 * PKESKs). OpenPGP.js's `decryptSessionKeys` starts every packet × key/password attempt at once;
 * here each attempt is one call to it with a message of one packet and one key or password, awaited
 * before the next, so at most one key derivation or private-key operation is in flight.
 *
 * What is judged before any work: how many attempts the packets ask for (capped per kind, in packet
 * order) and what each S2K costs (RFC 9580 §3.7.1: an iterated count is octets hashed per hash
 * round; Argon2 is memory × passes, §3.7.1.4), against one budget for the whole message. Attempts
 * past a cap are not made; when nothing decrypted and something was left out, the error says so
 * (TOO_EXPENSIVE) instead of claiming a wrong key or password.
 *
 * No oracle: every attempt within the limits is made whatever the earlier ones gave, and every
 * candidate is kept; which candidate decrypts is decided afterwards (decrypt.ts, chooseSessionKey),
 * so how many attempts run never depends on the ciphertext's quick check (RFC 9580 §13.4).
 */
import * as openpgp from 'openpgp';
import { SigillError } from '../errors.ts';
import { pkeskKeyID, singleEskMessage, skeskCipher, skeskS2kDemand, type S2kDemand } from '../openpgp-internals.ts';
import { isDecryptableCipher } from './seipd-v1.ts';
import type { SessionKey } from './types.ts';

/** How much work decrypting one message may ask for. Every field is optional; see the defaults. */
export interface DecryptLimits {
  /**
   * Public-key decryptions tried: PKESK × matching (sub)key pairs (RFC 9580 §5.1); a wildcard key ID
   * (§5.1.1, hidden recipients) matches every decryption subkey. Default 32: a message hidden to
   * 32 recipients is still read; 1,000 wildcard packets cost 32 RSA operations, not 1,000.
   */
  maxPublicKeyAttempts?: number;
  /** Password derivations tried: SKESK × password pairs (§5.3). Default 16. */
  maxPasswordAttempts?: number;
  /**
   * Total password-derivation work for the message, in KiB: an iterated S2K counts the octets it
   * hashes (count × hash rounds the key length needs, §3.7.1.3), Argon2 its memory × passes
   * (§3.7.1.4). Default 2^22 KiB (4 GiB): RFC 9106's first recommended Argon2 setting (t = 1,
   * m = 2 GiB, the one RFC 9580 points to) fits twice, the maximum iterated count over 30 times.
   */
  maxKeyDerivationKiB?: number;
  /** Argon2 memory for one derivation, in KiB. Default 2^21 (2 GiB, RFC 9106 §4's first recommendation). */
  maxArgon2MemoryKiB?: number;
  /**
   * Largest SEIPDv1 body (octets) decrypted with a legacy cipher (CAST5, TripleDES), which is not
   * streamed (seipd-v1.ts, legacyCiphers): TOO_LARGE past it. Default 64 MiB.
   */
  maxLegacyCipherBytes?: number;
}

export const defaultDecryptLimits: Required<DecryptLimits> = {
  maxPublicKeyAttempts: 32,
  maxPasswordAttempts: 16,
  maxKeyDerivationKiB: 2 ** 22,
  maxArgon2MemoryKiB: 2 ** 21,
  maxLegacyCipherBytes: 64 * 1024 * 1024,
};

/** Cipher names (RFC 9580 §9.3), OpenPGP.js's where it has them. */
export const cipherNames: Record<number, string> = { 1: 'idea', 2: 'tripledes', 3: 'cast5', 4: 'blowfish', 7: 'aes128', 8: 'aes192', 9: 'aes256', 10: 'twofish', 11: 'camellia128', 12: 'camellia192', 13: 'camellia256' };

/** Digest sizes in octets (RFC 9580 §9.5), by OpenPGP.js enum value; unknown hashes count as SHA-1 (most rounds). */
const digestSizes: Record<number, number> = { 1: 16, 2: 20, 3: 20, 8: 32, 9: 48, 10: 64, 11: 28, 12: 32, 14: 64 };

/** The work of one derivation in KiB (see DecryptLimits), or a reason it is refused outright. */
function derivationCost(demand: S2kDemand, limits: Required<DecryptLimits>): { kib: number } | { refused: string } {
  switch (demand.type) {
    case 'simple':
    case 'salted':
      return { kib: 1 };
    case 'iterated': {
      // OpenPGP.js hashes `count` octets once per digest-sized piece of the key (§3.7.1.1).
      const rounds = Math.ceil(demand.keySize / (digestSizes[demand.hash] ?? 20));
      return { kib: Math.ceil((demand.count * rounds) / 1024) };
    }
    case 'argon2': {
      const memoryKiB = 2 ** demand.memoryExponent;
      if (memoryKiB > limits.maxArgon2MemoryKiB) return { refused: `Argon2 asks for ${describeKiB(memoryKiB)} of memory, more than ${describeKiB(limits.maxArgon2MemoryKiB)}` };
      return { kib: memoryKiB * demand.passes };
    }
    case 'other':
      return { kib: 0 };
  }
}

function describeKiB(kib: number): string {
  if (kib >= 2 ** 20) return `${kib / 2 ** 20} GiB`;
  if (kib >= 2 ** 10) return `${kib / 2 ** 10} MiB`;
  return `${kib} KiB`;
}

export interface CandidateSearch {
  keys: readonly openpgp.PrivateKey[];
  passwords: readonly string[];
  date: Date;
  config: Partial<openpgp.Config>;
  limits?: DecryptLimits | undefined;
}

export interface CandidateResult {
  /** Session keys the packets gave, in packet order (duplicates included; the caller dedupes). */
  found: SessionKey[];
  /** The first failure of an attempt, for the error when nothing was found. */
  failure?: unknown;
  /** Why some attempts were not made (limits), when any were left out. */
  skipped?: string;
  /** A packet left out because its cipher is not decrypted here (seipd-v1.ts, isDecryptableCipher). */
  unsupported?: string;
}

function toSessionKey(key: { data: Uint8Array; algorithm?: string | null }): SessionKey {
  return { algorithm: key.algorithm ?? '', data: key.data };
}

/** PKESK attempts: each packet with each decryption (sub)key its key ID matches, in packet order. */
export async function publicKeyCandidates(message: openpgp.Message<unknown>, search: CandidateSearch): Promise<CandidateResult> {
  const limits = { ...defaultDecryptLimits, ...search.limits };
  const result: CandidateResult = { found: [] };
  const packets = message.packets.filter((packet): packet is openpgp.PublicKeyEncryptedSessionKeyPacket => packet instanceof openpgp.PublicKeyEncryptedSessionKeyPacket);
  // getDecryptionKeys takes a whole Config, not a partial one like the top-level functions.
  const fullConfig: openpgp.Config = { ...openpgp.config, ...search.config };
  let asked = 0;
  let attempts = 0;
  for (const packet of packets) {
    for (const key of search.keys) {
      let matching: number;
      try {
        // Key expiry is not checked (null date), as OpenPGP.js does, so old messages stay readable.
        matching = (await key.getDecryptionKeys(pkeskKeyID(packet), null, undefined, fullConfig)).length;
      } catch (error) {
        result.failure ??= error;
        continue;
      }
      if (matching === 0) continue;
      asked += matching;
      if (attempts + matching > limits.maxPublicKeyAttempts) continue;
      attempts += matching;
      try {
        const found = await openpgp.decryptSessionKeys({ message: await singleEskMessage(packet), decryptionKeys: [key], date: search.date, config: search.config });
        result.found.push(...found.map(toSessionKey));
      } catch (error) {
        result.failure ??= error;
        // The key decrypted the packet, but its cipher octet names a cipher OpenPGP.js does not know
        // (Camellia: "Invalid enum value"; IDEA: "Unsupported cipher") or refuses for this key
        // (Twofish, Blowfish: "non-preferred"). A wrong key fails earlier (key unwrap, PKCS#1 padding).
        if (/non-preferred symmetric algorithm|Invalid enum value|Unsupported cipher/i.test(error instanceof Error ? error.message : '')) result.unsupported ??= 'the session key names a cipher that is not supported';
      }
    }
  }
  if (asked > attempts) result.skipped = `the message asks for ${asked} private-key decryptions; at most ${limits.maxPublicKeyAttempts} are tried`;
  return result;
}

/** SKESK attempts: each packet with each password, in packet order, within the work budget. */
export async function passwordCandidates(message: openpgp.Message<unknown>, search: CandidateSearch): Promise<CandidateResult> {
  const limits = { ...defaultDecryptLimits, ...search.limits };
  const result: CandidateResult = { found: [] };
  const packets = message.packets.filter((packet): packet is openpgp.SymEncryptedSessionKeyPacket => packet instanceof openpgp.SymEncryptedSessionKeyPacket);
  // OpenPGP.js refuses Argon2 memory above this itself too (it allocates before checking anything else).
  const config: Partial<openpgp.Config> = { ...search.config, maxArgon2MemoryExponent: Math.min(30, Math.floor(Math.log2(limits.maxArgon2MemoryKiB))) };
  let spentKiB = 0;
  let attempts = 0;
  const skipped: string[] = [];
  for (const packet of packets) {
    if (attempts >= limits.maxPasswordAttempts) {
      skipped.push(`the message asks for ${packets.length * search.passwords.length} password derivations; at most ${limits.maxPasswordAttempts} are tried`);
      break;
    }
    const cipher = skeskCipher(packet);
    const cipherName = cipher !== null ? cipherNames[cipher] : undefined;
    if (cipherName === undefined || !isDecryptableCipher(cipherName)) {
      result.unsupported ??= `a password packet uses ${cipherName ?? `cipher ${String(cipher)}`}`;
      continue;
    }
    const cost = derivationCost(skeskS2kDemand(packet), limits);
    if ('refused' in cost) {
      skipped.push(cost.refused);
      continue;
    }
    for (const password of search.passwords) {
      if (attempts >= limits.maxPasswordAttempts) {
        skipped.push(`the message asks for ${packets.length * search.passwords.length} password derivations; at most ${limits.maxPasswordAttempts} are tried`);
        break;
      }
      if (spentKiB + cost.kib > limits.maxKeyDerivationKiB) {
        skipped.push(`its password derivations need more than ${describeKiB(limits.maxKeyDerivationKiB)} of work`);
        break;
      }
      attempts += 1;
      spentKiB += cost.kib;
      try {
        const found = await openpgp.decryptSessionKeys({ message: await singleEskMessage(packet), passwords: [password], config });
        result.found.push(...found.map(toSessionKey));
      } catch (error) {
        result.failure ??= error;
      }
    }
  }
  if (skipped.length > 0) result.skipped = skipped[0];
  return result;
}

/**
 * The error when no candidate was found: TOO_EXPENSIVE if limits left attempts out, then
 * UNSUPPORTED_ALGORITHM if a packet's cipher was, else `fallback`.
 */
export function noCandidateError(results: readonly CandidateResult[], fallback: () => SigillError): SigillError {
  const skipped = results.find((result) => result.skipped !== undefined)?.skipped;
  if (skipped !== undefined) return new SigillError('TOO_EXPENSIVE', { detail: skipped });
  const unsupported = results.find((result) => result.unsupported !== undefined)?.unsupported;
  if (unsupported !== undefined) return new SigillError('UNSUPPORTED_ALGORITHM', { detail: unsupported });
  return fallback();
}
