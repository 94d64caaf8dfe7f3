/**
 * Checks, as it streams, that binary data is a sequence of OpenPGP packets (RFC 9580 §4.2): every
 * packet header has the high bit set and a known tag, and the data ends exactly at a packet
 * boundary. Only the framing is read (headers and lengths); bodies are skipped, and every byte
 * passes through unchanged. `sop armor` and `sop dearmor` use it so that input which is not
 * OpenPGP fails with NOT_OPENPGP (the SOP draft's BAD_DATA) instead of being wrapped or echoed.
 *
 * A problem found at the first octet fails before anything is emitted; one found later (random
 * bytes that happen to start like a header usually run out inside a "packet") errors the stream
 * there, after the octets before it went out, as with any streamed output whose exit code says it
 * failed.
 */
import { SigillError } from '../errors.ts';
import { isPacketHeaderOctet } from './streams.ts';

type State =
  | { kind: 'header' }
  /** Collecting a header's length octets (a legacy header's length type is in its tag octet). */
  | { kind: 'length'; legacy: boolean; lengthType: number; octets: number[] }
  /** Skipping `left` body octets; `partial`: a partial body length chunk, more length headers follow. */
  | { kind: 'body'; left: number; partial: boolean }
  /** Legacy indeterminate length (§4.2.2.4): the packet runs to the end of the data; `tag` until its first body octet is checked. */
  | { kind: 'rest'; tag: number | undefined };

function notPackets(detail: string): SigillError {
  return new SigillError('NOT_OPENPGP', { detail });
}

export function checkPacketFraming(stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  let state: State = { kind: 'header' };
  let offset = 0;

  /** Consumes octets of `chunk` from `at`; returns the index after what this step used. */
  const step = (chunk: Uint8Array, at: number): number => {
    switch (state.kind) {
      case 'rest': {
        if (state.tag !== undefined) {
          checkIndeterminateBody(state.tag, chunk[at] as number);
          state.tag = undefined;
        }
        return chunk.length;
      }
      case 'body': {
        const take = Math.min(state.left, chunk.length - at);
        state.left -= take;
        if (state.left === 0) state = state.partial ? { kind: 'length', legacy: false, lengthType: 0, octets: [] } : { kind: 'header' };
        return at + take;
      }
      case 'header': {
        const octet = chunk[at] as number;
        if (!isPacketHeaderOctet(octet)) throw notPackets(`no packet header at octet ${offset + at}`);
        state = octet & 0x40 ? { kind: 'length', legacy: false, lengthType: 0, octets: [] } : { kind: 'length', legacy: true, lengthType: octet & 0x03, octets: [] };
        if (state.legacy && state.lengthType === 3) state = { kind: 'rest', tag: (octet & 0x3c) >> 2 };
        return at + 1;
      }
      case 'length': {
        state.octets.push(chunk[at] as number);
        const length = readLength(state);
        if (length === undefined) return at + 1;
        if (length.partial && state.legacy) throw notPackets('partial length in a legacy header');
        // A partial length is at least 1 (2^0), so only a regular length can be 0.
        state = length.length === 0 ? { kind: 'header' } : { kind: 'body', left: length.length, partial: length.partial };
        return at + 1;
      }
    }
  };

  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        let at = 0;
        while (at < chunk.length) at = step(chunk, at);
        offset += chunk.length;
        controller.enqueue(chunk);
      },
      flush() {
        if (state.kind === 'rest' || (state.kind === 'header' && offset > 0)) return;
        throw notPackets(offset === 0 ? 'empty input' : 'the data ends inside a packet');
      },
    }),
  );
}

/** Tags GnuPG and PGP 2 write with an indeterminate length: compressed data, SED, literal data. */
const indeterminateTags = new Set([8, 9, 11]);
/** Compression algorithms (RFC 9580 §9.4) and literal data formats (§5.9) a body can start with. */
const compressionAlgorithms = new Set([0, 1, 2, 3]);
const literalFormats = new Set([...'btuml1'].map((c) => c.charCodeAt(0)));

/**
 * An indeterminate length runs to the end, so no later framing can catch random bytes; at least the
 * tag and the first body octet must make sense.
 */
function checkIndeterminateBody(tag: number, first: number): void {
  if (!indeterminateTags.has(tag)) throw notPackets(`indeterminate length on packet tag ${tag}`);
  if (tag === 8 && !compressionAlgorithms.has(first)) throw notPackets(`unknown compression algorithm ${first}`);
  if (tag === 11 && !literalFormats.has(first)) throw notPackets(`unknown literal data format ${first}`);
}

/** The length once its octets are complete (RFC 9580 §4.2.1 new format, §4.2.2 legacy), else undefined. */
function readLength(state: { legacy: boolean; lengthType: number; octets: number[] }): { length: number; partial: boolean } | undefined {
  const o = state.octets;
  if (state.legacy) {
    const needed = [1, 2, 4][state.lengthType] as number;
    if (o.length < needed) return undefined;
    return { length: o.reduce((sum, octet) => sum * 256 + octet, 0), partial: false };
  }
  const first = o[0] as number;
  if (first < 192) return { length: first, partial: false };
  if (first < 224) return o.length < 2 ? undefined : { length: ((first - 192) << 8) + (o[1] as number) + 192, partial: false };
  if (first < 255) return { length: 2 ** (first & 0x1f), partial: true };
  if (o.length < 5) return undefined;
  return { length: (o[1] as number) * 2 ** 24 + (((o[2] as number) << 16) | ((o[3] as number) << 8) | (o[4] as number)), partial: false };
}
