/**
 * Removing the ASCII armor of a message (RFC 9580 §6.2) with the engine's native base64 decoders
 * (`Uint8Array.prototype.setFromBase64`, else `Uint8Array.fromBase64`: Thunderbird 140+ / Firefox 133+),
 * where they exist. OpenPGP.js decodes armor
 * in JavaScript (a character loop per octet), which costs most of a second per 10 MiB where JavaScript
 * runs without a JIT (Debian's Thunderbird); the native decoder takes milliseconds.
 *
 * It only accelerates the common, well-formed case and leaves every judgement to OpenPGP.js: the head
 * of the text (up to HEAD_LIMIT characters) must be exactly an armor header line `-----BEGIN PGP
 * MESSAGE-----`, armor headers of the form OpenPGP.js accepts (`Key: Value`), and the blank line;
 * anything else (another armor type, a cleartext signature, odd headers, no blank line in time) is
 * handed back unread, and OpenPGP.js unarmors it as before, with its own errors. Past the head, as
 * OpenPGP.js does: the body runs to the first line that starts with `-`, which must be an armor tail
 * line (`-----…-----`); a line starting with `=` just before it is the optional CRC-24 checksum, which
 * is ignored (RFC 9580 §6.1: an implementation MUST NOT reject data for its checksum; OpenPGP.js 6
 * does not check it either); text after the tail line is ignored. Invalid base64, a missing tail line
 * or anything after the checksum line is MALFORMED_ARMOR, as a stream error.
 *
 * Memory: the armored text comes in as bytes (1 MiB reads of the mail) and each chunk becomes one fresh
 * output array and its text once, in one-byte strings: where the engine has
 * `Uint8Array.prototype.setFromBase64`, the chunk is read as text 16 KiB at a time (latin1Text: a Latin-1
 * string in SpiderMonkey, where TextDecoder's is UTF-16) and decoded straight into the output (the decoder
 * skips line breaks itself; the few characters of a group split between pieces are decoded on their own,
 * Base64Pieces), so no whitespace-stripped copy and no joined or flattened string is made. Before, a
 * TextDecoderStream, the joining of what was left over with the next chunk, the stripping of line breaks
 * and the cut at a group boundary made four UTF-16 strings per chunk, eight times the armor in short-lived
 * garbage. The output is not reused: the packet parser downstream keeps views of it (the session key
 * packets) and the SEIPD reader holds several chunks across reads. It is given away instead: nothing here
 * keeps or writes an output array once handed on, so the partial-body re-framing (partial-bodies.ts,
 * ownsInput) moves the encrypted data's octets together inside it rather than copying them.
 */
import { SigillError } from '../errors.ts';

/** The engine's native base64 decoder, if it has one (not yet in TypeScript's library). */
export type Base64Decoder = (text: string) => Uint8Array;

/**
 * `Uint8Array.prototype.setFromBase64` (Thunderbird 140+) with lastChunkHandling 'stop-before-partial':
 * decodes `text` into `target`, skipping ASCII whitespace, and stops before a partial final group;
 * `read` is how many characters it used. Throws (SyntaxError) on characters outside the alphabet and on
 * data after padding.
 */
export type Base64Setter = (target: Uint8Array, text: string) => { read: number; written: number };

export function nativeBase64Decoder(): Base64Decoder | undefined {
  const decoder = (Uint8Array as unknown as { fromBase64?: Base64Decoder }).fromBase64;
  return typeof decoder === 'function' ? (text) => decoder.call(Uint8Array, text) : undefined;
}

export function nativeBase64Setter(): Base64Setter | undefined {
  type WithSetter = { setFromBase64?: (text: string, options: { lastChunkHandling: string }) => { read: number; written: number } };
  const setFromBase64 = (Uint8Array.prototype as unknown as WithSetter).setFromBase64;
  return typeof setFromBase64 === 'function' ? (target, text) => setFromBase64.call(target, text, { lastChunkHandling: 'stop-before-partial' }) : undefined;
}

/** What the engine offers for base64: both come with Thunderbird 140+, neither with 128 (nor Node 20). */
export interface Base64Decoders {
  fromBase64?: Base64Decoder | undefined;
  setFromBase64?: Base64Setter | undefined;
}

export function nativeBase64Decoders(): Base64Decoders {
  return { fromBase64: nativeBase64Decoder(), setFromBase64: nativeBase64Setter() };
}

const isBase64Whitespace = (code: number): boolean => code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d || code === 0x0c;

/**
 * Base64 text handed over in pieces, decoded with setFromBase64 into one fresh array per piece; the
 * result equals decoding the whole text at once. The up to three characters of a group that a piece
 * ends in are carried, and completed from the start of the next piece as a short string of their own,
 * so a piece's text is never joined to anything (joining would copy it: a rope flattened by the
 * decoder). `padded` tells that a group with padding was read: the data ended there.
 */
export class Base64Pieces {
  private carry = '';
  private carried = 0; // base64 characters in carry (the rest of it is whitespace)
  padded = false;

  constructor(private readonly setFromBase64: Base64Setter) {}

  /** The characters of a partial group carried to the next piece (with any whitespace among them). */
  leftover(): string {
    return this.carry;
  }

  /**
   * The bytes of the next piece; with `final`, a last group of two or three characters is decoded as
   * if padded (RFC 4648 §3.2 lets the padding be left out; RFC 9580 §6 armor and RFC 2045 §6.8 bodies
   * end so). Throws the decoder's SyntaxError, or a RangeError for a final group of one character;
   * after a throw nothing of the piece was taken, so the caller can fall back to another way with the
   * same text.
   */
  decode(text: string, final = false): Uint8Array {
    const target = new Uint8Array(this.room(text.length));
    return target.subarray(0, this.decodeInto(target, 0, text, final));
  }

  /** How many octets the next `length` characters can decode to at most (what is carried included). */
  room(length: number): number {
    return Math.ceil(((this.carried + length) * 3) / 4) + 3;
  }

  /** As decode, into `target` from `offset` (room(text.length) octets free there); returns how many were written. */
  decodeInto(target: Uint8Array, offset: number, text: string, final = false): number {
    let written = offset;
    let padded = this.padded;
    let rest = text;
    let carry = this.carry;
    let carried = this.carried;
    const set = (piece: string): number => {
      if (padded && /[^\t\n\f\r ]/.test(piece)) throw new SyntaxError('base64 data after the padding');
      const result = this.setFromBase64(target.subarray(written), piece);
      written += result.written;
      if (result.written > 0 && endsWithPadding(piece, result.read)) padded = true;
      return result.read;
    };
    if (carried > 0) {
      // Complete the carried group from as few characters of this piece as it takes.
      let need = 4 - carried;
      let end = 0;
      while (need > 0 && end < rest.length) if (!isBase64Whitespace(rest.charCodeAt(end++))) need--;
      const head = carry + rest.slice(0, end);
      rest = rest.slice(end);
      if (need > 0) {
        carry = head;
        carried = 4 - need;
      } else {
        set(head); // one whole group: read to its end
        carry = '';
        carried = 0;
      }
    }
    if (carried === 0 && rest.length > 0) {
      const read = set(rest);
      carry = rest.slice(read);
      carried = 0;
      for (let index = 0; index < carry.length; index++) if (!isBase64Whitespace(carry.charCodeAt(index))) carried++;
      if (carried === 0) carry = '';
    }
    if (final && carried > 0) {
      if (carried === 1) throw new RangeError('base64 data ends in the middle of a character group');
      set(carry + '='.repeat(4 - carried));
      carry = '';
      carried = 0;
    }
    this.carry = carry;
    this.carried = carried;
    this.padded = padded;
    return written - offset;
  }
}

/** Whether the last non-whitespace character before `read` is padding. */
function endsWithPadding(text: string, read: number): boolean {
  for (let index = read - 1; index >= 0; index--) {
    const code = text.charCodeAt(index);
    if (!isBase64Whitespace(code)) return code === 0x3d;
  }
  return false;
}

/** How much text may come before the armor data (leading text, header line, headers). */
const HEAD_LIMIT = 64 * 1024;
/** How much may follow the data before the tail line (the checksum, blank lines). */
const TRAILER_LIMIT = 64 * 1024;
const ARMOR_LINE = /^-----[^-]+-----$/;
const MESSAGE_BEGIN = '-----BEGIN PGP MESSAGE-----';
/** OpenPGP.js's own test of an armor header (its verifyHeaders), so both accept the same. */
const ARMOR_HEADER = /^([^\s:]|[^\s:][^:]*[^\s:]): .+$/;
const BLANK = /^[ \f\r\t\u00a0\u2000-\u200a\u202f\u205f\u3000]*$/;
/** Characters between base64 quartets that carry nothing (line breaks, trailing spaces). */
const WHITESPACE = /[ \t\r\n\f]/g;

/** Bytes turned into text a piece at a time, few enough to pass as the arguments of one call. */
export const TEXT_PIECE = 16 * 1024;

/**
 * The bytes as text, one character per byte (ISO 8859-1). `String.fromCharCode` makes a one-byte
 * (Latin-1) string in SpiderMonkey; TextDecoder's result is a UTF-16 string there, twice the size, and
 * base64 text is all the armor is. At most TEXT_PIECE bytes (arguments of one call).
 */
export function latin1Text(bytes: Uint8Array): string {
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

/** Where the first line starting with '=' or '-' begins, after a line break in `text`; -1 if none does. */
function lineEnd(text: string): number {
  const at = text.search(/\n[=-]/);
  return at < 0 ? -1 : at + 1;
}

const malformed = (detail: string): SigillError => new SigillError('MALFORMED_ARMOR', { detail });
/** One character per byte and back (WHATWG's latin1 is windows-1252, a bijection on bytes), so positions in the text are positions in the bytes. */
const bytewise = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The bytes read so far put back in front, as text for OpenPGP.js to read as if untouched. */
function asText(head: Uint8Array, reader: ReadableStreamDefaultReader<Uint8Array>): ReadableStream<string> {
  let first = true;
  const bytes = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (first) {
        first = false;
        if (head.length > 0) {
          controller.enqueue(head);
          return;
        }
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return bytes.pipeThrough(new TextDecoderStream('utf-8') as unknown as TransformStream<Uint8Array, string>);
}

/**
 * Splits off a well-formed message armor head and decodes the body natively. Answers the decoded
 * packets, or the untouched text (UTF-8, as OpenPGP.js reads armor) for OpenPGP.js when the head is not
 * the common form (or there is no native decoder).
 */
export async function unarmorNatively(input: ReadableStream<Uint8Array>, decoders: Base64Decoders = nativeBase64Decoders()): Promise<{ packets: ReadableStream<Uint8Array> } | { text: ReadableStream<string> }> {
  const reader = input.getReader();
  const { fromBase64, setFromBase64 } = decoders;
  if (fromBase64 === undefined && setFromBase64 === undefined) return { text: asText(new Uint8Array(0), reader) };
  let headBytes: Uint8Array = new Uint8Array(0);
  let head = ''; // headBytes, one character per byte
  let bodyStart = -1;
  // Read whole lines of the head until the blank line after the armor headers.
  let scanned = 0;
  let begun = false;
  while (bodyStart < 0) {
    const newline = head.indexOf('\n', scanned);
    if (newline < 0) {
      if (head.length > HEAD_LIMIT) return { text: asText(headBytes, reader) };
      const { done, value } = await reader.read();
      if (done) return { text: asText(headBytes, reader) };
      headBytes = concat(headBytes, value);
      head = bytewise.decode(headBytes);
      continue;
    }
    const line = head.slice(scanned, newline).replace(/[ \t\r]+$/, '');
    scanned = newline + 1;
    if (!begun) {
      if (!ARMOR_LINE.test(line)) continue; // text before the armor, as OpenPGP.js skips it
      if (line !== MESSAGE_BEGIN) return { text: asText(headBytes, reader) };
      begun = true;
      // OpenPGP.js reads the headers as UTF-8; anything but ASCII from here is left to it.
    } else if (/[\u0080-\uffff]/.test(line)) {
      return { text: asText(headBytes, reader) };
    } else if (BLANK.test(line)) {
      bodyStart = scanned;
    } else if (!ARMOR_HEADER.test(line)) {
      return { text: asText(headBytes, reader) };
    }
  }

  const pieces = setFromBase64 !== undefined ? new Base64Pieces(setFromBase64) : undefined;
  let quartetRest = ''; // without setFromBase64: base64 characters short of a whole quartet
  /** Decodes the data text of a piece into `out` at `offset` (`last`: the data ends with it); returns the octets written. */
  const decodeInto = (out: Uint8Array, offset: number, data: string, last: boolean): number => {
    try {
      if (pieces !== undefined) return pieces.decodeInto(out, offset, data, last);
      const characters = quartetRest + data.replace(WHITESPACE, '');
      const whole = last ? characters.length : characters.length - (characters.length % 4);
      quartetRest = characters.slice(whole);
      if (whole === 0) return 0;
      const bytes = (fromBase64 as Base64Decoder)(characters.slice(0, whole));
      out.set(bytes, offset);
      return bytes.length;
    } catch (error) {
      throw new SigillError('MALFORMED_ARMOR', { detail: 'invalid base64 in the armor data', cause: error });
    }
  };

  let atLineStart = true; // the next chunk starts a line
  let trailer: Uint8Array | undefined; // from the first line after the data: checksum, tail line
  let ended = false; // the tail line was seen
  /** Whether the trailer holds the tail line (then the armor is whole); throws for anything else. */
  const trailerDone = (final: boolean): boolean => {
    const lines = utf8.decode(trailer as Uint8Array).split('\n');
    if (!final) lines.pop(); // what follows the last line break: not a complete line yet
    // Blank lines around the checksum are tolerated, as OpenPGP.js does (an HTML part's text has them).
    const trimmed = lines.map((line) => line.replace(/[ \t\r]+$/, '')).filter((line) => !BLANK.test(line));
    const tail = trimmed[trimmed[0]?.startsWith('=') ? 1 : 0]; // skip the CRC-24 checksum line (§6.1)
    if (tail === undefined) {
      if (final || (trailer as Uint8Array).length > TRAILER_LIMIT) throw malformed('the armor tail line is missing');
      return false;
    }
    if (!ARMOR_LINE.test(tail)) throw malformed('unexpected text after the armor data');
    return true;
  };
  /**
   * The packet octets of the next chunk of armor (empty when it holds none); `final`: the input ended.
   * With setFromBase64 the chunk is read as text a piece at a time (latin1Text) and decoded into one
   * array; otherwise as one text, decoded with fromBase64.
   */
  const take = (chunk: Uint8Array, final: boolean): Uint8Array => {
    if (trailer !== undefined) {
      trailer = concat(trailer, chunk);
      ended = trailerDone(final);
      return new Uint8Array(0);
    }
    const out = new Uint8Array(Math.ceil(((chunk.length + 4) * 3) / 4) + 3);
    let written = 0;
    const pieceSize = pieces !== undefined ? TEXT_PIECE : Math.max(chunk.length, 1);
    for (let at = 0; at < chunk.length; at += pieceSize) {
      const piece = chunk.subarray(at, at + pieceSize);
      const text = pieces !== undefined ? latin1Text(piece) : bytewise.decode(piece);
      // The first line that starts with '=' or '-' ends the data: the checksum or the tail line.
      const opensLine = atLineStart && (text.charCodeAt(0) === 0x3d || text.charCodeAt(0) === 0x2d);
      const end = opensLine ? 0 : lineEnd(text);
      atLineStart = text.charCodeAt(text.length - 1) === 0x0a;
      if (end < 0) {
        written += decodeInto(out, written, text, false);
        continue;
      }
      written += decodeInto(out, written, end === text.length ? text : text.slice(0, end), true);
      trailer = chunk.subarray(at + end);
      ended = trailerDone(final);
      return out.subarray(0, written);
    }
    if (final) throw malformed('the armor tail line is missing');
    return out.subarray(0, written);
  };

  let first: Uint8Array | undefined = headBytes.subarray(bodyStart);
  const packets = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          for (;;) {
            if (ended) {
              await reader.cancel().catch(() => undefined);
              controller.close();
              return;
            }
            let chunk: Uint8Array;
            let done = false;
            if (first !== undefined) {
              chunk = first;
              first = undefined;
            } else {
              const next = await reader.read();
              done = next.done;
              chunk = next.done ? new Uint8Array(0) : next.value;
            }
            const bytes = take(chunk, done);
            if (bytes.length > 0) {
              controller.enqueue(bytes);
              return;
            }
            if (done && !ended) throw malformed('the armor tail line is missing');
          }
        } catch (error) {
          await reader.cancel().catch(() => undefined);
          controller.error(error instanceof SigillError ? error : new SigillError('MALFORMED_ARMOR', { cause: error }));
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
  return { packets };
}
