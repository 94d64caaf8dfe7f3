/**
 * ASCII armor (RFC 9580 §6.2) of an OpenPGP message, written for a MIME body: CRLF line endings
 * (RFC 2045 §2.10 canonical form, so nothing has to be rewritten after) and the bulk of the work in the
 * engine's native base64 encoder (`Uint8Array.prototype.toBase64`, Thunderbird 140+ / Firefox 133+;
 * `btoa` elsewhere). OpenPGP.js's `armor()` encodes in JavaScript (a character loop per octet) and
 * writes LF lines, which then need a CR added before each: where JavaScript runs without a JIT
 * (Debian's Thunderbird) the two took seconds per 10 MiB of a PGP/MIME send; this takes a fraction.
 *
 * The output is what OpenPGP.js writes, with CRLF: `-----BEGIN PGP MESSAGE-----`, an empty line (no
 * armor headers), 60 characters of base64 per line, the CRC-24 checksum line when asked for, and
 * `-----END PGP MESSAGE-----`. The checksum (RFC 9580 §6.1) is optional for readers, but GnuPG 2.2
 * cannot decode armor without it whose base64 ends without padding (https://dev.gnupg.org/T7071; seen
 * here with gpg 2.2.40), so it is written for everything but SEIPDv2 messages, where §6.1 forbids it.
 *
 * Memory stays bounded: input is taken in blocks of BLOCK_BYTES, one block at a time.
 */
import { SigillError } from '../errors.ts';
import { peek } from '../messages/streams.ts';

/** Base64 of some bytes, without line breaks (RFC 4648 §4 alphabet, with padding). */
export type Base64Encoder = (bytes: Uint8Array) => string;

/** The engine's `Uint8Array.prototype.toBase64`, if it has one (not yet in TypeScript's library). */
export function nativeBase64Encoder(): Base64Encoder | undefined {
  const toBase64 = (Uint8Array.prototype as unknown as { toBase64?: (this: Uint8Array) => string }).toBase64;
  return typeof toBase64 === 'function' ? (bytes) => toBase64.call(bytes) : undefined;
}

/** `btoa` over a binary string made 32 KiB at a time (`String.fromCharCode` of a subarray, natively). */
export const btoaBase64Encoder: Base64Encoder = (bytes) => {
  let binary = '';
  for (let offset = 0; offset < bytes.length; offset += 0x8000) binary += String.fromCharCode.apply(null, bytes.subarray(offset, offset + 0x8000) as unknown as number[]);
  return btoa(binary);
};

export interface MimeArmorOptions {
  /** Write the CRC-24 checksum line (RFC 9580 §6.1). */
  checksum: boolean;
  /** Default: the native encoder where there is one, else `btoa`. */
  encoder?: Base64Encoder;
  /** Default CRLF (a MIME body); LF gives exactly OpenPGP.js's text (an `.asc` file). */
  lineEnding?: '\r\n' | '\n';
}

/** Octets per armor line: 45 octets are 60 base64 characters, as OpenPGP.js writes them. */
const LINE_BYTES = 45;
const LINE = /.{60}/g;
/** Octets encoded at once: 4096 lines, about 250 KiB of armor per output chunk. */
export const BLOCK_BYTES = LINE_BYTES * 4096;
const encoder = new TextEncoder();
/** How far into a ciphertext the encrypted data packet is looked for (session key packets before it). */
const MAX_ESK_BYTES = 64 * 1024;

/**
 * An encrypted message (binary packets) armored, with the checksum exactly when it is not SEIPDv2: the
 * session key packets come first, so a short head of the stream tells the data packet's version.
 */
export async function armorEncryptedForMime(packets: ReadableStream<Uint8Array>, options: Omit<MimeArmorOptions, 'checksum'> = {}): Promise<ReadableStream<Uint8Array>> {
  const { head, stream } = await peek(packets, (bytes) => encryptedDataVersion(bytes) !== undefined || bytes.length > MAX_ESK_BYTES);
  return armorMessageForMime(stream, { ...options, checksum: encryptedDataVersion(head) !== 2 });
}

/** The armored message as a byte stream (CRLF lines unless asked otherwise). Errors of `packets` fail it. */
export function armorMessageForMime(packets: ReadableStream<Uint8Array>, options: MimeArmorOptions): ReadableStream<Uint8Array> {
  const toBase64 = options.encoder ?? nativeBase64Encoder() ?? btoaBase64Encoder;
  const eol = options.lineEnding ?? '\r\n';
  const crc = options.checksum ? new Crc24() : undefined;
  const reader = packets.getReader();
  // One block, filled from the input chunks; emitted when full (bounded memory, few calls downstream).
  const block = new Uint8Array(BLOCK_BYTES);
  let filled = 0;
  let begun = false;
  let ended = false;
  const lines = (bytes: Uint8Array): string => {
    crc?.update(bytes);
    const text = toBase64(bytes);
    // 60 characters and a line end per line (one native regular expression pass); a last short line
    // gets its line end too.
    const wrapped = text.replace(LINE, `$&${eol}`);
    return text.length % 60 === 0 ? wrapped : `${wrapped}${eol}`;
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          let out = '';
          if (!begun) {
            begun = true;
            out = `-----BEGIN PGP MESSAGE-----${eol}${eol}`;
          }
          let produced = false;
          while (!ended && !produced) {
            const { done, value } = await reader.read();
            if (done) {
              ended = true;
              break;
            }
            // A chunk larger than a block gives several blocks in this one pull.
            for (let offset = 0; offset < value.length; ) {
              const take = Math.min(BLOCK_BYTES - filled, value.length - offset);
              block.set(value.subarray(offset, offset + take), filled);
              filled += take;
              offset += take;
              if (filled === BLOCK_BYTES) {
                out += lines(block);
                filled = 0;
                produced = true;
              }
            }
          }
          if (ended) {
            if (filled > 0) out += lines(block.subarray(0, filled));
            filled = 0;
            if (crc) out += `=${toBase64(crc.digest())}${eol}`;
            out += `-----END PGP MESSAGE-----${eol}`;
          }
          if (out.length > 0) controller.enqueue(encoder.encode(out));
          if (ended) controller.close();
        } catch (error) {
          await reader.cancel(error).catch(() => undefined);
          throw error instanceof SigillError ? error : new SigillError('INTERNAL', { detail: `armoring the message: ${String(error)}`, cause: error });
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}

/**
 * The version octet of a message's encrypted data packet (SEIPD, tag 18, RFC 9580 §5.13), read from the
 * head of its binary form by walking the packet headers before it (§4.2: session key packets, whose
 * lengths are definite). undefined: the head is too short to tell yet; null: not the expected shape
 * (then the caller writes the checksum, which no reader rejects, §6.1).
 */
export function encryptedDataVersion(head: Uint8Array): number | null | undefined {
  let at = 0;
  while (at < head.length) {
    const octet = head[at] as number;
    if ((octet & 0x80) === 0) return null;
    let tag: number;
    let bodyAt: number;
    let length: number | undefined;
    if ((octet & 0x40) !== 0) {
      // OpenPGP (new) format: one, two or five length octets, or a partial body length (§4.2.1).
      tag = octet & 0x3f;
      if (at + 1 >= head.length) return undefined;
      const first = head[at + 1] as number;
      if (first < 192) [length, bodyAt] = [first, at + 2];
      else if (first < 224) {
        if (at + 2 >= head.length) return undefined;
        [length, bodyAt] = [((first - 192) << 8) + (head[at + 2] as number) + 192, at + 3];
      } else if (first === 255) {
        if (at + 5 >= head.length) return undefined;
        [length, bodyAt] = [new DataView(head.buffer, head.byteOffset + at + 2, 4).getUint32(0), at + 6];
      } else [length, bodyAt] = [undefined, at + 2];
    } else {
      // Legacy format (§4.2.2): 1, 2 or 4 length octets, or an indeterminate length.
      tag = (octet >> 2) & 0x0f;
      const octets = [1, 2, 4, 0][octet & 0x03] as number;
      if (at + octets >= head.length) return undefined;
      length = octets === 0 ? undefined : [...head.subarray(at + 1, at + 1 + octets)].reduce((sum, byte) => sum * 256 + byte, 0);
      bodyAt = at + 1 + octets;
    }
    if (tag === 18) return bodyAt < head.length ? (head[bodyAt] as number) : undefined;
    if (length === undefined) return null;
    at = bodyAt + length;
  }
  return undefined;
}

/**
 * CRC-24 of RFC 9580 §6.1 (generator 0x864CFB, initial value 0xB704CE), incremental. A checksum of the
 * armor, not cryptography. Without a JIT every JavaScript operation counts, so the register is kept
 * byte-swapped (as OpenPGP.js keeps it) and 8 octets are folded per step through four tables indexed
 * by 16 bits (slicing, 1 MiB of tables made at first use): about a third of the operations per octet of
 * OpenPGP.js's 4-octet slicing.
 */
export class Crc24 {
  /** The register, byte-swapped: octet 0 of the CRC in bits 0-7. */
  #crc = 0xce04b7;
  /** Up to 7 octets that did not fill a step yet (the input comes in arbitrary pieces). */
  readonly #rest = new Uint8Array(8);
  #restLength = 0;

  update(bytes: Uint8Array): void {
    const lookup = crcTables();
    let at = 0;
    if (this.#restLength > 0) {
      while (this.#restLength < 8 && at < bytes.length) this.#rest[this.#restLength++] = bytes[at++] as number;
      if (this.#restLength < 8) return;
      this.#crc = foldWords(this.#crc, new Int32Array(this.#rest.buffer, 0, 2), lookup);
      this.#restLength = 0;
    }
    // Int32Array views need 4-octet alignment (a misaligned middle is copied once, natively) and read
    // the platform's byte order: big-endian engines take the octet-wise path in digest().
    const words = littleEndian ? (bytes.length - at) >> 3 : 0;
    if (words > 0) {
      const start = bytes.byteOffset + at;
      const view = start % 4 === 0 ? new Int32Array(bytes.buffer, start, words * 2) : new Int32Array(bytes.slice(at, at + words * 8).buffer);
      this.#crc = foldWords(this.#crc, view, lookup);
      at += words * 8;
    }
    if (!littleEndian) {
      const byte = lookup.byte;
      let crc = this.#crc;
      for (; at < bytes.length; at++) crc = (crc >>> 8) ^ (byte[(crc & 0xff) ^ (bytes[at] as number)] as number);
      this.#crc = crc;
      return;
    }
    while (at < bytes.length) this.#rest[this.#restLength++] = bytes[at++] as number;
  }

  /** The 3 checksum octets (most significant first, RFC 9580 §6.1). */
  digest(): Uint8Array {
    const byte = crcTables().byte;
    let crc = this.#crc;
    for (let index = 0; index < this.#restLength; index++) crc = (crc >>> 8) ^ (byte[(crc & 0xff) ^ (this.#rest[index] as number)] as number);
    return new Uint8Array([crc & 0xff, (crc >>> 8) & 0xff, (crc >>> 16) & 0xff]);
  }
}

interface CrcTables {
  /** One octet: the classic table (byte-swapped). */
  byte: Int32Array;
  /** Octets 0-1, 2-3, 4-5, 6-7 of an 8-octet step, each indexed by their 16 bits (little-endian). */
  t01: Int32Array;
  t23: Int32Array;
  t45: Int32Array;
  t67: Int32Array;
}

let tables: CrcTables | undefined;
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function crcTables(): CrcTables {
  if (tables) return tables;
  // by[k][b]: the register after octet b followed by k zero octets, for a register of zero.
  const by: Int32Array[] = [new Int32Array(256)];
  for (let value = 0; value < 256; value++) {
    let crc = value << 16;
    for (let bit = 0; bit < 8; bit++) crc = (crc << 1) ^ ((crc & 0x800000) !== 0 ? 0x864cfb : 0);
    (by[0] as Int32Array)[value] = ((crc & 0xff0000) >> 16) | (crc & 0x00ff00) | ((crc & 0x0000ff) << 16);
  }
  const first = by[0] as Int32Array;
  for (let k = 1; k < 8; k++) {
    const previous = by[k - 1] as Int32Array;
    const table = new Int32Array(256);
    for (let value = 0; value < 256; value++) table[value] = (previous[value]! >> 8) ^ first[previous[value]! & 0xff]!;
    by.push(table);
  }
  const pair = (low: Int32Array, high: Int32Array): Int32Array => {
    const table = new Int32Array(65536);
    for (let value = 0; value < 65536; value++) table[value] = low[value & 0xff]! ^ high[value >>> 8]!;
    return table;
  };
  // Octet i of an 8-octet step is followed by 7 - i more octets.
  tables = { byte: first, t01: pair(by[7]!, by[6]!), t23: pair(by[5]!, by[4]!), t45: pair(by[3]!, by[2]!), t67: pair(by[1]!, by[0]!) };
  return tables;
}

/** Folds whole 8-octet steps (pairs of little-endian 32-bit words) into the register. */
function foldWords(register: number, words: Int32Array, { t01, t23, t45, t67 }: CrcTables): number {
  let crc = register;
  for (let index = 0; index < words.length; index += 2) {
    const low = crc ^ words[index]!;
    const high = words[index + 1]!;
    crc = t01[low & 0xffff]! ^ t23[low >>> 16]! ^ t45[high & 0xffff]! ^ t67[high >>> 16]!;
  }
  return crc;
}
