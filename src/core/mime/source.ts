/**
 * Random-access bytes for reading large mail without holding it: a raw message (Thunderbird's
 * `messages.getRaw` File) or a decrypted MIME entity (a Blob assembled from plaintext chunks) is read a
 * window at a time. The core never reaches for the platform here: `Blob` is the web platform's own type,
 * present in Thunderbird and Node alike.
 */
import { SigillError } from '../errors.ts';
import { noteStreamedBytes } from '../platform.ts';
import { Base64Pieces, latin1Text, nativeBase64Decoders, TEXT_PIECE, type Base64Decoders } from '../messages/native-armor.ts';

export type { Base64Setter } from '../messages/native-armor.ts';

export interface ByteSource {
  readonly size: number;
  /** The Blob the bytes are read from, when they are (a range of it is then a Blob slice: no copy). */
  readonly blob?: Blob;
  /** The bytes from `offset`, at most `length` of them (fewer only at the end). A new array (or a view of bytes that never change). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * The bytes from `offset`, at most `into.length` of them, put into `into`'s memory where the source can
   * (a scan that reads window after window then makes no new array per window). The answer is a view of
   * that memory (whose ArrayBuffer may be a new object: a byte stream transfers the buffer it fills) or a
   * new array; `into` itself must not be used afterwards, nor the answer once the next readInto began.
   */
  readInto?(offset: number, into: Uint8Array<ArrayBuffer>): Promise<Uint8Array>;
}

/** A range of a source: [start, end). */
export interface SourceRange {
  source: ByteSource;
  start: number;
  end: number;
}

export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: async (offset, length) => bytes.subarray(offset, Math.min(bytes.length, offset + length)),
  };
}

export function blobSource(blob: Blob): ByteSource {
  const read = async (offset: number, length: number): Promise<Uint8Array> => new Uint8Array(await blob.slice(offset, Math.min(blob.size, offset + length)).arrayBuffer());
  return {
    size: blob.size,
    blob,
    read,
    // Blob.stream() is a byte stream (File API): a BYOB reader fills the caller's buffer. Where it is not
    // (an engine without byte streams), a new array as `read` makes.
    async readInto(offset, into) {
      const length = Math.max(0, Math.min(blob.size, offset + into.length) - offset);
      let reader: ReadableStreamBYOBReader;
      try {
        reader = (blob.slice(offset, offset + length).stream() as ReadableStream<Uint8Array<ArrayBuffer>>).getReader({ mode: 'byob' });
      } catch {
        return read(offset, length);
      }
      let buffer = into.buffer;
      let filled = 0;
      try {
        while (filled < length) {
          const { done, value } = await reader.read(new Uint8Array(buffer, into.byteOffset + filled, length - filled));
          if (value !== undefined) buffer = value.buffer;
          if (done || value === undefined) break;
          filled += value.length;
        }
      } finally {
        reader.releaseLock();
      }
      return new Uint8Array(buffer, into.byteOffset, filled);
    },
  };
}

/** A whole range in memory (for ranges known to be small, or where nothing better is possible). */
export async function readRange({ source, start, end }: SourceRange): Promise<Uint8Array> {
  return source.read(start, end - start);
}

/** How much is read at once when a range is streamed. */
export const STREAM_CHUNK = 1 << 20;

/** The range as a stream of chunks of at most `chunkSize` bytes, read as they are pulled. */
export function rangeStream({ source, start, end }: SourceRange, chunkSize = STREAM_CHUNK): ReadableStream<Uint8Array> {
  let offset = start;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (offset >= end) {
        controller.close();
        return;
      }
      const chunk = await source.read(offset, Math.min(chunkSize, end - offset));
      if (chunk.length === 0) {
        // The source is shorter than it said (a File changed underneath): an error, never a silent cut.
        controller.error(new SigillError('MALFORMED_MIME', { detail: 'the message ended early' }));
        return;
      }
      offset += chunk.length;
      noteStreamedBytes(chunk.length);
      controller.enqueue(chunk);
    },
  });
}

const latin1 = new TextDecoder('latin1');

/**
 * Base64 (RFC 2045 §6.8) decoded a chunk at a time; the output equals decoding the whole body at once.
 * Where the engine has `setFromBase64` (Thunderbird 140+), a chunk is read as one-byte text 16 KiB at a
 * time (latin1Text) and decoded straight into one fresh array (Base64Pieces: the decoder skips line breaks
 * itself, a group split between pieces is completed on its own), so no joined or cleaned copy is made.
 * Otherwise, and from a chunk that decoder refuses (characters outside the alphabet, data after the
 * padding) on, the chunk's alphabet characters are cut at a 4-character boundary and decoded with
 * `Uint8Array.fromBase64` or `atob`. Characters outside the alphabet are ignored as §6.8 says; data
 * after the padding ends the body. Every output array is new: a consumer may keep it.
 */
export function base64DecodeStream(decoders: Base64Decoders = nativeBase64Decoders()): TransformStream<Uint8Array, Uint8Array> {
  const { fromBase64, setFromBase64 } = decoders;
  let pieces = setFromBase64 !== undefined ? new Base64Pieces(setFromBase64) : undefined;
  let carry = '';
  let ended = false;
  const decode = (clean: string): Uint8Array => {
    if (fromBase64 !== undefined) return fromBase64(clean);
    const binary = atob(clean);
    const out = new Uint8Array(binary.length);
    for (let index = 0; index < binary.length; index++) out[index] = binary.charCodeAt(index);
    return out;
  };
  const lenient = (text: string, final: boolean, controller: TransformStreamDefaultController<Uint8Array>): void => {
    let clean = (carry + text).replace(/[^A-Za-z0-9+/=]+/g, '');
    const pad = clean.indexOf('=');
    if (pad >= 0) {
      // Padding ends the data (RFC 2045 §6.8: "=" only at the end); anything after it is ignored.
      clean = clean.slice(0, pad);
      ended = true;
      final = true;
    }
    const whole = final ? clean.length : clean.length - (clean.length % 4);
    carry = clean.slice(whole);
    let data = clean.slice(0, whole);
    if (final) {
      if (data.length % 4 === 1) throw new SigillError('MALFORMED_MIME', { detail: 'a base64 body ends in the middle of a character group' });
      data += '='.repeat((4 - (data.length % 4)) % 4);
      carry = '';
    }
    if (data.length === 0) return;
    let bytes: Uint8Array;
    try {
      bytes = decode(data);
    } catch (error) {
      throw new SigillError('MALFORMED_MIME', { cause: error, detail: 'a base64 body that cannot be decoded' });
    }
    if (bytes.length > 0) controller.enqueue(bytes);
  };
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      if (ended) return;
      let at = 0;
      if (pieces !== undefined) {
        const out = new Uint8Array(pieces.room(chunk.length));
        let written = 0;
        try {
          // A piece at a time as one-byte text (latin1Text), decoded into one array for the chunk.
          for (; at < chunk.length && !pieces.padded; at += TEXT_PIECE) written += pieces.decodeInto(out, written, latin1Text(chunk.subarray(at, at + TEXT_PIECE)));
        } catch {
          // Not clean base64: the lenient way below, from this piece on, with what is carried.
          carry = pieces.leftover();
          pieces = undefined;
        }
        if (written > 0) controller.enqueue(out.subarray(0, written));
        // Padding read: the data ended (anything after it would have been refused above).
        if (pieces?.padded === true) ended = true;
        if (pieces !== undefined) return;
      }
      lenient(latin1.decode(chunk.subarray(at)), false, controller);
    },
    flush(controller) {
      if (ended) return;
      if (pieces !== undefined) carry = pieces.leftover();
      lenient('', true, controller);
    },
  });
}
