/**
 * Streaming encryption into a version 1 Symmetrically Encrypted and Integrity Protected Data packet
 * (RFC 9580 §5.13.1), with a platform's audited CFB and SHA-1 (Node: OpenSSL through node:crypto;
 * Thunderbird: OpenSSL's C code as WebAssembly). The counterpart of seipd-v1.ts. What it encrypts is
 * either literal data, framed here into one Literal Data packet (§5.9), or ready-made packets (the
 * signed message OpenPGP.js's streaming sign produces: one-pass signatures, literal data, signatures,
 * §10.3), which are encrypted as they are.
 *
 * Why not OpenPGP.js: its streaming encryption concatenates every chunk with the data around it
 * (the literal packet's partial-length framing, then the SEIPD body's), hashes with a per-chunk
 * transform and, in Node, runs a web-stream stage per step; profiled with bench/crypto.ts, that
 * plumbing cost about as much as the cipher itself. Here no plaintext or ciphertext octet is copied:
 * framing headers are separate pieces, input chunks are split only with views, and every piece goes
 * straight to the cipher and the hash, so memory stays bounded by one partial chunk.
 *
 * What is written here is the RFC framing, nothing cryptographic:
 *
 *   SEIPD body = 0x01 (version) || CFB(prefix || packets || 0xD3 0x14 || SHA-1(prefix || packets || 0xD3 0x14))
 *   prefix     = 16 random octets || their last two repeated                              (§5.13.1)
 *   literal    = 0xCB (tag 11) + length || 'b' || filename length || filename || date || data   (§5.9)
 *
 * with CFB over a zero IV and no resynchronisation (§5.13.1). Both packets use partial body lengths
 * of CHUNK octets (§4.2.1.4: powers of two, the first at least 512 octets, the last length a
 * regular one, possibly zero) so nothing needs the input's length in advance.
 */
import { SigillError } from '../errors.ts';
import { toSigillError } from './common.ts';
import { regularLength } from './partial-bodies.ts';
import { streamingCiphers } from './seipd-v1.ts';
import { iteratorStream } from './streams.ts';
import type { CfbEncryptorFactory, IncrementalHash } from './types.ts';

const BLOCK = 16;
/** Partial body chunk size, inner and outer: 2^20 = 1 MiB (one partial header octet per MiB). */
const POWER = 20;
const CHUNK = 1 << POWER;
const TAG_LITERAL = 0xc0 | 11;
const TAG_SEIPD = 0xc0 | 18;
const MAX_FILENAME = 255;

/**
 * Collects pieces of a packet body and hands them out framed (§4.2.1.4): a partial length header
 * before each CHUNK octets, a regular header before the rest. Pieces are kept as they are (views).
 */
class PartialFramer {
  private pieces: Uint8Array[] = [];
  private length = 0;

  push(piece: Uint8Array): void {
    if (piece.length === 0) return;
    this.pieces.push(piece);
    this.length += piece.length;
  }

  /** Every complete chunk pushed so far: its header, then its pieces. */
  *full(): Generator<Uint8Array> {
    while (this.length >= CHUNK) {
      yield Uint8Array.of(0xe0 | POWER);
      for (let left = CHUNK; left > 0; ) {
        const head = this.pieces[0] as Uint8Array;
        if (head.length <= left) {
          this.pieces.shift();
          left -= head.length;
          yield head;
        } else {
          this.pieces[0] = head.subarray(left);
          yield head.subarray(0, left);
          left = 0;
        }
      }
      this.length -= CHUNK;
    }
  }

  /** The end of the body: a regular length header for what is left (possibly zero octets), then it. */
  *last(): Generator<Uint8Array> {
    yield* this.full();
    yield regularLength(this.length);
    yield* this.pieces;
    this.pieces = [];
    this.length = 0;
  }
}

/** Literal data for writeSeipdV1 to frame into a Literal Data packet (RFC 9580 §5.9), binary format 'b'. */
export interface SeipdV1Literal {
  data: ReadableStream<Uint8Array>;
  /** The file name (UTF-8) and the date of the literal packet. */
  filename: string;
  date: Date;
}

interface SeipdV1WriteCommon {
  /** OpenPGP.js symmetric algorithm name: 'aes128' | 'aes192' | 'aes256'. */
  algorithm: string;
  key: Uint8Array;
  cfb: CfbEncryptorFactory;
  /** Octets to emit before the packet (the session key packets), so the message is one stream. */
  before?: Uint8Array;
}

/**
 * What to encrypt: `data` (with `filename` and `date`) for literal data framed here, or `packets`, an
 * OpenPGP message's packets as octets (RFC 9580 §10.3), encrypted as they are. `packets` is called
 * only once the writer has accepted the job, so a caller that falls back to OpenPGP.js has not yet
 * started anything (a signature over the input, say) that would consume the input.
 */
export type SeipdV1WriteOptions = SeipdV1WriteCommon & (SeipdV1Literal | { packets: () => Promise<ReadableStream<Uint8Array>> });

/**
 * The whole SEIPDv1 packet as a stream, or undefined when this path cannot write it (cipher not
 * offered by the platform, file name too long for the literal packet): the caller then lets
 * OpenPGP.js encrypt.
 */
export function writeSeipdV1(options: SeipdV1WriteOptions): ReadableStream<Uint8Array> | undefined {
  const keySize = streamingCiphers[options.algorithm];
  if (keySize === undefined || options.key.length !== keySize) return undefined;
  const literal: SeipdV1Literal | undefined = 'data' in options ? options : undefined;
  const packets = 'packets' in options ? options.packets : undefined;
  const filename = new TextEncoder().encode(literal?.filename ?? '');
  if (filename.length > MAX_FILENAME) return undefined;
  const created = options.cfb.encipher({ algorithm: options.algorithm, key: options.key, iv: new Uint8Array(BLOCK) });
  if (created === undefined) return undefined;
  const cipher = created;
  let reader = literal?.data.getReader();
  let hash!: IncrementalHash; // set before the first octet is encrypted: the platform's may start asynchronously

  const outer = new PartialFramer();
  const inner = new PartialFramer();
  /** Encrypts one plaintext piece into the SEIPD body; `hashed` is false only for the MDC digest itself. */
  const encrypt = (plain: Uint8Array, hashed = true): void => {
    if (hashed) hash.update(plain);
    const encrypted = cipher.update(plain);
    // CFB is a stream mode: anything else would misalign the framing; fail rather than emit it.
    if (encrypted.length !== plain.length) throw new SigillError('INTERNAL', { detail: 'the CFB cipher did not return one octet per octet' });
    outer.push(encrypted);
  };

  async function* packet(): AsyncGenerator<Uint8Array> {
    hash = await options.cfb.sha1();
    if (packets) reader = (await packets()).getReader();
    if (options.before) yield options.before;
    yield Uint8Array.of(TAG_SEIPD);
    outer.push(Uint8Array.of(1)); // §5.13.1: version 1, not encrypted
    const prefix = new Uint8Array(BLOCK + 2);
    globalThis.crypto.getRandomValues(prefix.subarray(0, BLOCK));
    prefix[BLOCK] = prefix[BLOCK - 2] as number;
    prefix[BLOCK + 1] = prefix[BLOCK - 1] as number;
    encrypt(prefix);
    if (literal) {
      encrypt(Uint8Array.of(TAG_LITERAL));
      // §5.9: format 'b', the file name with its length octet, the date in seconds (4 octets).
      const fields = new Uint8Array(2 + filename.length + 4);
      fields[0] = 0x62;
      fields[1] = filename.length;
      fields.set(filename, 2);
      new DataView(fields.buffer).setUint32(2 + filename.length, Math.floor(literal.date.getTime() / 1000));
      inner.push(fields);
    }
    for (;;) {
      const next = await reader!.read();
      if (next.done) break;
      if (literal) {
        inner.push(next.value);
        for (const piece of inner.full()) encrypt(piece);
      } else {
        encrypt(next.value); // already packets: no framing of ours inside
      }
      yield* outer.full();
    }
    if (literal) for (const piece of inner.last()) encrypt(piece);
    // §5.13.1: the MDC packet header is hashed, its digest is not.
    encrypt(Uint8Array.of(0xd3, 0x14));
    encrypt(hash.digest(), false);
    yield* outer.last();
  }

  async function* mapped(): AsyncGenerator<Uint8Array> {
    try {
      yield* packet();
    } catch (error) {
      throw toSigillError(error, 'INTERNAL'); // an input stream error, as OpenPGP.js's path reports it
    } finally {
      cipher.close?.(); // done, failed or cancelled: the key schedule is no longer needed
    }
  }
  return iteratorStream(mapped(), (reason) => {
    cipher.close?.(); // cancelled between reads: the generator's finally does not run
    return reader?.cancel(reason) ?? Promise.resolve();
  });
}
