/**
 * Streaming encryption. OpenPGP.js encrypts web streams chunk by chunk in both SEIPD versions, so
 * memory does not grow with the input.
 *
 * SEIPD version: v2 (RFC 9580 §5.13.2, AEAD) only when every recipient certificate advertises
 * SEIPDv2 in its Features subpacket (§5.2.3.32), and then always with GCM (OCB, the MUST of
 * §9.6, is pure JavaScript in OpenPGP.js and about 30x slower; GCM is backed by WebCrypto /
 * node:crypto). Otherwise v1 (§5.13.1), which every deployed implementation reads.
 */
import * as openpgp from 'openpgp';
import { SigillError } from '../errors.ts';
import { installedCfbEncryptor } from '../platform.ts';
import { assertUsable } from '../keys/status.ts';
import { mapStreamErrors, pgpConfig, toSigillError } from './common.ts';
import { writeSeipdV1 } from './seipd-v1-write.ts';
import { asByteStream, concatBytes, requireUtf8, toStream, utf8Decoder } from './streams.ts';
import type { CfbEncryptorFactory, DataInput, SessionKey } from './types.ts';

export interface EncryptOptions {
  input: DataInput;
  recipients: openpgp.PublicKey[];
  /**
   * Recipients whose key IDs are not written (anonymous recipients, RFC 9580 §5.1.1: key ID 0 in v3
   * PKESKs, §5.1.2: no fingerprint in v6 ones), as `gpg --hidden-recipient` does: for Bcc, so no
   * other recipient learns who else can read the message. Readers try every secret key they hold.
   */
  hiddenRecipients?: openpgp.PublicKey[];
  /** Unlocked private keys; the message is signed inside the encryption. */
  signingKeys?: openpgp.PrivateKey[];
  passwords?: string[];
  /** ASCII armor (RFC 9580 §6); default true. */
  armor?: boolean;
  /** 'text': a UTF-8 literal packet ('u', line endings canonicalised to CRLF, RFC 9580 §5.9) and text-mode signatures (§5.2.1.2). */
  format?: 'binary' | 'text';
  filename?: string;
  date?: Date;
  /**
   * A platform's audited AES-CFB and SHA-1 (Node: src/platform/node/cfb.ts; default: the ones
   * installed with useCfb, Thunderbird's WebAssembly). With them a SEIPDv1 message is encrypted by
   * seipd-v1-write.ts rather than by OpenPGP.js (several times less overhead; in Thunderbird without
   * a JIT, compiled rather than interpreted AES); OpenPGP.js still makes the session key packets and
   * the signed message inside. SEIPDv2 stays OpenPGP.js's (WebCrypto's AES-GCM).
   */
  cfb?: CfbEncryptorFactory;
  /**
   * When `input` is a readable byte stream and the platform's CFB writes the message (unsigned
   * binary data): read it into one reused buffer (BYOB) instead of taking a new buffer per chunk
   * (seipd-v1-write.ts). The CLI sets it for a file on stdin.
   */
  reuseInputBuffer?: boolean;
}

/**
 * Creates the OpenPGP.js message object for an input (shared with sign.ts).
 *
 * 'text': UTF-8 is required (EXPECTED_TEXT otherwise). RFC 9580 §5.9 stores text literal data with
 * <CR><LF> line endings, and GnuPG relies on it: it hashes text literal data as stored, so an
 * inline or encrypted+signed text message with bare LF shows a BAD signature there (seen with gpg
 * 2.2.40, for sqop's output as much as for a store-as-given variant of ours). OpenPGP.js's `text`
 * input canonicalises line endings as it streams and makes type 0x01 text signatures (§5.2.1.2), so
 * `a\nb\n` is stored, and decrypts, as `a\r\nb\r\n`.
 */
export async function createLiteralMessage(input: DataInput, format: 'binary' | 'text', filename: string | undefined, date: Date | undefined): Promise<openpgp.Message<ReadableStream<Uint8Array | string>>> {
  const common = { ...(filename !== undefined ? { filename } : {}), ...(date ? { date } : {}) };
  try {
    if (format === 'text') {
      const text = requireUtf8(toStream(input)).pipeThrough(utf8Decoder(true));
      return await openpgp.createMessage({ text, format: 'utf8', ...common });
    }
    return await openpgp.createMessage({ binary: toStream(input), format: 'binary', ...common });
  } catch (error) {
    throw toSigillError(error, 'BAD_INPUT');
  }
}

export interface EncryptResult {
  /** The encrypted message, produced as it is read. */
  data: ReadableStream<Uint8Array>;
  /**
   * The session key the message is encrypted with (for `sop encrypt --session-key-out`). Whoever
   * holds it can read the message: hand it out only when the caller asked for it.
   */
  sessionKey: SessionKey;
}

/** Encrypts a message; the output stream is the ciphertext. See encryptWithSessionKey. */
export async function encrypt(options: EncryptOptions): Promise<ReadableStream<Uint8Array>> {
  return (await encryptWithSessionKey(options)).data;
}

/** Encrypts a message and also reports the session key used. */
export async function encryptWithSessionKey(options: EncryptOptions): Promise<EncryptResult> {
  const { recipients, passwords = [], signingKeys = [], hiddenRecipients = [] } = options;
  if (recipients.length === 0 && passwords.length === 0 && hiddenRecipients.length === 0) {
    throw new SigillError('BAD_INPUT', { detail: 'no recipient and no password' });
  }
  const date = options.date ?? new Date();
  // Fail closed before any byte is produced: every recipient must be usable now.
  for (const recipient of [...recipients, ...hiddenRecipients]) await assertUsable(recipient, 'encrypt', { date });
  for (const signer of signingKeys) {
    await assertUsable(signer, 'sign', { date });
    if (!signer.isDecrypted()) throw new SigillError('KEY_LOCKED', { detail: signer.getFingerprint() });
  }
  const config = pgpConfig();
  try {
    // The session key decides the SEIPD version: with an aeadAlgorithm OpenPGP.js writes SEIPDv2.
    const everyone = [...recipients, ...hiddenRecipients];
    const generated = await openpgp.generateSessionKey({ encryptionKeys: everyone, date, config });
    const allV2 = everyone.length > 0 && generated.aeadAlgorithm !== undefined;
    const sessionKey: openpgp.SessionKey = allV2
      ? { data: generated.data, algorithm: generated.algorithm, aeadAlgorithm: 'gcm' }
      : { data: generated.data, algorithm: generated.algorithm };
    const armored = options.armor ?? true;
    const result = { algorithm: sessionKey.algorithm, data: sessionKey.data };
    const cfb = options.cfb ?? installedCfbEncryptor();
    const format = options.format ?? 'binary';
    // Only hidden recipients (and no password): every PKESK is anonymous.
    const onlyHidden = recipients.length === 0 && passwords.length === 0;
    if (cfb && !allV2) {
      const packets = await writeWithPlatform({ options, cfb, sessionKey, date, config, format, onlyHidden });
      if (packets) {
        // Binary: one stream stage from the input to the caller (its errors are mapped inside).
        // Armored: with the CRC-24 footer, as OpenPGP.js armors a SEIPDv1 message (RFC 9580 §6.1
        // allows it for readers that require it); openpgp.armor takes a stream typed as an object.
        // Its CRC-24 reads chunks through Uint32Array views, so chunks (views into the input here)
        // are realigned to a multiple of 4 octets first.
        const armoredText = (): unknown => {
          const aligned = packets.pipeThrough(
            new TransformStream<Uint8Array, Uint8Array>({
              transform: (chunk, controller) => controller.enqueue(chunk.byteOffset % 4 === 0 ? chunk : new Uint8Array(chunk)),
            }),
          );
          return openpgp.armor(openpgp.enums.armor.message, aligned, undefined, undefined, undefined, true, { ...openpgp.config, ...config });
        };
        return { data: armored ? mapStreamErrors(asByteStream(armoredText()), 'INTERNAL') : packets, sessionKey: result };
      }
    }
    const message = await createLiteralMessage(options.input, format, options.filename, options.date);
    const common = {
      message,
      encryptionKeys: onlyHidden ? hiddenRecipients : recipients,
      wildcard: onlyHidden,
      signingKeys,
      passwords,
      sessionKey,
      date,
      config,
    };
    if (hiddenRecipients.length === 0 || onlyHidden) {
      const output = armored ? await openpgp.encrypt({ ...common, format: 'armored' }) : await openpgp.encrypt({ ...common, format: 'binary' });
      return { data: mapStreamErrors(asByteStream(output), 'INTERNAL'), sessionKey: result };
    }
    // Mixed: the anonymous PKESKs for the same session key go after the named ones, just before the
    // encrypted data (any order of ESK packets is valid, RFC 9580 §10.3.1). The order matters to GnuPG:
    // it tries its keys on an anonymous PKESK it meets before a session key is found and then exits 2
    // ("Checksum error") even though a later named PKESK decrypts; after the named ones it never does.
    const visible = await openpgp.encrypt({ ...common, format: 'object' });
    const hidden = await openpgp.encryptSessionKey({ ...sessionKey, encryptionKeys: hiddenRecipients, wildcard: true, date, config, format: 'object' });
    const packets = new openpgp.PacketList();
    const dataIndex = visible.packets.findIndex((packet) => !(packet instanceof openpgp.PublicKeyEncryptedSessionKeyPacket) && !(packet instanceof openpgp.SymEncryptedSessionKeyPacket));
    packets.push(...visible.packets.slice(0, dataIndex), ...hidden.packets, ...visible.packets.slice(dataIndex));
    const combined = new openpgp.Message(packets);
    return { data: mapStreamErrors(asByteStream(armored ? combined.armor({ ...openpgp.config, ...config }) : combined.write()), 'INTERNAL'), sessionKey: result };
  } catch (error) {
    throw toSigillError(error, 'INTERNAL');
  }
}

interface PlatformWrite {
  options: EncryptOptions;
  cfb: CfbEncryptorFactory;
  sessionKey: openpgp.SessionKey;
  date: Date;
  config: Partial<openpgp.Config>;
  format: 'binary' | 'text';
  onlyHidden: boolean;
}

/**
 * The message as OpenPGP.js's encrypt would write it for a SEIPDv1 session key — session key
 * packets, then the SEIPDv1 packet around the (signed) message, RFC 9580 §10.3 — but with the
 * platform's AES-CFB and SHA-1 encrypting; undefined when the writer cannot take it (the caller lets
 * OpenPGP.js encrypt). What goes inside is OpenPGP.js's, made by the same steps as in its encrypt:
 * - unsigned binary data: a literal packet, framed by the writer;
 * - signed, or text: OpenPGP.js's streaming sign (one-pass signatures, literal data, signatures) or
 *   its literal packet for text (line endings canonicalised, §5.9), with the same recipient keys
 *   for the signature's preferences. No compression: pgpConfig leaves OpenPGP.js's default
 *   (uncompressed), so its encrypt would not compress either.
 * Session key packets: named recipients and passwords first, then the anonymous ones (key ID 0 in v3
 * PKESKs, §5.1.1), the order GnuPG needs (see the mixed case in encryptWithSessionKey).
 */
async function writeWithPlatform(write: PlatformWrite): Promise<ReadableStream<Uint8Array> | undefined> {
  const { options, cfb, sessionKey, date, config, format, onlyHidden } = write;
  const { recipients, passwords = [], signingKeys = [], hiddenRecipients = [] } = options;
  if ((config.preferredCompressionAlgorithm ?? openpgp.config.preferredCompressionAlgorithm) !== openpgp.enums.compression.uncompressed) return undefined;
  const esks: Uint8Array[] = [];
  if (!onlyHidden) esks.push(await openpgp.encryptSessionKey({ ...sessionKey, encryptionKeys: recipients, passwords, date, config, format: 'binary' }));
  if (hiddenRecipients.length > 0) esks.push(await openpgp.encryptSessionKey({ ...sessionKey, encryptionKeys: hiddenRecipients, wildcard: true, date, config, format: 'binary' }));
  const before = concatBytes(esks);
  const common = { algorithm: sessionKey.algorithm, key: sessionKey.data, cfb, before };
  if (signingKeys.length === 0 && format === 'binary') {
    return writeSeipdV1({ ...common, data: toStream(options.input), filename: options.filename ?? '', date, reuseInputBuffer: options.reuseInputBuffer === true });
  }
  const packets = async (): Promise<ReadableStream<Uint8Array>> => {
    const message = await createLiteralMessage(options.input, format, options.filename, options.date);
    const signing = { message, signingKeys, recipientKeys: onlyHidden ? hiddenRecipients : recipients, date, config };
    const inner: unknown = signingKeys.length > 0 ? await openpgp.sign({ ...signing, format: 'binary' }) : message.write();
    return mapStreamErrors(asByteStream(inner), 'INTERNAL');
  };
  return writeSeipdV1({ ...common, packets });
}
