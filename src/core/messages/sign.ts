/**
 * Signing and verification: detached signatures, inline signed messages (one-pass signatures,
 * RFC 9580 §5.4 and §10.3) and cleartext signatures (RFC 9580 §7, framed in cleartext.ts). Binary
 * data streams; the cleartext framework is for text (mail bodies) and is held in memory, bounded.
 */
import * as openpgp from 'openpgp';
import { cleartextSignature } from '../openpgp-internals.ts';
import { SigillError, isSigillError } from '../errors.ts';
import { assertUsable } from '../keys/status.ts';
import { mapStreamErrors, pgpConfig, toSigillError, toVerifications } from './common.ts';
import { CLEARTEXT_HEAD_LENGTH, DEFAULT_CLEARTEXT_LIMIT, clearsign, readCleartext, readText, signedText, signedTextAsFile, startsCleartext } from './cleartext.ts';
import { readMessageStream } from './decrypt.ts';
import { createLiteralMessage } from './encrypt.ts';
import { asByteStream, concatBytes, notOpenpgp, pumpToSink, readAll, sniffArmor, toStream } from './streams.ts';
import type { DataInput, PlaintextSink, Verification } from './types.ts';

export interface SignOptions {
  input: DataInput;
  signingKeys: openpgp.PrivateKey[];
  /** Signatures only. */
  detached?: boolean;
  /** An RFC 9580 §7 cleartext signed message (always text mode). */
  cleartext?: boolean;
  /** Signature type 0x00 binary (default) or 0x01 canonical text (RFC 9580 §5.2.1). */
  mode?: 'binary' | 'text';
  /** Default true. Cleartext signed messages are always armored. */
  armor?: boolean;
  date?: Date;
  /** Bound of the in-memory cleartext framework (TOO_LARGE past it); default DEFAULT_CLEARTEXT_LIMIT. */
  maxCleartextSize?: number;
}

export interface VerifyDetachedOptions {
  input: DataInput;
  signature: Uint8Array | string;
  verificationKeys: openpgp.PublicKey[];
  notBefore?: Date;
  notAfter?: Date;
}

export interface VerifyInlineOptions {
  input: DataInput;
  sink: PlaintextSink;
  verificationKeys: openpgp.PublicKey[];
  notBefore?: Date;
  notAfter?: Date;
  /** Bound for a cleartext signed input, held in memory (TOO_LARGE past it); default DEFAULT_CLEARTEXT_LIMIT. */
  maxCleartextSize?: number;
}

const decoder = new TextDecoder();
/** Detached signature input is read whole; no real one comes near this (TOO_LARGE past it). */
const MAX_SIGNATURE_INPUT = 16 * 1024 * 1024;

async function checkSigners(signingKeys: openpgp.PrivateKey[], date: Date): Promise<void> {
  if (signingKeys.length === 0) throw new SigillError('NO_SIGNING_KEY', { detail: 'no signing key given' });
  for (const key of signingKeys) {
    await assertUsable(key, 'sign', { date });
    if (!key.isDecrypted()) throw new SigillError('KEY_LOCKED', { detail: key.getFingerprint() });
  }
}

export async function sign(options: SignOptions): Promise<ReadableStream<Uint8Array>> {
  const date = options.date ?? new Date();
  await checkSigners(options.signingKeys, date);
  const config = pgpConfig();
  const armored = options.armor ?? true;
  try {
    if (options.cleartext) {
      const text = await readText(options.input, options.maxCleartextSize ?? DEFAULT_CLEARTEXT_LIMIT, 'strict');
      return toStream(await clearsign(text, (message) => openpgp.sign({ message, signingKeys: options.signingKeys, date, config, format: 'armored' })));
    }
    const message = await createLiteralMessage(options.input, options.mode ?? 'binary', undefined, options.date);
    const common = { message, signingKeys: options.signingKeys, detached: options.detached ?? false, date, config };
    const signed = armored ? await openpgp.sign({ ...common, format: 'armored' }) : await openpgp.sign({ ...common, format: 'binary' });
    return mapStreamErrors(asByteStream(signed), 'INTERNAL');
  } catch (error) {
    throw toSigillError(error, 'INTERNAL');
  }
}

async function readSignatureInput(signature: Uint8Array | string): Promise<openpgp.Signature> {
  const sniffed = await sniffArmor(toStream(signature));
  if (sniffed.empty) throw new SigillError('BAD_INPUT', { detail: 'empty signature' });
  if (!sniffed.openpgp) throw notOpenpgp();
  const bytes = await readAll(sniffed.stream, MAX_SIGNATURE_INPUT);
  try {
    return sniffed.armored ? await openpgp.readSignature({ armoredSignature: decoder.decode(bytes) }) : await openpgp.readSignature({ binarySignature: bytes });
  } catch (error) {
    throw toSigillError(error, sniffed.armored ? 'MALFORMED_ARMOR' : 'MALFORMED_MESSAGE');
  }
}

async function discard(stream: unknown): Promise<void> {
  const reader = asByteStream(stream).getReader();
  while (!(await reader.read()).done) {
    /* the data only needs hashing */
  }
}

export async function verifyDetached(options: VerifyDetachedOptions): Promise<Verification[]> {
  const signature = await readSignatureInput(options.signature);
  const window = { notBefore: options.notBefore, notAfter: options.notAfter };
  try {
    const message = await openpgp.createMessage({ binary: toStream(options.input) });
    const result = await openpgp.verify({ message, signature, verificationKeys: options.verificationKeys, format: 'binary', date: new Date(), config: pgpConfig() });
    await discard(result.data);
    return await toVerifications(result.signatures, options.verificationKeys, window);
  } catch (error) {
    throw toSigillError(error, 'MALFORMED_MESSAGE');
  }
}

/**
 * Verifies an inline signed message (binary or armored) or a cleartext signed message and writes
 * the signed data to `sink`, committed only when at least one signature is good; otherwise the sink
 * is aborted and NO_SIGNATURE is thrown (with the verifications in `detail`).
 */
export async function verifyInline(options: VerifyInlineOptions): Promise<Verification[]> {
  const { sink } = options;
  const window = { notBefore: options.notBefore, notAfter: options.notAfter };
  try {
    const sniffed = await sniffArmor(toStream(options.input), CLEARTEXT_HEAD_LENGTH);
    let verifications: Verification[];
    if (sniffed.armored && startsCleartext(sniffed.head)) {
      const document = await readText(sniffed.stream, options.maxCleartextSize ?? DEFAULT_CLEARTEXT_LIMIT, 'lenient');
      const message = await readCleartext(document);
      const result = await openpgp.verify({ message, verificationKeys: options.verificationKeys, date: new Date(), config: pgpConfig() });
      await pumpToSink(toStream(signedTextAsFile(message, document)), sink);
      verifications = await toVerifications(result.signatures, options.verificationKeys, window);
    } else {
      const message = await readMessageStream(sniffed.stream, pgpConfig());
      if (message.packets.some((packet) => !(packet instanceof openpgp.LiteralDataPacket || packet instanceof openpgp.CompressedDataPacket || packet instanceof openpgp.OnePassSignaturePacket || packet instanceof openpgp.SignaturePacket))) {
        throw new SigillError('BAD_INPUT', { detail: 'not a signed message' });
      }
      const result = await openpgp.verify({ message, verificationKeys: options.verificationKeys, format: 'binary', date: new Date(), config: pgpConfig() });
      await pumpToSink(result.data, sink);
      verifications = await toVerifications(result.signatures, options.verificationKeys, window);
    }
    if (!verifications.some((verification) => verification.status === 'good')) {
      throw new SigillError('NO_SIGNATURE', { detail: verifications.map((v) => `${v.signingKeyFingerprint}: ${v.status}`).join('; ') || 'no signature' });
    }
    await sink.commit();
    return verifications;
  } catch (error) {
    await sink.abort(error).catch(() => undefined);
    throw isSigillError(error) ? error : toSigillError(error, 'MALFORMED_MESSAGE');
  }
}

export interface DetachedParts {
  /** The signed data. */
  data: ReadableStream<Uint8Array>;
  /**
   * The binary signature packets. For an inline signed message they follow the data (RFC 9580
   * §10.3, one-pass signatures), so this settles only once `data` has been read to its end: read
   * `data` first, then await this.
   */
  signatures: Promise<Uint8Array>;
}

/**
 * Splits an inline signed (or cleartext signed) message into its data and its binary signature
 * packets, verifying nothing. An inline signed message streams (memory does not grow with it); a
 * cleartext one is held in memory up to `maxCleartextSize` (TOO_LARGE past it).
 */
export async function detachInline(options: { input: DataInput; maxCleartextSize?: number }): Promise<DetachedParts> {
  try {
    const sniffed = await sniffArmor(toStream(options.input), CLEARTEXT_HEAD_LENGTH);
    if (sniffed.armored && startsCleartext(sniffed.head)) {
      const document = await readText(sniffed.stream, options.maxCleartextSize ?? DEFAULT_CLEARTEXT_LIMIT, 'lenient');
      const message = await readCleartext(document);
      const signatures = cleartextSignature(message).write() as Uint8Array;
      return { data: toStream(signedText(message, document)), signatures: Promise.resolve(signatures) };
    }
    const message = await readMessageStream(sniffed.stream, pgpConfig());
    const result = await openpgp.verify({ message, verificationKeys: [], format: 'binary', config: pgpConfig() });
    // The one-pass signature packets before the data announce every signature (§5.4).
    if (result.signatures.length === 0) throw new SigillError('NO_SIGNATURE', { detail: 'the message has no signature' });
    const signatures = (async () => {
      try {
        return concatBytes(await Promise.all(result.signatures.map(async (item) => (await item.signature).write())));
      } catch (error) {
        throw toSigillError(error, 'MALFORMED_MESSAGE');
      }
    })();
    // Handled here too, so a caller that stops after a failure on `data` leaves no unhandled rejection.
    signatures.catch(() => undefined);
    return { data: mapStreamErrors(asByteStream(result.data), 'MALFORMED_MESSAGE'), signatures };
  } catch (error) {
    throw toSigillError(error, 'MALFORMED_MESSAGE');
  }
}
