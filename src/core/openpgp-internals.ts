/**
 * Every place where the core reaches into OpenPGP.js beyond its typed public API: fields its typings
 * mark private or omit, and the one method the core wraps. Kept in this one module so that an
 * OpenPGP.js update is checked here (and by the tests that exercise each use), not across the core.
 * Each accessor says what it relies on and why the public API does not suffice.
 *
 * Checked against openpgp 6.3.x (the version package.json allows).
 */
import * as openpgp from 'openpgp';
import type { StreamHashAlgorithm, StreamHashFactory } from './platform.ts';
import { coalescePartialBodies } from './messages/partial-bodies.ts';

// ---- Messages and packet lists

/**
 * The rest of a streamed packet list. OpenPGP.js's PacketList.read keeps the packets after the first
 * streamed one on `packets.stream` (untyped); decrypt reads it to the end to reject trailing packets
 * (RFC 9580 §10.3 grammar) and drains it when the message turns out not to be encrypted.
 */
export function packetStream(message: openpgp.Message<unknown>): unknown {
  return (message.packets as unknown as { stream?: unknown }).stream;
}

/**
 * Fields of a SEIPD packet (RFC 9580 §5.13) that the typings mark private. decrypt needs the version
 * and cipher (SEIPDv2 names its cipher in the packet, §5.13.2) and takes over the `encrypted` body
 * stream of a SEIPDv1 packet to decrypt it as it streams (OpenPGP.js would buffer it, seipd-v1.ts).
 */
export interface SeipdFields {
  version: number;
  cipherAlgorithm: number | null;
  encrypted: ReadableStream<Uint8Array> | Uint8Array | null;
}

export function seipdFields(packet: openpgp.SymEncryptedIntegrityProtectedDataPacket): SeipdFields {
  return packet as unknown as SeipdFields;
}

/** A literal data packet's format octet (RFC 9580 §5.9); `format` is private in the typings. */
export function literalFormat(packet: openpgp.LiteralDataPacket): openpgp.enums.literal {
  return (packet as unknown as { format: openpgp.enums.literal }).format;
}

/** A literal data packet's body stream (`data`, private), drained when a message is not encrypted. */
export function literalData(packet: openpgp.LiteralDataPacket): unknown {
  return (packet as unknown as { data: unknown }).data;
}

/**
 * Runs `openpgp.decrypt` while capturing the decrypted inner Message, which it does not return: its
 * literal data packet carries the format octet (RFC 9580 §5.9) and must exist (a message of only a
 * signature is no plaintext). Relies on openpgp.decrypt calling `message.decrypt(...)` on the very
 * object passed in; the wrapper only observes the result.
 */
export function captureDecryptedMessage(message: openpgp.Message<ReadableStream<Uint8Array>>): () => openpgp.Message<unknown> | undefined {
  let decrypted: openpgp.Message<unknown> | undefined;
  const original = message.decrypt.bind(message);
  message.decrypt = async (...args: Parameters<typeof message.decrypt>) => {
    const result = await original(...args);
    decrypted = result;
    return result;
  };
  return () => decrypted;
}

/** A cleartext signed message's signature (`signature`, private on CleartextMessage); detachInline writes it out. */
export function cleartextSignature(message: openpgp.CleartextMessage): openpgp.Signature {
  return (message as unknown as { signature: openpgp.Signature }).signature;
}

// ---- ASCII armor (RFC 9580 §6)

/**
 * Armors a byte stream. openpgp.armor takes and returns web streams (its stream helpers pass them
 * through), but its typings say a body object in and a string out; armor.ts needs the streaming form
 * so memory stays bounded. The result is a stream of strings (or a string for array input).
 */
export function armorStream(type: openpgp.enums.armor, body: ReadableStream<Uint8Array>): unknown {
  return openpgp.armor(type, body as unknown as Uint8Array);
}

/**
 * Removes armor from a stream of text. openpgp.unarmor accepts a web stream of strings, typed as a
 * string; its `data` is then a byte stream that errors on a bad checksum or encoding at the end.
 */
export async function unarmorStream(text: ReadableStream<string>): Promise<{ data: unknown; type: openpgp.enums.armor }> {
  return openpgp.unarmor(text as unknown as string);
}

// ---- Session key packets (RFC 9580 §5.1, §5.3)

/**
 * The key ID a PKESK names (`publicKeyID`, private): all zeros is the wildcard "any key" (§5.1.1).
 * Needed to count, before any private-key operation, how many attempts a message asks for.
 */
export function pkeskKeyID(packet: openpgp.PublicKeyEncryptedSessionKeyPacket): openpgp.KeyID {
  return (packet as unknown as { publicKeyID: openpgp.KeyID }).publicKeyID;
}

/** What an SKESK's string-to-key specifier (RFC 9580 §3.7.1) asks of a decryptor. */
export type S2kDemand =
  | { type: 'simple' | 'salted'; hash: number; keySize: number }
  | { type: 'iterated'; hash: number; keySize: number; count: number }
  | { type: 'argon2'; passes: number; parallelism: number; memoryExponent: number }
  | { type: 'other'; name: string };

interface S2kFields {
  type: string;
  algorithm: number;
  getCount?: () => number;
  t: number;
  p: number;
  encodedM: number;
}

interface SkeskFields {
  version: number;
  sessionKeyAlgorithm: number | null;
  sessionKeyEncryptionAlgorithm: number | null;
  s2k: S2kFields | null;
}

/** Key sizes in octets of the ciphers (RFC 9580 §9.3), by OpenPGP.js enum value. */
const cipherKeySizes: Record<number, number> = { 1: 16, 2: 24, 3: 16, 4: 16, 7: 16, 8: 24, 9: 32, 10: 32, 11: 16, 12: 24, 13: 32 };

/**
 * The S2K parameters of an SKESK (`s2k`, `version`, the cipher fields: private). OpenPGP.js runs the
 * S2K whatever it asks (an iterated count allocates the whole count in memory; Argon2 as much memory
 * as given), so the cost is judged from these fields before any derivation runs. The key size is
 * that of the cipher the S2K output keys (v4: the session key's, v5/v6: the ESK cipher, §5.3); an
 * unknown cipher counts as the largest key.
 */
export function skeskS2kDemand(packet: openpgp.SymEncryptedSessionKeyPacket): S2kDemand {
  const fields = packet as unknown as SkeskFields;
  const s2k = fields.s2k;
  if (s2k === null) return { type: 'other', name: 'none' };
  const cipher = skeskCipher(packet);
  const keySize = (cipher !== null ? cipherKeySizes[cipher] : undefined) ?? 32;
  switch (s2k.type) {
    case 'simple':
    case 'salted':
      return { type: s2k.type, hash: s2k.algorithm, keySize };
    case 'iterated':
      return { type: 'iterated', hash: s2k.algorithm, keySize, count: s2k.getCount?.() ?? Number.POSITIVE_INFINITY };
    case 'argon2':
      return { type: 'argon2', passes: s2k.t, parallelism: s2k.p, memoryExponent: s2k.encodedM };
    default:
      return { type: 'other', name: s2k.type };
  }
}

/**
 * The cipher (RFC 9580 §9.3 number) an SKESK's S2K output keys (§5.3): the one that encrypts its
 * session key when it carries one (every v5/v6 packet, some v4 ones), else a v4 packet's data
 * cipher. OpenPGP.js's read() stores the octet in `sessionKeyEncryptionAlgorithm` in the first case
 * and in `sessionKeyAlgorithm` in the second.
 */
export function skeskCipher(packet: openpgp.SymEncryptedSessionKeyPacket): number | null {
  const fields = packet as unknown as SkeskFields;
  return fields.sessionKeyEncryptionAlgorithm ?? fields.sessionKeyAlgorithm;
}

/**
 * A message of one session key packet: a fresh copy (serialised and parsed again), so OpenPGP.js's
 * `decryptSessionKeys` can be asked about exactly one packet with one key or password, through its
 * public API. A copy, because that function mutates the packet (it sets the decrypted session key,
 * and drops a PKESK's encrypted value after one attempt).
 */
export async function singleEskMessage(packet: openpgp.PublicKeyEncryptedSessionKeyPacket | openpgp.SymEncryptedSessionKeyPacket): Promise<openpgp.Message<Uint8Array>> {
  const list = new openpgp.PacketList<openpgp.AnyPacket>();
  list.push(packet);
  const allowed = {
    [openpgp.enums.packet.publicKeyEncryptedSessionKey]: openpgp.PublicKeyEncryptedSessionKeyPacket,
    [openpgp.enums.packet.symEncryptedSessionKey]: openpgp.SymEncryptedSessionKeyPacket,
  };
  // PacketList.fromBinary's second parameter is typed as an internal map of tag -> packet class.
  const copy = await openpgp.PacketList.fromBinary(list.write(), allowed as unknown as Parameters<typeof openpgp.PacketList.fromBinary>[1]);
  return new openpgp.Message(copy);
}

// ---- Keys

interface ClearablePacket {
  clearPrivateParams?: () => void;
}

/**
 * Overwrites the decrypted secret parameters of a secret key packet. `clearPrivateParams` exists on
 * secret key packets at run time but is missing from OpenPGP.js's typings (KEY-REST: unlocked
 * copies are cleared after use).
 */
export function clearPrivateParams(packet: openpgp.SecretKeyPacket): void {
  const clearable = packet as unknown as ClearablePacket;
  if (packet.isDecrypted() && typeof clearable.clearPrivateParams === 'function') clearable.clearPrivateParams();
}

// ---- Hashing of streamed signature data (RFC 9580 §5.2.4)

/** What the wrapper reads of a (one-pass) signature packet: its hash algorithm and its own toHash. */
interface HashingPacket {
  hashAlgorithm: number;
  toHash(signatureType: number, data: unknown, detached?: boolean): unknown;
}

type SignatureHash = (this: HashingPacket, signatureType: number, data: unknown, toHash?: unknown, detached?: boolean) => Promise<unknown>;

interface HashedPacketClass {
  prototype: { hash: SignatureHash };
}

/** OpenPGP.js hash enum values (RFC 9580 §9.5) of the algorithms a StreamHashFactory can replace. */
const streamHashNames: Record<number, StreamHashAlgorithm> = { 2: 'sha1', 8: 'sha256', 9: 'sha384', 10: 'sha512', 11: 'sha224' };

const originalHashes = new Map<HashedPacketClass, SignatureHash>();

/**
 * Routes the hashing of streamed signature data through `factory` (or back to OpenPGP.js's own with
 * undefined). OpenPGP.js computes the digest a message signature covers in `hash()` of
 * SignaturePacket, which OnePassSignaturePacket shares (its prototype method is the same function):
 * both call an internal digest that, for a stream, feeds @noble/hashes chunk by chunk in its browser
 * build. There is no option to inject another hash, so the method is wrapped on both prototypes:
 * - for a stream (the message data of a signature being made or verified), the wrapper first runs
 *   the original on an empty input, which keeps OpenPGP.js's own checks (a v6 signature's salt
 *   length, unknown algorithms), then hashes the stream with the factory's incremental hash and
 *   answers, as the original does, a stream that yields the digest once the data has been read;
 * - for anything else (keys, certifications: small arrays), the original runs unchanged.
 * The digest is the same function of the same bytes, so signatures stay interchangeable (tested
 * against OpenPGP.js's own hashing and GnuPG).
 */
export function useStreamHashes(factory: StreamHashFactory | undefined): void {
  for (const packetClass of [openpgp.SignaturePacket, openpgp.OnePassSignaturePacket] as unknown as HashedPacketClass[]) {
    const original = originalHashes.get(packetClass) ?? packetClass.prototype.hash;
    originalHashes.set(packetClass, original);
    if (factory === undefined) {
      packetClass.prototype.hash = original;
      continue;
    }
    packetClass.prototype.hash = async function hash(this: HashingPacket, signatureType, data, toHash, detached = false) {
      const input = toHash ?? this.toHash(signatureType, data, detached);
      const name = streamHashNames[this.hashAlgorithm];
      if (!(input instanceof ReadableStream) || name === undefined) return original.call(this, signatureType, data, input, detached);
      await original.call(this, signatureType, data, new Uint8Array(0), detached);
      const hasher = await factory(name);
      if (hasher === undefined) return original.call(this, signatureType, data, input, detached);
      return (input as ReadableStream<Uint8Array>).pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk) {
            hasher.update(chunk);
          },
          flush(controller) {
            controller.enqueue(hasher.digest());
          },
        }),
      );
    };
  }
}

// ---- Compressed data

interface CompressedPacket {
  algorithm: number;
  compressed: unknown;
  decompress(config?: openpgp.Config): Promise<void>;
}

let inflateInstalled = false;

/**
 * Inflates streamed ZIP and ZLIB Compressed Data packets (RFC 9580 §5.6) with the engine's
 * `DecompressionStream`, as OpenPGP.js itself does where the engine has one, and re-frames the partial
 * body of the literal data packet inside into 256 KiB chunks (partial-bodies.ts) before OpenPGP.js parses
 * the inflated packets. Why: GnuPG writes that literal data packet in 8 KiB partial bodies, which OpenPGP.js
 * cuts again wherever an inflated chunk ends, so a 10 MiB message reached the signature hash and the sink as
 * about 3,000 pieces, half of them 39 octets or less; every piece costs a promise and a read in each web
 * stream it passes, which profiled as the largest share of a read in Thunderbird (docs/architecture.md).
 *
 * OpenPGP.js has no option for it, and it inflates while it parses the packet (`read` calls
 * `decompress`), so `CompressedDataPacket.prototype.decompress` is wrapped: for a ZIP or ZLIB body that is a
 * stream, the wrapper hands OpenPGP.js's own `decompress` the inflated and re-framed stream marked as
 * uncompressed (algorithm 0), so everything OpenPGP.js does after inflating still runs: the
 * `maxDecompressedMessageSize` cap (compression bombs; it counts the inflated octets), the parse with the
 * packets a compressed packet may hold and its grammar check. The algorithm is set back afterwards. Arrays,
 * BZip2 and an engine without `DecompressionStream` (or without the format) go to OpenPGP.js unchanged.
 * The inflated octets are the same and the literal data's body is the same concatenation, so signatures
 * verify the same (tests: decrypt.test.ts, gpg's compressed messages).
 */
export function useCoalescedInflate(): void {
  if (inflateInstalled) return;
  inflateInstalled = true;
  const prototype = openpgp.CompressedDataPacket.prototype as unknown as CompressedPacket;
  const original = prototype.decompress;
  const formats: Partial<Record<number, 'deflate-raw' | 'deflate'>> = { [openpgp.enums.compression.zip]: 'deflate-raw', [openpgp.enums.compression.zlib]: 'deflate' };
  prototype.decompress = async function decompress(this: CompressedPacket, config?: openpgp.Config): Promise<void> {
    const format = formats[this.algorithm];
    if (format === undefined || !(this.compressed instanceof ReadableStream) || typeof DecompressionStream !== 'function') return original.call(this, config);
    let inflater: DecompressionStream;
    try {
      inflater = new DecompressionStream(format);
    } catch {
      return original.call(this, config); // the engine lacks the format: OpenPGP.js's fallback
    }
    const algorithm = this.algorithm;
    // The typings' DecompressionStream takes any BufferSource; the packet's body is bytes.
    const inflated = (this.compressed as ReadableStream<BufferSource>).pipeThrough(inflater);
    this.compressed = coalescePartialBodies(inflated, { tag: openpgp.enums.packet.literalData });
    this.algorithm = openpgp.enums.compression.uncompressed;
    try {
      await original.call(this, config);
    } finally {
      this.algorithm = algorithm;
    }
  };
}
