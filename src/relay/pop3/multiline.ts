/**
 * Turns a stored message into the body of a POP3 multi-line response (RFC 1939 §3): every line ends in
 * CRLF (bare LF becomes CRLF; a bare CR inside a line is kept), a line that starts with "." gets one
 * more "." (byte-stuffing), and the caller ends the response with ".\r\n" after `finish()`.
 *
 * It works on chunks of any size without buffering lines, so a large message streams in bounded memory.
 * With `bodyLines` set it implements TOP (RFC 1939 §7): the headers, the blank line, then that many
 * body lines; `done` turns true when nothing more is wanted.
 */
const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const CRLF = Buffer.from('\r\n');
const DOT_BYTE = Buffer.from('.');
const CR_BYTE = Buffer.from('\r');

export interface MultilineEncoderOptions {
  /** TOP: how many body lines after the header block; undefined sends the whole message (RETR). */
  bodyLines?: number;
}

export class MultilineEncoder {
  private atLineStart = true;
  /** A CR at the end of a chunk: part of CRLF if the next chunk starts with LF, else a bare CR. */
  private pendingCR = false;
  /** Content octets of the current line written so far. */
  private lineLength = 0;
  private inHeaders = true;
  private bodyLinesSent = 0;
  private finished = false;
  done = false;

  constructor(private readonly options: MultilineEncoderOptions = {}) {}

  /** Encodes one chunk; returns what to send (possibly empty). */
  push(chunk: Uint8Array): Buffer {
    const input = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: Buffer[] = [];
    let position = 0;
    while (position < input.length && !this.done) {
      if (this.atLineStart) {
        this.atLineStart = false;
        if (!this.pendingCR && this.lineLength === 0 && input[position] === DOT) out.push(DOT_BYTE);
      }
      const newline = input.indexOf(LF, position);
      const end = newline === -1 ? input.length : newline;
      let segment = input.subarray(position, end);
      if (this.pendingCR) {
        this.pendingCR = false;
        if (segment.length > 0 || newline === -1) {
          out.push(CR_BYTE); // a bare CR in the middle of a line
          this.lineLength += 1;
        }
      }
      if (segment.length > 0 && segment[segment.length - 1] === CR) {
        segment = segment.subarray(0, segment.length - 1);
        if (newline === -1) this.pendingCR = true;
      }
      if (segment.length > 0) out.push(segment);
      this.lineLength += segment.length;
      if (newline === -1) {
        position = input.length;
      } else {
        out.push(CRLF);
        this.endLine();
        position = newline + 1;
      }
    }
    return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out);
  }

  private endLine(): void {
    const empty = this.lineLength === 0;
    this.lineLength = 0;
    this.atLineStart = true;
    const wanted = this.options.bodyLines;
    if (this.inHeaders) {
      if (empty) {
        this.inHeaders = false;
        if (wanted === 0) this.done = true;
      }
      return;
    }
    this.bodyLinesSent += 1;
    if (wanted !== undefined && this.bodyLinesSent >= wanted) this.done = true;
  }

  /** Ends the last line (if the message did not end in a newline) and adds the terminating ".". */
  finish(): Buffer {
    if (this.finished) return Buffer.alloc(0);
    this.finished = true;
    const out: Buffer[] = [];
    if (!this.done) {
      if (this.pendingCR) {
        out.push(CR_BYTE);
        this.lineLength += 1;
      }
      if (this.lineLength > 0) out.push(CRLF);
    }
    out.push(Buffer.from('.\r\n'));
    return Buffer.concat(out);
  }
}

/** The whole encoding of a message in one call (for small messages and tests). */
export function encodeMultiline(message: Uint8Array, options: MultilineEncoderOptions = {}): Buffer {
  const encoder = new MultilineEncoder(options);
  return Buffer.concat([encoder.push(message), encoder.finish()]);
}
