/**
 * The MIME tree of a mail too large to hold (RFC 2045, RFC 2046 §5.1), read from a ByteSource a window
 * at a time: header blocks and boundary lines are scanned in windows, and an entity small enough is read
 * whole and parsed by entity.ts exactly as an in-memory mail is. A large leaf (the encrypted payload of a
 * PGP/MIME mail, a large attachment) stays in its source (`stored`): its body is decoded or decrypted as a
 * stream later (decode.ts), never copied whole. Same tree, same limits, same lenient reading as parseMime.
 */
import { SigillError } from '../errors.ts';
import { STORED_PEEK, describeEntity, enterEntity, multipartBoundary, parseMime, type MimeEntity, type ParseBudget, parseBudget } from './entity.ts';
import type { ByteSource } from './source.ts';

export interface SourceParseOptions {
  /** An entity of at most this many bytes is read whole and parsed in memory (default 4 MiB). */
  inMemoryBelow?: number;
  /** How much is read at once while scanning for boundaries (default 1 MiB). */
  windowSize?: number;
}

const DEFAULT_IN_MEMORY = 4 << 20;
const DEFAULT_WINDOW = 1 << 20;
const latin1 = new TextDecoder('latin1');

/** Parses the mail (or decrypted entity) in `source`; throws like parseMime (TOO_LARGE, MALFORMED_MIME). */
export async function parseMimeSource(source: ByteSource, budget: ParseBudget = parseBudget(), depth = 0, options: SourceParseOptions = {}): Promise<MimeEntity> {
  if (source.size > budget.limits.maxMessageBytes) {
    throw new SigillError('TOO_LARGE', { detail: `the mail has ${source.size} bytes, more than ${budget.limits.maxMessageBytes}` });
  }
  const settings = { inMemoryBelow: options.inMemoryBelow ?? DEFAULT_IN_MEMORY, windowSize: Math.max(options.windowSize ?? DEFAULT_WINDOW, 16) };
  return parseRange(source, 0, source.size, budget, depth, settings);
}

async function parseRange(source: ByteSource, start: number, end: number, budget: ParseBudget, depth: number, settings: Required<SourceParseOptions>): Promise<MimeEntity> {
  if (end - start <= settings.inMemoryBelow) {
    // Small enough: the in-memory parser, with the same budget (its size check cannot fire here).
    return parseMime(await source.read(start, end - start), budget, depth);
  }
  const { limits } = budget;
  const head = latin1.decode(await source.read(start, Math.min(end - start, limits.maxHeaderBytes + 4)));
  const { headerEnd, bodyStart } = enterEntity(head, budget, depth);
  const entity: MimeEntity = {
    raw: new Uint8Array(0),
    ...describeEntity(head.slice(0, headerEnd)),
    body: await source.read(start + bodyStart, Math.min(STORED_PEEK, end - start - bodyStart)),
    children: [],
    depth,
    stored: { source, start, end, bodyStart: start + bodyStart },
  };
  const boundary = multipartBoundary(entity);
  if (boundary !== undefined) {
    const remaining = limits.maxParts - budget.parts;
    const text = new WindowedText(source, start, end, settings.windowSize);
    for (const [partStart, partEnd] of await splitMultipartWindowed(text, bodyStart, boundary, remaining + 1)) {
      entity.children.push(await parseRange(source, start + partStart, start + partEnd, budget, depth + 1, settings));
    }
  }
  return entity;
}

/**
 * A latin1 view (one character per byte) of a range of a source, one window in memory at a time.
 * Positions are relative to the range's start. The window stays bytes: searching it with the engine's
 * native `indexOf` makes no string, where a latin1-decoded window doubled (UTF-16 in Gecko) every
 * window of a large mail in short-lived strings (the whole decrypted MIME of a 50 MiB attachment is
 * scanned so).
 */
export class WindowedText {
  readonly length: number;
  private windowStart = 0;
  private window: Uint8Array = new Uint8Array(0);
  /** The memory the windows are read into, again and again (ByteSource.readInto). */
  private scratch: ArrayBuffer | undefined;

  constructor(
    private readonly source: ByteSource,
    private readonly start: number,
    end: number,
    private readonly windowSize: number,
  ) {
    this.length = end - start;
  }

  private async load(position: number, atLeast: number): Promise<void> {
    const size = Math.min(this.length - position, Math.max(this.windowSize, atLeast));
    this.window = new Uint8Array(0);
    if (this.source.readInto === undefined) {
      this.window = await this.source.read(this.start + position, size);
    } else {
      // A window is only searched, never handed on: one buffer serves every window of the scan.
      if (this.scratch === undefined || this.scratch.byteLength < size) this.scratch = new ArrayBuffer(Math.max(size, this.windowSize));
      const scratch = this.scratch;
      this.scratch = undefined; // in use until the read answers (a byte stream detaches it meanwhile)
      const window = await this.source.readInto(this.start + position, new Uint8Array(scratch, 0, size));
      this.window = window;
      if (window.buffer instanceof ArrayBuffer && window.byteOffset === 0 && window.buffer.byteLength >= size) this.scratch = window.buffer;
    }
    this.windowStart = position;
  }

  private holds(position: number, count: number): boolean {
    return position >= this.windowStart && position + count <= this.windowStart + this.window.length;
  }

  /** Like String.prototype.indexOf (`needle` is latin1); windows overlap by the needle's length, so nothing is missed at their edges. */
  async indexOf(needle: string, from: number): Promise<number> {
    const bytes = latin1Bytes(needle);
    let position = from;
    for (;;) {
      if (position + bytes.length > this.length) return -1;
      if (!this.holds(position, bytes.length)) await this.load(position, bytes.length);
      const found = indexOfBytes(this.window, bytes, position - this.windowStart);
      if (found >= 0) return this.windowStart + found;
      const windowEnd = this.windowStart + this.window.length;
      if (windowEnd >= this.length) return -1;
      position = windowEnd - bytes.length + 1;
      await this.load(position, bytes.length);
    }
  }

  /** The character at `position` ('' past the end). Reading backwards costs one small read; forwards moves the window. */
  async charAt(position: number): Promise<string> {
    if (position < 0 || position >= this.length) return '';
    if (this.holds(position, 1)) return String.fromCharCode(this.window[position - this.windowStart] as number);
    if (position < this.windowStart) return String.fromCharCode((await this.source.read(this.start + position, 1))[0] as number);
    await this.load(position, 1);
    return String.fromCharCode(this.window[0] as number);
  }

  async startsWith(text: string, position: number): Promise<boolean> {
    for (let index = 0; index < text.length; index++) if ((await this.charAt(position + index)) !== text[index]) return false;
    return true;
  }
}

/** Each character of the `latin1` decoder's output (WHATWG: windows-1252) back to its byte. */
let latin1Table: Map<string, number> | undefined;

/** A string decoded with `latin1` back to its bytes (a boundary taken from a header decoded so). */
function latin1Bytes(text: string): number[] {
  if (latin1Table === undefined) {
    const all = Uint8Array.from({ length: 256 }, (_, byte) => byte);
    latin1Table = new Map([...latin1.decode(all)].map((char, byte) => [char, byte]));
  }
  const table = latin1Table;
  // A character no byte decodes to cannot be in the window: no byte will match it (0x100 is none).
  return Array.from(text, (char) => table.get(char) ?? 0x100);
}

/** The first index of `needle` in `haystack` from `from`, or -1: the engine's native search for its first byte, then a compare. */
function indexOfBytes(haystack: Uint8Array, needle: readonly number[], from: number): number {
  if (needle.length === 0) return Math.min(Math.max(from, 0), haystack.length);
  const first = needle[0] as number;
  const last = haystack.length - needle.length;
  for (let at = haystack.indexOf(first, from); at >= 0 && at <= last; at = haystack.indexOf(first, at + 1)) {
    let index = 1;
    while (index < needle.length && haystack[at + index] === needle[index]) index++;
    if (index === needle.length) return at;
  }
  return -1;
}

/**
 * splitMultipart (entity.ts) over a WindowedText: the same delimiter rules of RFC 2046 §5.1.1 (a line
 * starting with "--" + boundary, an optional "--", transport padding, the line break before a delimiter
 * belonging to it), the same ranges, relative to the entity's start.
 */
export async function splitMultipartWindowed(text: WindowedText, bodyStart: number, boundary: string, maxParts = Infinity): Promise<Array<[number, number]>> {
  const marker = `--${boundary}`;
  const ranges: Array<[number, number]> = [];
  let partStart: number | undefined;
  let search = bodyStart;
  for (;;) {
    const found = await text.indexOf(marker, search);
    if (found < 0) break;
    search = found + marker.length;
    const atLineStart = found === bodyStart || (await text.charAt(found - 1)) === '\n';
    if (!atLineStart) continue;
    let after = found + marker.length;
    const closing = await text.startsWith('--', after);
    if (closing) after += 2;
    for (let char = await text.charAt(after); char === ' ' || char === '\t'; char = await text.charAt(after)) after++;
    let lineEnd: number;
    if (after >= text.length) lineEnd = text.length;
    else if (await text.startsWith('\r\n', after)) lineEnd = after + 2;
    else if ((await text.charAt(after)) === '\n') lineEnd = after + 1;
    else continue; // "--boundary-more": a longer boundary, not this one
    if (partStart !== undefined) {
      let partEnd = found;
      if (partEnd > partStart && (await text.charAt(partEnd - 1)) === '\n') partEnd--;
      if (partEnd > partStart && (await text.charAt(partEnd - 1)) === '\r') partEnd--;
      ranges.push([partStart, Math.max(partStart, partEnd)]);
      if (ranges.length >= maxParts) return ranges;
    }
    if (closing) return ranges;
    partStart = lineEnd;
    search = lineEnd;
  }
  if (partStart !== undefined && partStart < text.length) ranges.push([partStart, text.length]);
  return ranges;
}
