/**
 * Small web-stream helpers shared by the message operations. Everything here is platform-neutral
 * (WHATWG streams exist in Thunderbird and in Node >= 18).
 */
import { SigillError } from '../errors.ts';
import { pulseActivity } from '../platform.ts';
import type { DataInput, PlaintextSink } from './types.ts';

const encoder = new TextEncoder();

/** Any input as a byte stream; strings are encoded as UTF-8. */
export function toStream(input: DataInput): ReadableStream<Uint8Array> {
  if (typeof input === 'string') return bytesStream(encoder.encode(input));
  if (input instanceof Uint8Array) return bytesStream(input);
  if (input instanceof ReadableStream) return input;
  throw new SigillError('BAD_INPUT', { detail: 'expected bytes, text or a ReadableStream of bytes' });
}

/** A stream of one chunk, or a few chunks for large arrays so consumers never see one huge chunk. */
export function bytesStream(bytes: Uint8Array, chunkSize = 1 << 16): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) {
        controller.close();
        return;
      }
      const end = Math.min(bytes.length, offset + chunkSize);
      controller.enqueue(bytes.subarray(offset, end));
      offset = end;
    },
  });
}

/** Reads a whole input into memory (only for small things: signatures, keys, test data); TOO_LARGE past `limit`. */
export async function readAll(input: DataInput | ReadableStream<string>, limit = Infinity): Promise<Uint8Array> {
  const tooLarge = (): SigillError => new SigillError('TOO_LARGE', { detail: `more than ${limit} bytes to hold in memory` });
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const bytes = typeof input === 'string' ? encoder.encode(input) : input;
    if (bytes.length > limit) throw tooLarge();
    return bytes;
  }
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = (input as ReadableStream<Uint8Array | string>).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const bytes = typeof value === 'string' ? encoder.encode(value) : value;
    length += bytes.length;
    if (length > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(bytes);
  }
  return concatBytes(chunks, length);
}

export function concatBytes(chunks: Uint8Array[], length = chunks.reduce((n, c) => n + c.length, 0)): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/**
 * A byte stream pulled from an async iterator, one chunk per pull (no read-ahead, so memory stays
 * bounded); iterator errors become stream errors, and cancelling cancels the source.
 */
export function iteratorStream(chunks: AsyncIterator<Uint8Array>, cancelSource: (reason: unknown) => Promise<void>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await chunks.next();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        } catch (error) {
          controller.error(error);
        }
      },
      async cancel(reason) {
        await cancelSource(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * Reads chunks until `enough(head)` holds or the stream ends, without losing them: returns what was
 * read and a stream that still yields every byte (errors of the source pass through).
 */
export async function peek(stream: ReadableStream<Uint8Array>, enough: (head: Uint8Array) => boolean): Promise<{ head: Uint8Array; stream: ReadableStream<Uint8Array> }> {
  const reader = stream.getReader();
  const seen: Uint8Array[] = [];
  let head: Uint8Array = new Uint8Array(0);
  let done = false;
  while (!enough(head)) {
    const next = await reader.read();
    if (next.done) {
      done = true;
      break;
    }
    seen.push(next.value);
    head = concatBytes([head, next.value]);
  }
  async function* rest(): AsyncGenerator<Uint8Array> {
    yield* seen;
    if (done) return;
    for (let next = await reader.read(); !next.done; next = await reader.read()) yield next.value;
  }
  const replay = iteratorStream(rest(), (reason) => reader.cancel(reason));
  return { head, stream: replay };
}

/** The first byte that is not ASCII whitespace, if any. */
function firstNonBlank(bytes: Uint8Array): number | undefined {
  return bytes.find((byte) => byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d);
}

/** Every armor header line starts so (RFC 9580 §6.2), including the cleartext framework's (§7). */
const ARMOR_BEGIN = encoder.encode('-----BEGIN PGP ');
/**
 * How far to look for an armor header line. GnuPG, Sequoia and OpenPGP.js skip text before it (a
 * mail body around the armor), so ASCII input counts as armor if the line comes within this much.
 */
const ARMOR_SEARCH_LIMIT = 64 * 1024;

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  const first = needle[0];
  for (let at = haystack.indexOf(first as number); at >= 0 && at + needle.length <= haystack.length; at = haystack.indexOf(first as number, at + 1)) {
    let i = 1;
    while (i < needle.length && haystack[at + i] === needle[i]) i++;
    if (i === needle.length) return at;
  }
  return -1;
}

/**
 * Packet tags (RFC 9580 §5, table 3) that can start OpenPGP data: the assigned ones (1-14, 17-21)
 * and the private or experimental ones (60-63). 0 is reserved and must not be used; 15, 16 and
 * 22-59 are unassigned.
 */
function isKnownTag(tag: number): boolean {
  return (tag >= 1 && tag <= 14) || (tag >= 17 && tag <= 21) || tag >= 60;
}

/** True if `octet` can be the first octet of an OpenPGP packet header (RFC 9580 §4.2). */
export function isPacketHeaderOctet(octet: number): boolean {
  if ((octet & 0x80) === 0) return false;
  // New format (§4.2.1): tag in the low 6 bits; legacy format (§4.2.2): tag in bits 5-2.
  return isKnownTag(octet & 0x40 ? octet & 0x3f : (octet & 0x3c) >> 2);
}

/**
 * Looks at the start of the input without consuming it: OpenPGP binary data starts with a packet
 * header (high bit set, a known tag: RFC 9580 §4.2), ASCII armor with a "-----BEGIN PGP " line
 * (§6.2), possibly after some text. `armored`: the armor line was found; `openpgp`: it is either;
 * neither is NOT_OPENPGP for the callers. Returns a stream that still yields every byte.
 */
export async function sniffArmor(
  stream: ReadableStream<Uint8Array>,
  headLength = 64,
): Promise<{ armored: boolean; openpgp: boolean; empty: boolean; stream: ReadableStream<Uint8Array>; head: Uint8Array; first: number | undefined }> {
  const peeked = await peek(stream, (head) => {
    if (head.length >= ARMOR_SEARCH_LIMIT) return true;
    const first = firstNonBlank(head);
    if (first === undefined || head.length < headLength) return false;
    return (first & 0x80) !== 0 || indexOfBytes(head, ARMOR_BEGIN) >= 0;
  });
  const first = firstNonBlank(peeked.head);
  const armored = first !== undefined && (first & 0x80) === 0 && indexOfBytes(peeked.head, ARMOR_BEGIN) >= 0;
  const openpgp = armored || (first !== undefined && isPacketHeaderOctet(first));
  return { armored, openpgp, empty: first === undefined, stream: peeked.stream, head: peeked.head, first };
}

/** The error for input that is neither ASCII armor nor OpenPGP packets. */
export function notOpenpgp(): SigillError {
  return new SigillError('NOT_OPENPGP');
}

/** Writes a stream into a sink (without committing it); returns the number of bytes written. */
export async function pumpToSink(stream: ReadableStream<Uint8Array | string>, sink: PlaintextSink): Promise<number> {
  const reader = stream.getReader();
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return total;
      const bytes = typeof value === 'string' ? encoder.encode(value) : value;
      total += bytes.length;
      pulseActivity();
      if (bytes.length > 0) await sink.write(bytes);
    }
  } catch (error) {
    await reader.cancel(error).catch(() => undefined);
    throw error;
  }
}

/**
 * Passes bytes through unchanged while checking, chunk by chunk, that they are valid UTF-8: text
 * mode (RFC 9580 §5.9 format 'u', §5.2.1 signature type 0x01) is defined for UTF-8 text only, and
 * the SOP draft's `--as=text` fails with EXPECTED_TEXT otherwise. Nothing is decoded or re-encoded,
 * so line endings and every other byte stay as given.
 */
export function requireUtf8(stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const check = (decode: () => void): void => {
    try {
      decode();
    } catch (error) {
      throw new SigillError('EXPECTED_TEXT', { cause: error });
    }
  };
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        check(() => decoder.decode(chunk, { stream: true }));
        controller.enqueue(chunk);
      },
      flush() {
        check(() => decoder.decode());
      },
    }),
  );
}

/** A UTF-8 decoding transform (typed for Uint8Array input: the DOM lib types it for BufferSource). */
export function utf8Decoder(fatal = false): TransformStream<Uint8Array, string> {
  return new TextDecoderStream('utf-8', { fatal }) as unknown as TransformStream<Uint8Array, string>;
}

/** Normalises OpenPGP.js output (string or bytes, stream or not) to a byte stream. */
export function asByteStream(data: unknown): ReadableStream<Uint8Array> {
  if (typeof data === 'string') return toStream(data);
  if (data instanceof Uint8Array) return bytesStream(data);
  const stream = data as ReadableStream<Uint8Array | string>;
  return stream.pipeThrough(
    new TransformStream<Uint8Array | string, Uint8Array>({
      transform(chunk, controller) {
        controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
      },
    }),
  );
}
