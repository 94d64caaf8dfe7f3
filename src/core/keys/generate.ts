/**
 * Key generation with the profiles Sigill offers.
 */
import { enums, generateKey as openpgpGenerateKey, readPrivateKey, type KeyOptions, type PartialConfig, type PrivateKey, type PublicKey } from 'openpgp';
import { SigillError } from '../errors.ts';
import { clearUnlockedKey, errorText } from './internal.ts';
import { lockKey } from './protect.ts';
import { validateUserIDs } from './user-id.ts';

/**
 * - `default`: v4 Ed25519 (EdDSALegacy) primary key for certification and signing with a Cv25519
 *   (ECDH curve25519Legacy) encryption subkey; read by GnuPG 2.2, rnp, Mailvelope, Sequoia.
 * - `rsa3072`, `rsa4096`: v4 RSA primary key and RSA encryption subkey, for old peers.
 * - `rfc9580`: v6 Ed25519 primary key with an X25519 subkey (RFC 9580 §5.5.2), advertising SEIPDv2.
 */
export type KeyProfile = 'default' | 'rsa3072' | 'rsa4096' | 'rfc9580';

export const keyProfiles: readonly KeyProfile[] = ['default', 'rsa3072', 'rsa4096', 'rfc9580'];

export interface GenerateKeyInput {
  /** e.g. `"Alice <alice@example.org>"`; kept byte for byte. The first one is the primary user ID. */
  userIDs: string[];
  profile?: KeyProfile;
  /** When given, the returned secret key is locked (encrypted) with it. */
  passphrase?: string;
  /** Key lifetime counted from the creation date; none means the key does not expire. */
  expiresInSeconds?: number;
  /** Creation date of the key and its self-signatures (default: now). */
  date?: Date;
  /** Only the primary key (certify + sign), no encryption subkey: `sop generate-key --signing-only`. */
  signingOnly?: boolean;
}

export interface GeneratedKey {
  secretKey: PrivateKey;
  publicKey: PublicKey;
  /** Armored key revocation signature, made at generation so the owner can revoke a lost key. */
  revocationCertificate: string;
}

type AlgorithmOptions = Pick<KeyOptions, 'type' | 'curve' | 'rsaBits' | 'subkeys'> & { config: PartialConfig };

// Every profile pins the config fields that decide the key format, so a global OpenPGP.js config change
// elsewhere cannot turn a "GnuPG-readable" v4 key into something GnuPG 2.2 rejects.
const v4Config: PartialConfig = { v6Keys: false, aeadProtect: false };

// A function, not a table: OpenPGP.js writes defaults (date, expiry ...) into the subkey option objects
// it is given, which would leak from one generation into the next.
const profileOptions = (profile: KeyProfile): AlgorithmOptions => (({
  default: {
    type: 'ecc',
    curve: 'ed25519Legacy',
    subkeys: [{ type: 'ecc', curve: 'curve25519Legacy' }],
    config: { ...v4Config },
  },
  rsa3072: { type: 'rsa', rsaBits: 3072, subkeys: [{ type: 'rsa', rsaBits: 3072 }], config: { ...v4Config } },
  rsa4096: { type: 'rsa', rsaBits: 4096, subkeys: [{ type: 'rsa', rsaBits: 4096 }], config: { ...v4Config } },
  rfc9580: {
    type: 'curve25519',
    subkeys: [{ type: 'curve25519' }],
    // aeadProtect makes the self-signature advertise SEIPDv2 and AEAD cipher suites, GCM first
    // (RFC 9580 §5.2.3.15, §5.2.3.32); the secret key is protected separately by lockKey.
    config: { v6Keys: true, aeadProtect: true, preferredAEADAlgorithm: enums.aead.gcm },
  },
}) satisfies Record<KeyProfile, AlgorithmOptions>)[profile];

function checkOptions(options: GenerateKeyInput): { profile: KeyProfile; userIDs: string[] } {
  const profile = options.profile ?? 'default';
  if (!keyProfiles.includes(profile)) {
    throw new SigillError('UNSUPPORTED_ALGORITHM', { detail: `unknown key profile ${JSON.stringify(profile)}; known: ${keyProfiles.join(', ')}` });
  }
  const userIDs = validateUserIDs(options.userIDs);
  if (userIDs.length === 0 && profile !== 'rfc9580') {
    // RFC 9580 §10.1.1: a v4 key's preferences and expiry live on its user ID self-signatures.
    throw new SigillError('BAD_USER_ID', { detail: 'a v4 key needs at least one user ID' });
  }
  const { expiresInSeconds, date, passphrase } = options;
  if (expiresInSeconds !== undefined && !(Number.isSafeInteger(expiresInSeconds) && expiresInSeconds > 0 && expiresInSeconds < 2 ** 32)) {
    throw new SigillError('BAD_INPUT', { detail: 'expiresInSeconds must be a positive whole number of seconds below 2^32' });
  }
  if (date !== undefined && !(date instanceof Date && Number.isFinite(date.getTime()))) {
    throw new SigillError('BAD_INPUT', { detail: 'date must be a valid Date' });
  }
  if (passphrase !== undefined && passphrase === '') {
    throw new SigillError('BAD_INPUT', { detail: 'the passphrase must not be empty; leave it out for an unprotected key' });
  }
  return { profile, userIDs };
}

/** Generates a key pair with a revocation certificate. */
export async function generateKey(options: GenerateKeyInput): Promise<GeneratedKey> {
  const { profile, userIDs } = checkOptions(options);
  const { config, ...algorithm } = profileOptions(profile);
  if (options.signingOnly === true) {
    algorithm.subkeys = [];
  }
  let generated;
  try {
    generated = await openpgpGenerateKey({
      ...algorithm,
      // `{ name }` keeps the caller's text verbatim as the User ID packet (RFC 9580 §5.11); OpenPGP.js
      // would otherwise rebuild it from parts.
      userIDs: userIDs.map((userID) => ({ name: userID })),
      ...(options.expiresInSeconds === undefined ? {} : { keyExpirationTime: options.expiresInSeconds }),
      ...(options.date === undefined ? {} : { date: options.date }),
      format: 'object',
      config,
    });
  } catch (error) {
    throw new SigillError('INTERNAL', { detail: `key generation failed: ${errorText(error)}`, cause: error });
  }
  // Reading the key back parses the user IDs into name and address, as for any imported key.
  const unlocked = await readPrivateKey({ binaryKey: generated.privateKey.write() });
  clearUnlockedKey(generated.privateKey);
  if (options.passphrase === undefined) {
    return { secretKey: unlocked, publicKey: unlocked.toPublic(), revocationCertificate: generated.revocationCertificate };
  }
  const secretKey = await lockKey(unlocked, options.passphrase);
  clearUnlockedKey(unlocked);
  return { secretKey, publicKey: secretKey.toPublic(), revocationCertificate: generated.revocationCertificate };
}
