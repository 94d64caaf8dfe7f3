/**
 * ASCII armor (RFC 9580 §6), streaming in both directions through OpenPGP.js.
 */
import * as openpgp from 'openpgp';
import { SigillError } from '../errors.ts';
import { mapStreamErrors, toSigillError } from './common.ts';
import { armorStream, unarmorStream } from '../openpgp-internals.ts';
import { checkPacketFraming } from './packet-framing.ts';
import { asByteStream, notOpenpgp, sniffArmor, toStream, utf8Decoder } from './streams.ts';
import type { DataInput } from './types.ts';

export type ArmorType = 'message' | 'signature' | 'public key' | 'private key' | 'auto';

/** The armor header for binary OpenPGP data, from its first packet's tag (RFC 9580 §4.2, §6.2). */
function armorTypeOf(firstByte: number): openpgp.enums.armor {
  const tag = (firstByte & 0x40) !== 0 ? firstByte & 0x3f : (firstByte & 0x3c) >> 2;
  switch (tag) {
    case openpgp.enums.packet.signature:
      return openpgp.enums.armor.signature;
    case openpgp.enums.packet.publicKey:
      return openpgp.enums.armor.publicKey;
    case openpgp.enums.packet.secretKey:
      return openpgp.enums.armor.privateKey;
    default:
      return openpgp.enums.armor.message;
  }
}

const namedTypes = {
  message: openpgp.enums.armor.message,
  signature: openpgp.enums.armor.signature,
  'public key': openpgp.enums.armor.publicKey,
  'private key': openpgp.enums.armor.privateKey,
} as const;

/**
 * Armors binary OpenPGP data. Already-armored input passes through unchanged (idempotent, as
 * `sop armor` requires). 'auto' picks the header from the first packet. Input that is not OpenPGP
 * packets fails with NOT_OPENPGP (packet-framing.ts).
 */
export function armor(data: DataInput, type: ArmorType): ReadableStream<Uint8Array> {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  void (async () => {
    const sniffed = await sniffArmor(toStream(data));
    if (sniffed.armored) return sniffed.stream.pipeTo(writable);
    if (sniffed.empty || sniffed.first === undefined) throw new SigillError('MALFORMED_MESSAGE', { detail: 'empty input' });
    // Neither armor nor packets (text, random bytes): refused, as the SOP draft's BAD_DATA, rather
    // than wrapped as if it were a message.
    if (!sniffed.openpgp) throw notOpenpgp();
    const armorType = type === 'auto' ? armorTypeOf(sniffed.first) : namedTypes[type];
    // RFC 9580 §6.1: no CRC-24 checksum is emitted (it is optional and ignored by readers).
    const armored = armorStream(armorType, checkPacketFraming(sniffed.stream));
    return asByteStream(armored).pipeTo(writable);
  })().catch(async (error: unknown) => {
    await writable.abort(toSigillError(error, 'MALFORMED_MESSAGE')).catch(() => undefined);
  });
  return readable;
}

/** Removes ASCII armor; binary OpenPGP packets pass through. Errors: MALFORMED_ARMOR, NOT_OPENPGP. */
export function dearmor(data: DataInput): ReadableStream<Uint8Array> {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  void (async () => {
    const sniffed = await sniffArmor(toStream(data));
    if (sniffed.empty) throw new SigillError('MALFORMED_ARMOR', { detail: 'empty input' });
    if (!sniffed.openpgp) throw notOpenpgp();
    if (!sniffed.armored) return checkPacketFraming(sniffed.stream).pipeTo(writable);
    let unarmored: { data: unknown };
    try {
      unarmored = await unarmorStream(sniffed.stream.pipeThrough(utf8Decoder()));
    } catch (error) {
      throw toSigillError(error, 'MALFORMED_ARMOR');
    }
    return mapStreamErrors(asByteStream(unarmored.data), 'MALFORMED_ARMOR').pipeTo(writable);
  })().catch(async (error: unknown) => {
    await writable.abort(toSigillError(error, 'MALFORMED_ARMOR')).catch(() => undefined);
  });
  return readable;
}
