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

export interface CoalesceOptions {
  /**
   * The packet whose partial body is re-framed, SEIPD (18) by default; literal data (11) for the
   * decompressed contents of a compressed data packet (openpgp-internals.ts, useCoalescedInflate), where
   * GnuPG writes its 8 KiB partials again.
   */
  tag?: number;
  /**
   * The input's chunks are given away: new arrays that nobody else holds or writes (the native armor
   * decoder's output, native-armor.ts). The body's parts are then moved together inside each chunk
   * (`copyWithin` over the length headers between them) and passed on as views in pieces of 64 KiB or more,
   * instead of being copied into new 256 KiB arrays: only what is left of a chunk short of 64 KiB is copied
   * (into the next piece). Octets already passed on, and everything before the body, are never written.
   */
  ownsInput?: boolean;
}

export function coalescePartialBodies(input: ReadableStream<Uint8Array>, options: CoalesceOptions = {}): ReadableStream<Uint8Array> {
  const tag = options.tag ?? SEIPD;
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
    if (options.ownsInput === true) {
      yield* compactedBody();
      return;
    }
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

  /**
   * The SEIPD body after its tag octet, from input chunks the caller gave away (ownsInput): each chunk's
   * body octets moved together in place and passed on as views, under partial length headers of 2^16 to
   * 2^30 octets; the rest of a chunk short of 64 KiB is copied into a 64 KiB piece of its own that the next
   * octets fill (so the first partial length is at least 512 octets, RFC 9580 §4.2.1.4); the last octets
   * go under one regular length. The body octets and their order are unchanged.
   */
  async function* compactedBody(): AsyncGenerator<Uint8Array> {
    const newGather = (): Uint8Array => {
      const chunk = new Uint8Array(1 + GATHER);
      chunk[0] = 0xe0 | GATHER_POWER;
      return chunk;
    };
    let gather = newGather();
    let gathered = 0;
    /** Body octets left in the current part, and whether more parts follow it. */
    let left = 0;
    let partial = true;
    const consume = (n: number): void => {
      const head = queue[0] as Uint8Array;
      queued -= n;
      if (n === head.length) queue.shift();
      else queue[0] = head.subarray(n);
    };
    for (;;) {
      if (left === 0) {
        if (!partial) break; // the last part is read
        const length = lengthAt(0);
        if (length === 'more') {
          if (await fill(queued + 1)) continue;
          // Truncated in a length header: announce a piece and end short of it, so the parser still sees a
          // truncated packet; the incomplete header follows as it came.
          yield gathered > 0 ? gather.subarray(0, 1 + gathered) : Uint8Array.of(0xe0 | GATHER_POWER);
          while (await fill(1)) yield* passThrough();
          return;
        }
        take(length.octets);
        left = length.length;
        partial = length.kind === 'partial';
        continue;
      }
      if (queued === 0 && !(await fill(1))) {
        // Truncated inside a part: the same.
        yield gathered > 0 ? gather.subarray(0, 1 + gathered) : Uint8Array.of(0xe0 | GATHER_POWER);
        return;
      }
      const head = queue[0] as Uint8Array;
      if (gathered > 0) {
        // Fill the piece being gathered first (a copy of at most 64 KiB).
        const use = Math.min(head.length, left, GATHER - gathered);
        gather.set(head.subarray(0, use), 1 + gathered);
        gathered += use;
        left -= use;
        consume(use);
        if (gathered === GATHER) {
          yield gather;
          gather = newGather();
          gathered = 0;
        }
        continue;
      }
      // Move this chunk's body octets together from its start, over the length headers between parts.
      let write = 0;
      let read = 0;
      for (;;) {
        if (left === 0) {
          if (!partial || read === head.length) break;
          const length = lengthIn(head, read);
          if (length === undefined) break; // the header runs into the next chunk: read above
          read += length.octets;
          left = length.length;
          partial = length.kind === 'partial';
          continue;
        }
        if (read === head.length) break;
        const use = Math.min(left, head.length - read);
        if (write !== read) head.copyWithin(write, read, read + use);
        write += use;
        read += use;
        left -= use;
      }
      consume(read);
      const run = head.subarray(0, write);
      if (!partial && left === 0) {
        // The body ends in this chunk: the rest of it under one regular length.
        yield regularLength(run.length);
        if (run.length > 0) yield run;
        while (await fill(1)) yield* passThrough();
        return;
      }
      // Pieces of 2^30 down to 2^16 octets as views; what is left (under 64 KiB) starts the next gathered piece.
      let at = 0;
      for (let power = MAX_POWER; power >= GATHER_POWER; power--) {
        if (run.length - at < 2 ** power) continue;
        yield Uint8Array.of(0xe0 | power);
        yield run.subarray(at, at + 2 ** power);
        at += 2 ** power;
      }
      gather.set(run.subarray(at), 1);
      gathered = run.length - at;
    }
    // The body ended with what was gathered (or exactly after a piece): its rest under a regular length.
    yield regularLength(gathered);
    if (gathered > 0) yield gather.subarray(1, 1 + gathered);
    while (await fill(1)) yield* passThrough();
  }

  return iteratorStream(frames(), (reason) => reader.cancel(reason));
}

/** Pieces gathered by copying when the input is given away (ownsInput): 2^16 = 64 KiB. */
const GATHER_POWER = 16;
const GATHER = 1 << GATHER_POWER;

/** A new-format length header (RFC 9580 §4.2.1) at `at` in `bytes`; undefined if it does not end there. */
function lengthIn(bytes: Uint8Array, at: number): { kind: 'regular' | 'partial'; length: number; octets: number } | undefined {
  const first = bytes[at] as number;
  if (first < 192) return { kind: 'regular', length: first, octets: 1 };
  if (first < 224) return at + 2 > bytes.length ? undefined : { kind: 'regular', length: ((first - 192) << 8) + (bytes[at + 1] as number) + 192, octets: 2 };
  if (first < 255) return { kind: 'partial', length: 2 ** (first & 0x1f), octets: 1 };
  if (at + 5 > bytes.length) return undefined;
  return { kind: 'regular', length: (bytes[at + 1] as number) * 2 ** 24 + (((bytes[at + 2] as number) << 16) | ((bytes[at + 3] as number) << 8) | (bytes[at + 4] as number)), octets: 5 };
}

/** The shortest regular length header for `length` (RFC 9580 §4.2.1.1-3). */
export function regularLength(length: number): Uint8Array {
  if (length < 192) return new Uint8Array([length]);
  if (length < 8384) return new Uint8Array([((length - 192) >> 8) + 192, (length - 192) & 0xff]);
  return new Uint8Array([0xff, (length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff]);
}
