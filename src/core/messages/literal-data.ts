/**
 * Reading the decrypted packets of a SEIPDv1 message (RFC 9580 §5.13.1) when they are what nearly
 * every encrypted-only message holds: one Literal Data packet (§5.9). Its data goes straight from
 * the decryption into the caller's PlaintextSink, without a trip through OpenPGP.js's packet parser
 * and its streams (profiled with bench/crypto.ts: with GnuPG's 8 KiB partial chunks that plumbing
 * cost more than the cipher). Anything else (compressed data, one-pass signatures, a signature
 * first, markers or padding first) is left to OpenPGP.js by the caller, which peeks at the first
 * octet and replays it.
 *
 * Nothing here decides integrity: the caller commits the sink only after the MDC matched, and lets
 * the integrity verdict take precedence over any error raised here (decrypt.ts).
 */
import { SigillError } from '../errors.ts';
import { pulseActivity } from '../platform.ts';
import { iteratorStream } from './streams.ts';
import type { DecryptResult, PlaintextSink } from './types.ts';

const TAG_LITERAL = 11;
/** Packets that may stand anywhere and carry nothing (§5.8 Marker, §5.15 Padding); OpenPGP.js skips them too. */
const IGNORED_TAGS: ReadonlySet<number> = new Set([10, 21]);

const malformed = (detail: string): SigillError => new SigillError('MALFORMED_MESSAGE', { detail });

/** Octets from a byte stream without copying: views into the chunks as they come. */
export class ChunkReader {
  private chunk: Uint8Array = new Uint8Array(0);
  private at = 0;
  private ended = false;

  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  /** Whether an unread octet is buffered after reading on; false at the end of the stream. */
  private async more(): Promise<boolean> {
    while (this.at >= this.chunk.length) {
      if (this.ended) return false;
      const next = await this.reader.read();
      if (next.done) {
        this.ended = true;
        return false;
      }
      this.chunk = next.value;
      this.at = 0;
    }
    return true;
  }

  /** The next octet without consuming it; undefined at the end. */
  async peek(): Promise<number | undefined> {
    return (await this.more()) ? this.chunk[this.at] : undefined;
  }

  async byte(): Promise<number> {
    if (!(await this.more())) throw malformed('packet truncated');
    return this.chunk[this.at++] as number;
  }

  /** Up to `n` octets (fewer where a chunk ends) as a view; undefined at the end. */
  async upTo(n: number): Promise<Uint8Array | undefined> {
    if (!(await this.more())) return undefined;
    const take = Math.min(n, this.chunk.length - this.at);
    const out = this.chunk.subarray(this.at, this.at + take);
    this.at += take;
    return out;
  }

  /** What was not read yet, buffered octets first, as a stream (cancelling it cancels the source). */
  rest(): ReadableStream<Uint8Array> {
    const buffered = this.chunk.subarray(this.at);
    this.at = this.chunk.length;
    const reader = this.reader;
    const ended = this.ended;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      if (buffered.length > 0) yield buffered;
      if (ended) return;
      for (let next = await reader.read(); !next.done; next = await reader.read()) yield next.value;
    }
    return iteratorStream(chunks(), (reason) => reader.cancel(reason));
  }
}

/** Whether a packet's first octet (§4.2) names a Literal Data packet, in either header format. */
export function isLiteralDataHeader(octet: number): boolean {
  if ((octet & 0x80) === 0) return false;
  return (octet & 0x40 ? octet & 0x3f : (octet >> 2) & 0x0f) === TAG_LITERAL;
}

interface Length {
  /** Octets in this (part of the) body; Infinity for a legacy indeterminate length (to the end of the data). */
  length: number;
  /** A partial body length (§4.2.1.4): another length header follows this part. */
  partial: boolean;
}

/** A new-format length (§4.2.1). */
async function newLength(bytes: ChunkReader): Promise<Length> {
  const first = await bytes.byte();
  if (first < 192) return { length: first, partial: false };
  if (first < 224) return { length: ((first - 192) << 8) + (await bytes.byte()) + 192, partial: false };
  if (first < 255) return { length: 2 ** (first & 0x1f), partial: true };
  let length = 0;
  for (let i = 0; i < 4; i++) length = length * 256 + (await bytes.byte());
  return { length, partial: false };
}

/** A packet header (§4.2): its tag and the length of the body (or of its first part). */
async function packetHeader(bytes: ChunkReader): Promise<{ tag: number; newFormat: boolean } & Length> {
  const octet = await bytes.byte();
  if ((octet & 0x80) === 0) throw malformed('not a packet header');
  if (octet & 0x40) return { tag: octet & 0x3f, newFormat: true, ...(await newLength(bytes)) };
  // Legacy format (§4.2.2): 1, 2 or 4 length octets, or type 3, indeterminate.
  const octets = [1, 2, 4, 0][octet & 0x03] as number;
  let length = octets === 0 ? Infinity : 0;
  for (let i = 0; i < octets; i++) length = length * 256 + (await bytes.byte());
  return { tag: (octet >> 2) & 0x0f, newFormat: false, length, partial: false };
}

/** The body of one packet, part after part (partial lengths followed), as views. */
class PacketBody {
  constructor(
    private readonly bytes: ChunkReader,
    private left: number,
    private partial: boolean,
  ) {}

  /** The next up to `max` body octets; undefined at the end of the body. */
  async next(max = Infinity): Promise<Uint8Array | undefined> {
    while (this.left === 0) {
      if (!this.partial) return undefined;
      ({ length: this.left, partial: this.partial } = await newLength(this.bytes));
    }
    const piece = await this.bytes.upTo(Math.min(this.left, max));
    if (piece === undefined) {
      if (this.left === Infinity) {
        this.left = 0;
        return undefined;
      }
      throw malformed('packet truncated');
    }
    this.left -= piece.length;
    return piece;
  }

  /** Exactly `n` body octets (copied: only for the few header fields). */
  async exactly(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    for (let filled = 0; filled < n; ) {
      const piece = await this.next(n - filled);
      if (piece === undefined) throw malformed('literal data packet too short');
      out.set(piece, filled);
      filled += piece.length;
    }
    return out;
  }
}

const formats: Record<number, DecryptResult['format']> = { 0x62: 'binary', 0x74: 'text', 0x75: 'utf8', 0x6d: 'mime' };

/**
 * Reads a Literal Data packet (the caller checked its first octet with isLiteralDataHeader) and
 * writes its data to `sink` (not committed here); then requires the end of the packets, allowing
 * only Marker and Padding packets after it (§10.3: a literal message is one literal packet; a
 * signature after it without a one-pass signature before is not a valid message).
 */
export async function streamLiteralData(bytes: ChunkReader, sink: PlaintextSink): Promise<{ format: DecryptResult['format']; filename: string }> {
  const header = await packetHeader(bytes);
  if (header.tag !== TAG_LITERAL) throw malformed('expected a literal data packet');
  const body = new PacketBody(bytes, header.length, header.partial);
  // §5.9: format octet, file name length and name, 4-octet date; then the data.
  const [formatOctet = 0, nameLength = 0] = await body.exactly(2);
  const filename = new TextDecoder().decode(await body.exactly(nameLength));
  await body.exactly(4);
  for (let piece = await body.next(); piece !== undefined; piece = await body.next()) {
    pulseActivity();
    await sink.write(piece);
  }
  while ((await bytes.peek()) !== undefined) {
    const next = await packetHeader(bytes);
    if (!IGNORED_TAGS.has(next.tag) || next.partial) throw malformed('packet after the literal data');
    const skipped = new PacketBody(bytes, next.length, false);
    while ((await skipped.next()) !== undefined) {
      /* ignored content */
    }
  }
  // OpenPGP.js reads an unknown format octet as binary data too (decrypt.ts, formatOf).
  return { format: formats[formatOctet] ?? 'binary', filename };
}
