/**
 * Decryption with bounded memory in both SEIPD versions, releasing nothing unauthenticated:
 * plaintext is written to a caller's PlaintextSink that is committed only after every check passed.
 *
 * - SEIPDv2 (RFC 9580 §5.13.2, AEAD): OpenPGP.js decrypts chunk by chunk, each chunk authenticated;
 *   truncation is caught at the final tag, which OpenPGP.js surfaces as an error of the data stream
 *   (its linkStreams). We write the stream to the sink and commit only when it ended without error.
 * - SEIPDv1 (RFC 9580 §5.13.1, CFB + MDC): OpenPGP.js would buffer everything; we decrypt the
 *   packet body ourselves as it streams (seipd-v1.ts), hand the inner packets to the OpenPGP.js
 *   parser (literal data, compression, one-pass signatures), write the literal data to the sink and
 *   commit only if the MDC matched. A parse error waits for the MDC verdict, which takes precedence.
 *   The legacy CAST5 and TripleDES use OpenPGP.js's in-memory path, capped in size (TOO_LARGE; it
 *   likewise releases nothing before the MDC check); other ciphers are UNSUPPORTED_ALGORITHM
 *   (seipd-v1.ts, legacyCiphers, says why).
 * - SED (tag 9, no integrity protection) is always refused: NO_INTEGRITY_PROTECTION.
 */
import * as openpgp from 'openpgp';
import { SigillError, isSigillError } from '../errors.ts';
import { hex, pgpConfig, toSigillError, toVerifications } from './common.ts';
import { QUICK_CHECK_LENGTH, decryptSeipdV1, isDecryptableCipher, quickCheck, streamingCiphers } from './seipd-v1.ts';
import { captureDecryptedMessage, literalData, literalFormat, packetStream, seipdFields, useCoalescedInflate, type SeipdFields } from '../openpgp-internals.ts';
import { coalescePartialBodies } from './partial-bodies.ts';
import { ChunkReader, isLiteralDataHeader, streamLiteralData } from './literal-data.ts';
import { unarmorNatively } from './native-armor.ts';
import { cipherNames, defaultDecryptLimits, noCandidateError, passwordCandidates, publicKeyCandidates, type CandidateResult, type DecryptLimits } from './session-keys.ts';
import { notOpenpgp, peek, pumpToSink, sniffArmor, toStream } from './streams.ts';
import type { CfbDecryptorFactory, DataInput, DecryptResult, PlaintextSink, SessionKey } from './types.ts';

export interface DecryptOptions {
  input: DataInput;
  sink: PlaintextSink;
  /** Unlocked private keys. */
  decryptionKeys?: openpgp.PrivateKey[];
  passwords?: string[];
  sessionKeys?: SessionKey[];
  verificationKeys?: openpgp.PublicKey[];
  date?: Date;
  /** Faster audited CFB/SHA-1 for SEIPDv1 (Node: src/platform/node/cfb.ts). */
  cfb?: CfbDecryptorFactory;
  /** Refuse (TOO_LARGE) a message that decompresses to more than this; bounds compression bombs. */
  maxDecompressedSize?: number;
  /** How much session-key work the message may ask for (TOO_EXPENSIVE past it); see DecryptLimits for the defaults. */
  limits?: DecryptLimits;
}

const tags = openpgp.enums.packet;

// A compressed message's literal data in 256 KiB pieces instead of GnuPG's 8 KiB ones cut again by the
// inflater (openpgp-internals.ts says why and what stays OpenPGP.js's).
useCoalescedInflate();

export async function decrypt(options: DecryptOptions): Promise<DecryptResult> {
  const { sink } = options;
  try {
    return await run(options);
  } catch (error) {
    await sink.abort(error).catch(() => undefined);
    throw toSigillError(error, 'MALFORMED_MESSAGE');
  }
}

/** Reads an OpenPGP message (armored or binary) from any input, as a stream. */
export async function readMessageStream(input: DataInput, config: Partial<openpgp.Config>): Promise<openpgp.Message<ReadableStream<Uint8Array>>> {
  const sniffed = await sniffArmor(toStream(input));
  if (sniffed.empty) throw new SigillError('MALFORMED_MESSAGE', { detail: 'empty input' });
  if (!sniffed.openpgp) throw notOpenpgp();
  try {
    if (!sniffed.armored) return await openpgp.readMessage({ binaryMessage: coalescePartialBodies(sniffed.stream), config }); // speed only: see partial-bodies.ts
    // The engine's native base64 where it has one and the armor has the common form (native-armor.ts).
    const unarmored = await unarmorNatively(sniffed.stream);
    return 'packets' in unarmored
      ? await openpgp.readMessage({ binaryMessage: coalescePartialBodies(unarmored.packets, { ownsInput: true }), config }) // the decoder's arrays are new and handed over
      : await openpgp.readMessage({ armoredMessage: unarmored.text, config });
  } catch (error) {
    throw toSigillError(error, sniffed.armored ? 'MALFORMED_ARMOR' : 'MALFORMED_MESSAGE');
  }
}

/** Reads a packet stream to its end; any further packet, or an error in it, is a malformed message. */
async function expectNoMorePackets(stream: unknown, what: string): Promise<void> {
  if (!(stream instanceof ReadableStream)) return;
  const reader = (stream as ReadableStream<unknown>).getReader();
  for (;;) {
    const { done } = await reader.read();
    if (done) return;
    await reader.cancel().catch(() => undefined);
    throw new SigillError('MALFORMED_MESSAGE', { detail: `packet after the ${what}` });
  }
}

async function drain(stream: unknown): Promise<void> {
  if (!(stream instanceof ReadableStream)) return;
  const reader = (stream as ReadableStream<unknown>).getReader();
  while (!(await reader.read()).done) {
    /* discard */
  }
}

async function run(options: DecryptOptions): Promise<DecryptResult> {
  const config = pgpConfig(options.maxDecompressedSize !== undefined ? { maxDecompressedMessageSize: options.maxDecompressedSize } : {});
  const message = await readMessageStream(options.input, config);
  const dataPacket = message.packets.find((packet) =>
    [tags.symmetricallyEncryptedData, tags.symEncryptedIntegrityProtectedData, tags.aeadEncryptedData, tags.literalData, tags.compressedData].includes(
      (packet.constructor as { tag?: number }).tag ?? -1,
    ),
  );
  const tag = (dataPacket?.constructor as { tag?: number } | undefined)?.tag;
  if (tag === tags.symmetricallyEncryptedData) {
    // RFC 9580 §5.7: SED has no integrity protection and is deprecated; its plaintext is malleable
    // (EFAIL's CFB gadgets). Refused outright, before any key is used.
    throw new SigillError('NO_INTEGRITY_PROTECTION');
  }
  if (tag === tags.aeadEncryptedData) {
    throw new SigillError('UNSUPPORTED_ALGORITHM', { detail: 'AEAD Encrypted Data packet (tag 20, never standardised)' });
  }
  if (tag !== tags.symEncryptedIntegrityProtectedData || dataPacket === undefined) {
    // Plaintext data first: if encrypted packets follow, the grammar check fails while reading
    // on ("literal data outside the encrypted packet"); otherwise it is simply not encrypted.
    try {
      if (dataPacket instanceof openpgp.LiteralDataPacket) await drain(literalData(dataPacket));
      await drain(packetStream(message));
    } catch (error) {
      throw toSigillError(error, 'MALFORMED_MESSAGE');
    }
    throw new SigillError('NOT_ENCRYPTED');
  }
  const seipd = seipdFields(dataPacket as openpgp.SymEncryptedIntegrityProtectedDataPacket);
  if (seipd.version === 2) {
    // §5.13.2: the data packet names its cipher; only AES is decrypted (see isDecryptableCipher).
    const cipher = seipd.cipherAlgorithm !== null ? cipherNames[seipd.cipherAlgorithm] : undefined;
    if (cipher === undefined || streamingCiphers[cipher] === undefined) throw new SigillError('UNSUPPORTED_ALGORITHM', { detail: `SEIPDv2 with ${cipher ?? `cipher ${String(seipd.cipherAlgorithm)}`}` });
  }
  const candidates = await sessionKeyCandidates(options, message, seipd);
  const decryptable = candidates.filter((candidate) => isDecryptableCipher(candidate.algorithm));
  if (decryptable.length === 0) throw new SigillError('UNSUPPORTED_ALGORITHM', { detail: `the message is encrypted with ${candidates[0]?.algorithm || 'an unknown cipher'}` });
  const sessionKey = await chooseSessionKey(decryptable, seipd, options.cfb);

  if (seipd.version === 1 && streamingCiphers[sessionKey.algorithm] !== undefined) {
    return decryptV1Streaming(options, message, seipd, sessionKey, config);
  }
  if (seipd.version === 1) {
    // A legacy cipher (seipd-v1.ts, legacyCiphers): OpenPGP.js holds the whole body; cap it.
    const limit = options.limits?.maxLegacyCipherBytes ?? defaultDecryptLimits.maxLegacyCipherBytes;
    const body = seipd.encrypted instanceof ReadableStream ? seipd.encrypted : toStream(seipd.encrypted ?? new Uint8Array(0));
    seipd.encrypted = capStream(body, limit, `a ${sessionKey.algorithm} message is decrypted in memory, up to ${limit} octets`);
  }
  return decryptWithOpenpgp(options, message, sessionKey, config);
}

/** Passes a stream through, erroring TOO_LARGE once more than `limit` octets went by. */
function capStream(stream: ReadableStream<Uint8Array>, limit: number, detail: string): ReadableStream<Uint8Array> {
  let seen = 0;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.length;
        if (seen > limit) throw new SigillError('TOO_LARGE', { detail });
        controller.enqueue(chunk);
      },
    }),
  );
}

/**
 * Every session key the caller's material yields: the given session keys, then those of the
 * decryption keys and of the passwords, found one packet at a time within `options.limits`
 * (session-keys.ts). A v4 SKESK without an encrypted session key (RFC 9580 §5.3) gives a key for any
 * password, right or wrong, so every candidate is kept. Duplicates are dropped, order is kept.
 */
async function sessionKeyCandidates(options: DecryptOptions, message: openpgp.Message<ReadableStream<Uint8Array>>, seipd: SeipdFields): Promise<SessionKey[]> {
  // SEIPDv2 with v6 ESKs: the cipher is named by the data packet, not the session key (§5.13.2).
  const fixedAlgorithm = seipd.version === 2 && seipd.cipherAlgorithm !== null ? cipherNames[seipd.cipherAlgorithm] : undefined;
  const normalise = (key: SessionKey): SessionKey => ({ algorithm: fixedAlgorithm ?? key.algorithm, data: key.data });
  const candidates: SessionKey[] = (options.sessionKeys ?? []).map(normalise);
  const search = { passwords: options.passwords ?? [], date: options.date ?? new Date(), config: pgpConfig(), limits: options.limits };
  let failure: SigillError | undefined;
  const decryptionKeys = (options.decryptionKeys ?? []).filter((key) => key.isDecrypted());
  const locked = options.decryptionKeys?.find((key) => !key.isDecrypted());
  if (locked) failure = new SigillError('KEY_LOCKED', { detail: locked.getFingerprint() });
  const searched: CandidateResult[] = [];
  if (decryptionKeys.length > 0) {
    const result = await publicKeyCandidates(message, { ...search, keys: decryptionKeys });
    searched.push(result);
    candidates.push(...result.found.map(normalise));
    if (result.found.length === 0) failure ??= isSigillError(result.failure) ? result.failure : new SigillError('NOT_ENCRYPTED_FOR_US', { cause: result.failure });
  }
  if (search.passwords.length > 0) {
    const result = await passwordCandidates(message, { ...search, keys: [] });
    searched.push(result);
    candidates.push(...result.found.map(normalise));
    if (result.found.length === 0) failure ??= new SigillError('BAD_PASSPHRASE', { cause: result.failure });
  }
  const seen = new Set<string>();
  const unique = candidates.filter((candidate) => {
    const id = `${candidate.algorithm}:${hex(candidate.data)}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  if (unique.length > 0) return unique;
  if (!options.sessionKeys?.length && !options.decryptionKeys?.length && !options.passwords?.length) {
    throw new SigillError('NOT_ENCRYPTED_FOR_US', { detail: 'no key, password or session key given' });
  }
  throw noCandidateError(searched, () => failure ?? new SigillError('NOT_ENCRYPTED_FOR_US'));
}

/**
 * Picks the session key to decrypt with, without reading the message twice (it streams).
 * - SEIPDv1 with AES: the first candidate that passes the §5.13.1 quick check (see quickCheck for
 *   why this is no oracle); if none does, the first, which then fails at the MDC like any wrong key.
 * - Otherwise (SEIPDv2, other ciphers): the first candidate whose size fits the cipher. SEIPDv2
 *   authenticates per chunk (§5.13.2), but testing a candidate on the first chunk would mean
 *   re-implementing its key derivation outside OpenPGP.js; with keys and passwords the v6 PKESK /
 *   SKESK already reject wrong candidates (AEAD, key wrap), so this only matters for several
 *   --with-session-key values.
 * A failure is always the one error of the decryption itself, whatever the candidates were.
 */
async function chooseSessionKey(candidates: SessionKey[], seipd: SeipdFields, cfb: CfbDecryptorFactory | undefined): Promise<SessionKey> {
  const [first] = candidates;
  if (first === undefined) throw new SigillError('NOT_ENCRYPTED_FOR_US');
  if (candidates.length === 1) return first;
  if (seipd.version === 1 && seipd.encrypted !== null) {
    let head: Uint8Array;
    if (seipd.encrypted instanceof ReadableStream) {
      const peeked = await peek(seipd.encrypted, (bytes) => bytes.length >= QUICK_CHECK_LENGTH);
      seipd.encrypted = peeked.stream;
      head = peeked.head;
    } else {
      head = seipd.encrypted;
    }
    return candidates.find((candidate) => quickCheck({ head, algorithm: candidate.algorithm, key: candidate.data, cfb })) ?? first;
  }
  const fits = (candidate: SessionKey): boolean => {
    const size = streamingCiphers[candidate.algorithm];
    return size === undefined || candidate.data.length === size;
  };
  return candidates.find(fits) ?? first;
}

function formatOf(message: openpgp.Message<unknown>): DecryptResult['format'] {
  const literal = message.unwrapCompressed().packets.findPacket(tags.literalData);
  switch (literal instanceof openpgp.LiteralDataPacket ? literalFormat(literal) : undefined) {
    case openpgp.enums.literal.text:
      return 'text';
    case openpgp.enums.literal.utf8:
      return 'utf8';
    case openpgp.enums.literal.mime:
      return 'mime';
    default:
      return 'binary';
  }
}

async function decryptV1Streaming(
  options: DecryptOptions,
  message: openpgp.Message<ReadableStream<Uint8Array>>,
  seipd: SeipdFields,
  sessionKey: SessionKey,
  config: Partial<openpgp.Config>,
): Promise<DecryptResult> {
  const ciphertext = seipd.encrypted instanceof ReadableStream ? seipd.encrypted : toStream(seipd.encrypted ?? new Uint8Array(0));
  const v1 = decryptSeipdV1({ ciphertext, algorithm: sessionKey.algorithm, key: sessionKey.data, cfb: options.cfb });
  const verificationKeys = options.verificationKeys ?? [];
  try {
    const bytes = new ChunkReader(v1.packets.getReader());
    const firstOctet = await bytes.peek();
    if (firstOctet !== undefined && isLiteralDataHeader(firstOctet)) {
      // Literal data only (no signature can be in such a message): straight into the sink.
      const literal = await streamLiteralData(bytes, options.sink);
      if (!(await v1.integrity)) throw new SigillError('INTEGRITY_FAILURE');
      await expectNoMorePackets(packetStream(message), 'encrypted data');
      await options.sink.commit();
      return { sessionKey, verifications: [], format: literal.format, ...(literal.filename ? { filename: literal.filename } : {}) };
    }
    const inner = await openpgp.readMessage({ binaryMessage: bytes.rest(), config });
    // §5.13.1: the plaintext is an OpenPGP Message; we accept only literal data, optionally
    // compressed and signed, never another encryption layer.
    const first = inner.packets.find((packet) => packet instanceof openpgp.LiteralDataPacket || packet instanceof openpgp.CompressedDataPacket);
    if (!first) throw new SigillError('MALFORMED_MESSAGE', { detail: 'the encrypted data holds no literal data' });
    const verified = await openpgp.verify({ message: inner, verificationKeys, format: 'binary', date: options.date ?? new Date(), config });
    const format = formatOf(inner);
    await pumpToSink(verified.data, options.sink);
    if (!(await v1.integrity)) throw new SigillError('INTEGRITY_FAILURE');
    await expectNoMorePackets(packetStream(message), 'encrypted data');
    const verifications = await toVerifications(verified.signatures, verificationKeys);
    await options.sink.commit();
    const filename = inner.getFilename();
    return { sessionKey, verifications, format, ...(filename ? { filename } : {}) };
  } catch (error) {
    // Let the integrity verdict win over any parse error: a tampered ciphertext must look the same
    // whatever garbage it decrypts to. Cancelling drains the rest of the ciphertext for the MDC.
    if (!(await v1.abandon())) throw new SigillError('INTEGRITY_FAILURE', { cause: error });
    throw error;
  }
}

async function decryptWithOpenpgp(
  options: DecryptOptions,
  message: openpgp.Message<ReadableStream<Uint8Array>>,
  sessionKey: SessionKey,
  config: Partial<openpgp.Config>,
): Promise<DecryptResult> {
  const verificationKeys = options.verificationKeys ?? [];
  // openpgp.decrypt does not hand out the decrypted Message; capture it to read the literal
  // packet's format octet (RFC 9580 §5.9).
  const decrypted = captureDecryptedMessage(message);
  let result: Awaited<ReturnType<typeof openpgp.decrypt<ReadableStream<Uint8Array>>>>;
  try {
    result = await openpgp.decrypt({ message, sessionKeys: [sessionKey as openpgp.SessionKey], verificationKeys, format: 'binary', date: options.date ?? new Date(), config });
  } catch (error) {
    throw toSigillError(error, 'INTEGRITY_FAILURE');
  }
  const decryptedMessage = decrypted();
  const inner = decryptedMessage?.unwrapCompressed();
  if (inner && !inner.packets.some((packet) => packet instanceof openpgp.LiteralDataPacket)) {
    throw new SigillError('MALFORMED_MESSAGE', { detail: 'the encrypted data holds no literal data' });
  }
  try {
    await pumpToSink(result.data as ReadableStream<Uint8Array>, options.sink);
  } catch (error) {
    throw toSigillError(error, 'INTEGRITY_FAILURE');
  }
  const verifications = await toVerifications(result.signatures, verificationKeys);
  await options.sink.commit();
  const format = decryptedMessage ? formatOf(decryptedMessage) : 'binary';
  return { sessionKey, verifications, format, ...(result.filename ? { filename: result.filename } : {}) };
}
