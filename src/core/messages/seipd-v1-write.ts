/**
 * Streaming encryption into a version 1 Symmetrically Encrypted and Integrity Protected Data packet
 * (RFC 9580 §5.13.1) holding one Literal Data packet (§5.9), with a platform's audited CFB and SHA-1
 * (Node: OpenSSL through node:crypto). The counterpart of seipd-v1.ts.
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
 *   SEIPD body = 0x01 (version) || CFB(prefix || literal packet || 0xD3 0x14 || SHA-1(prefix || literal packet || 0xD3 0x14))
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
import type { CfbEncryptorFactory } from './types.ts';

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

export interface SeipdV1WriteOptions {
  /** The literal data. */
  data: ReadableStream<Uint8Array>;
  /** OpenPGP.js symmetric algorithm name: 'aes128' | 'aes192' | 'aes256'. */
  algorithm: string;
  key: Uint8Array;
  cfb: CfbEncryptorFactory;
  /** Literal packet fields (§5.9): the file name (UTF-8) and the date. */
  filename: string;
  date: Date;
  /** Octets to emit before the packet (the session key packets), so the message is one stream. */
  before?: Uint8Array;
}

/**
 * The whole SEIPDv1 packet as a stream, or undefined when this path cannot write it (cipher not
 * offered by the platform, file name too long for the literal packet): the caller then lets
 * OpenPGP.js encrypt.
 */
export function writeSeipdV1(options: SeipdV1WriteOptions): ReadableStream<Uint8Array> | undefined {
  const keySize = streamingCiphers[options.algorithm];
  if (keySize === undefined || options.key.length !== keySize) return undefined;
  const filename = new TextEncoder().encode(options.filename);
  if (filename.length > MAX_FILENAME) return undefined;
  const cipher = options.cfb.encipher({ algorithm: options.algorithm, key: options.key, iv: new Uint8Array(BLOCK) });
  if (cipher === undefined) return undefined;
  const hash = options.cfb.sha1();
  const reader = options.data.getReader();

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
    if (options.before) yield options.before;
    yield Uint8Array.of(TAG_SEIPD);
    outer.push(Uint8Array.of(1)); // §5.13.1: version 1, not encrypted
    const prefix = new Uint8Array(BLOCK + 2);
    globalThis.crypto.getRandomValues(prefix.subarray(0, BLOCK));
    prefix[BLOCK] = prefix[BLOCK - 2] as number;
    prefix[BLOCK + 1] = prefix[BLOCK - 1] as number;
    encrypt(prefix);
    encrypt(Uint8Array.of(TAG_LITERAL));
    // §5.9: format 'b', the file name with its length octet, the date in seconds (4 octets).
    const fields = new Uint8Array(2 + filename.length + 4);
    fields[0] = 0x62;
    fields[1] = filename.length;
    fields.set(filename, 2);
    new DataView(fields.buffer).setUint32(2 + filename.length, Math.floor(options.date.getTime() / 1000));
    inner.push(fields);
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      inner.push(next.value);
      for (const piece of inner.full()) encrypt(piece);
      yield* outer.full();
    }
    for (const piece of inner.last()) encrypt(piece);
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
    }
  }
  return iteratorStream(mapped(), (reason) => reader.cancel(reason));
}
