/**
 * Re-frames the body of a binary message's encrypted data packet (SEIPD, tag 18; or another `tag`) from many small
 * partial body chunks into few large ones, before OpenPGP.js parses it. Parts of 256 KiB or more
 * (Sigill writes 1 MiB ones) are not gathered: they go on as views of the input under the same kind
 * of header, so only small parts are copied.
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
/** The largest partial body length (RFC 9580 §4.2.1.4: 2^30). */
const MAX_POWER = 30;

/**
 * `tag`: the packet whose partial body is re-framed, SEIPD (18) by default; literal data (11) for the
 * decompressed contents of a compressed data packet (openpgp-internals.ts, useCoalescedInflate), where
 * GnuPG writes its 8 KiB partials again.
 */
export function coalescePartialBodies(input: ReadableStream<Uint8Array>, tag: number = SEIPD): ReadableStream<Uint8Array> {
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

  /** Length octets of the new-format header at `offset` (RFC 9580 §4.2.1); 'more' if not all of them are queued. */
  type Length = { kind: 'regular' | 'partial'; length: number; octets: number };
  const lengthAt = (offset: number): Length | 'more' => {
    if (queued < offset + 1) return 'more';
    const first = peek(offset);
    if (first < 192) return { kind: 'regular', length: first, octets: 1 };
    if (first < 224) return queued < offset + 2 ? 'more' : { kind: 'regular', length: ((first - 192) << 8) + peek(offset + 1) + 192, octets: 2 };
    if (first < 255) return { kind: 'partial', length: 2 ** (first & 0x1f), octets: 1 };
    if (queued < offset + 5) return 'more';
    return { kind: 'regular', length: peek(offset + 1) * 2 ** 24 + ((peek(offset + 2) << 16) | (peek(offset + 3) << 8) | peek(offset + 4)), octets: 5 };
  };
  /** The same, reading on as needed; undefined if the input ends first. */
  const readLength = async (offset: number): Promise<Length | undefined> => {
    for (;;) {
      const length = lengthAt(offset);
      if (length !== 'more') return length;
      if (!(await fill(queued + 1))) return undefined;
    }
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
    const first = (tagOctet & 0xc0) === 0xc0 && (tagOctet & 0x3f) === tag ? await readLength(1) : undefined;
    if (first?.kind !== 'partial') {
      // Whatever this is, OpenPGP.js judges it as it came.
      for (;;) {
        yield* passThrough();
        if (!(await fill(1))) return;
      }
    }
    yield take(1); // the tag octet
    // The body: copied from the queued input straight into CHUNK-sized partial chunks (one copy of
    // each octet), its length headers parsed from what is queued, waiting for input only when
    // nothing queued can be used: an await per GnuPG 8 KiB chunk cost more than the copying
    // (bench/crypto.ts, about 0.15 s per 100 MiB).
    const newChunk = (): Uint8Array => {
      const chunk = new Uint8Array(1 + CHUNK);
      chunk[0] = 0xe0 | POWER;
      return chunk;
    };
    let out = newChunk();
    let filled = 0;
    /** Body octets left in the current part, and whether more parts follow it. */
    let left = 0;
    let partial = true;
    /** Octets of the current part announced by a header already emitted, to pass on as they are. */
    let through = 0;
    for (;;) {
      for (;;) {
        if (through === 0 && filled === 0 && partial && left >= CHUNK) {
          // A large part (Sigill's own 1 MiB ones, say) needs no gathering: its octets go on as
          // views of the input under a header for the largest power of two in what is left of it,
          // which saved the copy of every octet (bench/crypto.ts: ~0.07 s per 100 MiB).
          const power = Math.min(MAX_POWER, 31 - Math.clz32(left));
          yield Uint8Array.of(0xe0 | power);
          through = 2 ** power;
        }
        if (through > 0) {
          const head = queue[0];
          if (head === undefined) break;
          const use = Math.min(head.length, through);
          through -= use;
          left -= use;
          queued -= use;
          if (use === head.length) queue.shift();
          else queue[0] = head.subarray(use);
          yield head.subarray(0, use);
          continue;
        }
        if (left === 0) {
          if (!partial) {
            // The last part is read: the rest of the body gets one regular length header.
            yield concatBytes([regularLength(filled), out.subarray(1, 1 + filled)]);
            // Anything after the SEIPD packet goes through untouched.
            while (await fill(1)) yield* passThrough();
            return;
          }
          const length = lengthAt(0);
          if (length === 'more') break;
          take(length.octets);
          left = length.length;
          partial = length.kind === 'partial';
          continue;
        }
        const head = queue[0];
        if (head === undefined) break;
        const use = Math.min(head.length, left, CHUNK - filled);
        out.set(head.subarray(0, use), 1 + filled);
        filled += use;
        left -= use;
        queued -= use;
        if (use === head.length) queue.shift();
        else queue[0] = head.subarray(use);
        if (filled === CHUNK) {
          yield out;
          out = newChunk();
          filled = 0;
        }
      }
      if (!(await fill(queued + 1))) break;
    }
    // Truncated (inside a chunk or a length header): announce a full chunk and end short of it, so
    // the parser still sees a truncated packet; an incomplete length header follows as it came. A
    // part being passed on was announced already and ends short by itself.
    if (through === 0) yield out.subarray(0, 1 + filled);
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
