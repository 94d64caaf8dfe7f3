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
 * (§4.2.1.4: powers of two, the first at least 512 octets, the last length a regular one, possibly
 * zero) so nothing needs the input's length in advance: the SEIPD body in parts of CHUNK octets, the
 * literal data in parts cut from each input chunk as it arrives (LiteralFramer), so every input octet
 * is encrypted before the next chunk is read and the input can be read into one reused buffer.
 */
import { SigillError } from '../errors.ts';
import { toSigillError } from './common.ts';
import { regularLength } from './partial-bodies.ts';
import { streamingCiphers } from './seipd-v1.ts';
import { iteratorStream } from './streams.ts';
import type { CfbEncryptorFactory, IncrementalHash } from './types.ts';

const BLOCK = 16;
/** Partial body chunk size of the SEIPD packet: 2^20 = 1 MiB (one partial header octet per MiB). */
const POWER = 20;
const CHUNK = 1 << POWER;
/**
 * The smallest literal data part written: §4.2.1.4 requires the first partial length to be at least
 * 512 octets; every part here is, so no reader's stricter reading of that rule can matter.
 */
const MIN_PART = 512;
/** The largest partial length (§4.2.1.4: 2^30). */
const MAX_POWER = 30;
/** Octets per read when the input is read into a buffer of the writer's own (reuseInputBuffer). */
const INPUT_BUFFER = 512 * 1024;
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

/**
 * Frames the Literal Data packet's body (§5.9: the header fields, then the data) into partial body
 * parts as the data arrives, without keeping any of it: each chunk is cut at once into the powers of
 * two its length (with what was carried) decomposes into, each at least MIN_PART octets, and handed
 * to `emit` (which encrypts it) with its one-octet partial length header; fewer than MIN_PART octets
 * left over are copied into a small carry buffer for the next part. So a chunk is finished with when
 * `push` returns, and the input can be read into a reused buffer. `emit` must consume what it is
 * given before returning (the carry buffer is reused too).
 */
class LiteralFramer {
  private readonly carry = new Uint8Array(MIN_PART);
  private carried = 0;

  constructor(
    private readonly emit: (piece: Uint8Array) => void,
    fields: Uint8Array,
  ) {
    this.carry.set(fields); // at most 2 + 255 + 4 octets (MAX_FILENAME): below MIN_PART
    this.carried = fields.length;
  }

  push(chunk: Uint8Array): void {
    let at = 0;
    let available = this.carried + chunk.length;
    while (available >= MIN_PART) {
      const power = Math.min(MAX_POWER, 31 - Math.clz32(available));
      this.emit(Uint8Array.of(0xe0 | power));
      let need = 2 ** power;
      if (this.carried > 0) {
        this.emit(this.carry.subarray(0, this.carried)); // all of it: need >= MIN_PART > carried
        need -= this.carried;
        this.carried = 0;
      }
      this.emit(chunk.subarray(at, at + need));
      at += need;
      available -= 2 ** power;
    }
    this.carry.set(chunk.subarray(at), this.carried);
    this.carried += chunk.length - at;
  }

  /** The end of the body: a regular length header for what is carried (possibly zero octets), then it. */
  end(): void {
    this.emit(regularLength(this.carried));
    if (this.carried > 0) this.emit(this.carry.subarray(0, this.carried));
    this.carried = 0;
  }
}

/**
 * Reads a stream chunk by chunk. With `reuse` and a readable byte stream (the CLI's stdin when it is
 * a file), into one buffer of the writer's own (a BYOB reader): a chunk is then valid only until the
 * next read, which the literal path guarantees (LiteralFramer keeps nothing), and no buffer is
 * allocated per chunk, which at 100 MiB saved page faults and garbage collection (bench/crypto.ts).
 */
function chunkReader(stream: ReadableStream<Uint8Array>, reuse: boolean): { read(): Promise<Uint8Array | undefined>; cancel(reason: unknown): Promise<void> } {
  if (reuse) {
    let byob: ReadableStreamBYOBReader | undefined;
    try {
      byob = stream.getReader({ mode: 'byob' });
    } catch {
      byob = undefined; // not a byte stream: the default reader below
    }
    if (byob !== undefined) {
      const reader = byob;
      let buffer = new ArrayBuffer(INPUT_BUFFER);
      return {
        async read() {
          const next = await reader.read(new Uint8Array(buffer));
          if (next.done || next.value === undefined) return undefined;
          buffer = next.value.buffer as ArrayBuffer; // the same memory, handed back (transferred)
          return next.value;
        },
        cancel: (reason) => reader.cancel(reason),
      };
    }
  }
  const reader = stream.getReader();
  return {
    async read() {
      const next = await reader.read();
      return next.done ? undefined : next.value;
    },
    cancel: (reason) => reader.cancel(reason),
  };
}

/** Literal data for writeSeipdV1 to frame into a Literal Data packet (RFC 9580 §5.9), binary format 'b'. */
export interface SeipdV1Literal {
  data: ReadableStream<Uint8Array>;
  /** The file name (UTF-8) and the date of the literal packet. */
  filename: string;
  date: Date;
  /**
   * Read `data`, if it is a readable byte stream, into one reused buffer (BYOB) rather than taking
   * the chunks it allocates; off by default (only the CLI's file input is measured with it).
   */
  reuseInputBuffer?: boolean;
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
  let input: ReturnType<typeof chunkReader> | undefined = literal ? chunkReader(literal.data, literal.reuseInputBuffer === true) : undefined;
  let hash!: IncrementalHash; // set before the first octet is encrypted: the platform's may start asynchronously

  const outer = new PartialFramer();
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
    if (packets) input = chunkReader(await packets(), false);
    if (options.before) yield options.before;
    yield Uint8Array.of(TAG_SEIPD);
    outer.push(Uint8Array.of(1)); // §5.13.1: version 1, not encrypted
    const prefix = new Uint8Array(BLOCK + 2);
    globalThis.crypto.getRandomValues(prefix.subarray(0, BLOCK));
    prefix[BLOCK] = prefix[BLOCK - 2] as number;
    prefix[BLOCK + 1] = prefix[BLOCK - 1] as number;
    encrypt(prefix);
    let framer: LiteralFramer | undefined;
    if (literal) {
      encrypt(Uint8Array.of(TAG_LITERAL));
      // §5.9: format 'b', the file name with its length octet, the date in seconds (4 octets).
      const fields = new Uint8Array(2 + filename.length + 4);
      fields[0] = 0x62;
      fields[1] = filename.length;
      fields.set(filename, 2);
      new DataView(fields.buffer).setUint32(2 + filename.length, Math.floor(literal.date.getTime() / 1000));
      framer = new LiteralFramer((piece) => encrypt(piece), fields);
    }
    for (let chunk = await input!.read(); chunk !== undefined; chunk = await input!.read()) {
      // Literal data is framed here; packets (already framed) are encrypted as they are.
      if (framer) framer.push(chunk);
      else encrypt(chunk);
      yield* outer.full();
    }
    framer?.end();
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
    return input?.cancel(reason) ?? Promise.resolve();
  });
}
