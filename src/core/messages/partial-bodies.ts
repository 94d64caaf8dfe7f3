/**
 * Re-frames the body of a binary message's encrypted data packet (SEIPD, tag 18) from many small
 * partial body chunks into few large ones, before OpenPGP.js parses it.
 *
 * Why: GnuPG writes SEIPD bodies as 8 KiB partial body chunks (RFC 9580 §4.2.1.4), and OpenPGP.js
 * hands every chunk separately through its web streams, which costs more than decrypting it
 * (bench/crypto.ts: ~15% of the time to decrypt GnuPG's 100 MiB message). Partial body lengths are
 * framing only: the packet body is the concatenation of the chunks whatever their sizes, so
 * emitting the same body as 256 KiB chunks (then one regular length for the rest) gives OpenPGP.js
 * the identical packet.
 *
 * What is touched, and why that is safe: only the length octets of a new-format tag 18 packet that
 * already uses partial lengths; its body octets are copied unchanged, in order. Everything else —
 * the packets before it (ESKs), the packets after it, old-format packets, partial lengths on any
 * other tag (which OpenPGP.js must keep judging), anything that does not parse — is passed through
 * byte for byte from the first octet this module does not recognise. A mistake here could only
 * damage ciphertext, which the MDC (SEIPDv1) or the AEAD tags (SEIPDv2) reject; it cannot turn
 * something OpenPGP.js would refuse into something it accepts, since the packet sequence, tags and
 * body bytes are unchanged. A truncated body stays truncated (the stream ends inside a chunk).
 */
import { concatBytes, iteratorStream } from './streams.ts';

const SEIPD = 18;
/** Emitted partial chunk size: 2^18 = 256 KiB. */
const POWER = 18;
const CHUNK = 1 << POWER;

export function coalescePartialBodies(input: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = input.getReader();
  const queue: Uint8Array[] = [];
  let queued = 0;
  let ended = false;

  /** Reads until at least `n` octets are queued or the input ended; true if they are. */
  const fill = async (n: number): Promise<boolean> => {
    while (queued < n && !ended) {
      const next = await reader.read();
      if (next.done) ended = true;
      else if (next.value.length > 0) {
        queue.push(next.value);
        queued += next.value.length;
      }
    }
    return queued >= n;
  };
  /** The queued octet at `index` (fill first). */
  const peek = (index: number): number => {
    let at = index;
    for (const chunk of queue) {
      if (at < chunk.length) return chunk[at] as number;
      at -= chunk.length;
    }
    throw new RangeError('peek past the queued octets');
  };
  /** Removes and returns up to `n` queued octets, without copying when one chunk holds them. */
  const take = (n: number): Uint8Array => {
    const parts: Uint8Array[] = [];
    let left = Math.min(n, queued);
    while (left > 0) {
      const head = queue[0] as Uint8Array;
      if (head.length <= left) {
        parts.push(head);
        queue.shift();
        left -= head.length;
        queued -= head.length;
      } else {
        parts.push(head.subarray(0, left));
        queue[0] = head.subarray(left);
        queued -= left;
        left = 0;
      }
    }
    return parts.length === 1 ? (parts[0] as Uint8Array) : concatBytes(parts);
  };

  /** Length octets of the new-format header at `offset` (RFC 9580 §4.2.1), or undefined if not queued. */
  type Length = { kind: 'regular' | 'partial'; length: number; octets: number };
  const readLength = async (offset: number): Promise<Length | undefined> => {
    if (!(await fill(offset + 1))) return undefined;
    const first = peek(offset);
    if (first < 192) return { kind: 'regular', length: first, octets: 1 };
    if (first < 224) {
      if (!(await fill(offset + 2))) return undefined;
      return { kind: 'regular', length: ((first - 192) << 8) + peek(offset + 1) + 192, octets: 2 };
    }
    if (first < 255) return { kind: 'partial', length: 2 ** (first & 0x1f), octets: 1 };
    if (!(await fill(offset + 5))) return undefined;
    return { kind: 'regular', length: peek(offset + 1) * 2 ** 24 + ((peek(offset + 2) << 16) | (peek(offset + 3) << 8) | peek(offset + 4)), octets: 5 };
  };

  /** A legacy-format header's length (§4.2.2); undefined if truncated or indeterminate (type 3). */
  const readLegacyLength = async (tagOctet: number): Promise<Length | undefined> => {
    const octets = [1, 2, 4, 0][tagOctet & 0x03] as number;
    if (octets === 0 || !(await fill(1 + octets))) return undefined;
    let length = 0;
    for (let i = 1; i <= octets; i++) length = length * 256 + peek(i);
    return { kind: 'regular', length, octets };
  };

  function* passThrough(): Generator<Uint8Array> {
    yield take(queued);
  }

  /** The output: ESKs and other packets as they are, the SEIPD body in CHUNK-sized partials. */
  async function* frames(): AsyncGenerator<Uint8Array> {
    // Packets before the encrypted data: passed through whole, one by one.
    for (;;) {
      if (!(await fill(1))) return;
      const tagOctet = peek(0);
      if ((tagOctet & 0x80) === 0) break; // not a packet header: hands off
      // New format (§4.2.1) or legacy format (§4.2.2; GnuPG writes its PKESKs so).
      const length = tagOctet & 0x40 ? await readLength(1) : await readLegacyLength(tagOctet);
      // Undefined: truncated, or a legacy indeterminate length; partial: the SEIPD to re-frame
      // below, or partial lengths on another tag, which are left alone from here on.
      if (length === undefined || length.kind === 'partial') break;
      let left = 1 + length.octets + length.length;
      while (left > 0) {
        if (!(await fill(1))) break;
        const part = take(left);
        left -= part.length;
        yield part;
      }
      if (left > 0) return; // truncated: what there was went through
    }
    if (!(await fill(1))) return;
    const tagOctet = peek(0);
    const first = (tagOctet & 0xc0) === 0xc0 && (tagOctet & 0x3f) === SEIPD ? await readLength(1) : undefined;
    if (first?.kind !== 'partial') {
      // Whatever this is, OpenPGP.js judges it as it came.
      for (;;) {
        yield* passThrough();
        if (!(await fill(1))) return;
      }
    }
    yield take(1); // the tag octet
    // The body: collect chunk after chunk, emitting CHUNK-sized partials as they fill up.
    const pending: Uint8Array[] = [];
    let pendingLength = 0;
    /** Emits CHUNK-sized partial chunks while enough is pending (one copy of the octets). */
    const emitFull = function* (): Generator<Uint8Array> {
      while (pendingLength >= CHUNK) {
        const out = new Uint8Array(1 + CHUNK);
        out[0] = 0xe0 | POWER;
        let filled = 0;
        while (filled < CHUNK) {
          const part = pending[0] as Uint8Array;
          const use = Math.min(part.length, CHUNK - filled);
          out.set(part.subarray(0, use), 1 + filled);
          filled += use;
          if (use === part.length) pending.shift();
          else pending[0] = part.subarray(use);
        }
        pendingLength -= CHUNK;
        yield out;
      }
    };
    for (;;) {
      const length = await readLength(0);
      if (length === undefined) break; // truncated inside a length header
      take(length.octets);
      let left = length.length;
      while (left > 0 && (await fill(1))) {
        const part = take(Math.min(left, CHUNK));
        left -= part.length;
        pending.push(part);
        pendingLength += part.length;
        yield* emitFull();
      }
      if (left > 0) break; // truncated inside a chunk
      if (length.kind === 'regular') {
        // The last chunk: the rest of the body gets one regular length header.
        const header = regularLength(pendingLength);
        yield concatBytes([header, ...pending]);
        // Anything after the SEIPD packet goes through untouched.
        while (await fill(1)) yield* passThrough();
        return;
      }
    }
    // Truncated: announce a full chunk and end short of it, so the parser still sees a truncated packet.
    const header = new Uint8Array([0xe0 | POWER]);
    yield concatBytes([header, ...pending]);
    while (await fill(1)) yield* passThrough();
  }

  return iteratorStream(frames(), (reason) => reader.cancel(reason));
}

/** The shortest regular length header for `length` (RFC 9580 §4.2.1.1-3). */
export function regularLength(length: number): Uint8Array {
  if (length < 192) return new Uint8Array([length]);
  if (length < 8384) return new Uint8Array([((length - 192) >> 8) + 192, (length - 192) & 0xff]);
  return new Uint8Array([0xff, (length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff]);
}
