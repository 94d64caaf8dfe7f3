/**
 * Removing the ASCII armor of a message (RFC 9580 §6.2) with the engine's native base64 decoder
 * (`Uint8Array.fromBase64`, Thunderbird 140+ / Firefox 133+), where it exists. OpenPGP.js decodes armor
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
 */
import { SigillError } from '../errors.ts';

/** The engine's native base64 decoder, if it has one (not yet in TypeScript's library). */
export type Base64Decoder = (text: string) => Uint8Array;

export function nativeBase64Decoder(): Base64Decoder | undefined {
  const decoder = (Uint8Array as unknown as { fromBase64?: Base64Decoder }).fromBase64;
  return typeof decoder === 'function' ? (text) => decoder.call(Uint8Array, text) : undefined;
}

/** How much text may come before the armor data (leading text, header line, headers). */
const HEAD_LIMIT = 64 * 1024;
const ARMOR_LINE = /^-----[^-]+-----$/;
const MESSAGE_BEGIN = '-----BEGIN PGP MESSAGE-----';
/** OpenPGP.js's own test of an armor header (its verifyHeaders), so both accept the same. */
const ARMOR_HEADER = /^([^\s:]|[^\s:][^:]*[^\s:]): .+$/;
const BLANK = /^[ \f\r\t\u00a0\u2000-\u200a\u202f\u205f\u3000]*$/;
/** Characters between base64 quartets that carry nothing (line breaks, trailing spaces). */
const WHITESPACE = /[ \t\r\n\f]/g;

const malformed = (detail: string): SigillError => new SigillError('MALFORMED_ARMOR', { detail });

/** The text with the head read so far put back in front, for OpenPGP.js to read as if untouched. */
function prepend(head: string, reader: ReadableStreamDefaultReader<string>): ReadableStream<string> {
  let first = true;
  return new ReadableStream<string>({
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
}

/**
 * Splits off a well-formed message armor head and decodes the body natively. Answers the decoded
 * packets, or the untouched text for OpenPGP.js when the head is not the common form (or there is no
 * native decoder).
 */
export async function unarmorNatively(text: ReadableStream<string>, fromBase64: Base64Decoder | undefined = nativeBase64Decoder()): Promise<{ packets: ReadableStream<Uint8Array> } | { text: ReadableStream<string> }> {
  if (fromBase64 === undefined) return { text };
  const reader = text.getReader();
  let head = '';
  let bodyStart = -1;
  // Read whole lines of the head until the blank line after the armor headers.
  let scanned = 0;
  let begun = false;
  while (bodyStart < 0) {
    const newline = head.indexOf('\n', scanned);
    if (newline < 0) {
      if (head.length > HEAD_LIMIT) return { text: prepend(head, reader) };
      const { done, value } = await reader.read();
      if (done) return { text: prepend(head, reader) };
      head += value;
      continue;
    }
    const line = head.slice(scanned, newline).replace(/[ \t\r]+$/, '');
    scanned = newline + 1;
    if (!begun) {
      if (!ARMOR_LINE.test(line)) continue; // text before the armor, as OpenPGP.js skips it
      if (line !== MESSAGE_BEGIN) return { text: prepend(head, reader) };
      begun = true;
    } else if (BLANK.test(line)) {
      bodyStart = scanned;
    } else if (!ARMOR_HEADER.test(line)) {
      return { text: prepend(head, reader) };
    }
  }

  let pending = head.slice(bodyStart); // undecoded text, starting at a line start
  let quartetRest = ''; // base64 characters short of a whole quartet
  let ended = false; // the tail line was seen
  const decode = (body: string, final: boolean): Uint8Array => {
    const characters = quartetRest + body.replace(WHITESPACE, '');
    const whole = final ? characters.length : characters.length - (characters.length % 4);
    quartetRest = characters.slice(whole);
    if (whole === 0) return new Uint8Array(0);
    try {
      return fromBase64(characters.slice(0, whole));
    } catch (error) {
      throw new SigillError('MALFORMED_ARMOR', { detail: 'invalid base64 in the armor data', cause: error });
    }
  };
  /** Decodes the complete lines in `pending` (all of it when `final`), up to the tail line. */
  const take = (final: boolean): Uint8Array => {
    const complete = final ? pending.length : pending.lastIndexOf('\n') + 1;
    const lines = pending.slice(0, complete);
    // The first line that starts with '=' or '-' ends the data: the checksum or the tail line.
    const found = /^[=-]/.test(lines) ? 0 : lines.search(/\n[=-]/) + 1;
    if (found === 0 && !/^[=-]/.test(lines)) {
      if (final) throw malformed('the armor tail line is missing');
      pending = pending.slice(complete);
      return decode(lines, false);
    }
    const data = lines.slice(0, found);
    const trailer = lines.slice(found).split('\n');
    if (!final) trailer.pop(); // what follows the last line break: not a complete line yet
    // Blank lines around the checksum are tolerated, as OpenPGP.js does (an HTML part's text has them).
    const trimmed = trailer.map((line) => line.replace(/[ \t\r]+$/, '')).filter((line) => !BLANK.test(line));
    const tail = trimmed[trimmed[0]?.startsWith('=') ? 1 : 0]; // skip the CRC-24 checksum line (§6.1)
    if (tail === undefined) {
      if (final) throw malformed('the armor tail line is missing');
      pending = pending.slice(found); // wait for the tail line to arrive whole
      return decode(data, false);
    }
    if (!ARMOR_LINE.test(tail)) throw malformed('unexpected text after the armor data');
    ended = true;
    pending = '';
    return decode(data, true);
  };

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
            const { done, value } = await reader.read();
            if (!done) pending += value;
            const bytes = take(done);
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
