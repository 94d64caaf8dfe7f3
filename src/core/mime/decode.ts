/**
 * Decoding one leaf entity: Content-Transfer-Encoding (RFC 2045 §6) by postal-mime, then the charset
 * (RFC 2046 §4.1.2) and the file name (RFC 2183 / RFC 2231, and the RFC 2047 encoded words many
 * mailers put there). The tree itself is ours (entity.ts); each leaf's body is handed to postal-mime
 * alone, so nothing of another part can be joined to it.
 */
import PostalMime from 'postal-mime';
import { SigillError } from '../errors.ts';
import { decodeHeaderText, headerValue } from './headers.ts';
import type { MimeEntity } from './entity.ts';
import { nativeBase64Decoder, type Base64Decoder } from '../messages/native-armor.ts';
import { base64DecodeStream, rangeStream, readRange } from './source.ts';

export interface DecodedLeaf {
  /** The body's bytes after transfer decoding. */
  bytes: Uint8Array;
  /** For text/plain and text/html: the body as text (charset applied). */
  text: string | undefined;
}

const utf8 = new TextDecoder('utf-8');
const encoder = new TextEncoder();

export async function decodeLeaf(entity: MimeEntity): Promise<DecodedLeaf> {
  const bytes = await decodeBody(entity);
  const type = entity.contentType.value;
  const text = type === 'text/plain' || type === 'text/html' ? decodeCharset(bytes, entity.contentType.params.charset) : undefined;
  return { bytes, text };
}

/**
 * The body after transfer decoding. postal-mime decodes it from a synthetic attachment entity that
 * carries only the transfer encoding, so it hands back bytes and never treats them as message text.
 */
export async function decodeBody(entity: MimeEntity): Promise<Uint8Array> {
  const body = await wholeBody(entity);
  const encoding = transferEncoding(entity);
  if (encoding === 'identity') return body;
  if (encoding === 'base64') {
    const fast = decodeBase64Native(body);
    if (fast) return fast;
  }
  const head = encoder.encode(`Content-Type: application/octet-stream\r\nContent-Disposition: attachment\r\nContent-Transfer-Encoding: ${encoding}\r\n\r\n`);
  const synthetic = new Uint8Array(head.length + body.length);
  synthetic.set(head);
  synthetic.set(body, head.length);
  try {
    const email = await PostalMime.parse(synthetic, { attachmentEncoding: 'arraybuffer', maxNestingDepth: 1, maxRfc822NestingDepth: 0 });
    const content = email.attachments[0]?.content;
    if (content instanceof ArrayBuffer) return new Uint8Array(content);
    if (content instanceof Uint8Array) return content;
    return new Uint8Array(0);
  } catch (error) {
    throw new SigillError('MALFORMED_MIME', { cause: error, detail: error instanceof Error ? error.message : undefined });
  }
}

/** The Content-Transfer-Encoding (RFC 2045 §6): 'identity' for 7bit, 8bit, binary and anything unreadable. */
export function transferEncoding(entity: MimeEntity): string {
  const encoding = (headerValue(entity.headers, 'content-transfer-encoding') ?? '7bit').trim().toLowerCase();
  return encoding === '7bit' || encoding === '8bit' || encoding === 'binary' || !/^[a-z0-9-]+$/.test(encoding) ? 'identity' : encoding;
}

/** The body's raw bytes, read whole from the source for a stored entity (entity.ts). */
async function wholeBody(entity: MimeEntity): Promise<Uint8Array> {
  return entity.stored ? readRange({ source: entity.stored.source, start: entity.stored.bodyStart, end: entity.stored.end }) : entity.body;
}

/** The entity's raw bytes, headers and body (read whole from the source for a stored entity). */
export async function entityBytes(entity: MimeEntity): Promise<Uint8Array> {
  return entity.stored ? readRange(entity.stored) : entity.raw;
}

/** The size of the body as it is in the mail (still transfer-encoded). */
export function bodySize(entity: MimeEntity): number {
  return entity.stored ? entity.stored.end - entity.stored.bodyStart : entity.body.length;
}

/**
 * The body after transfer decoding as a stream: a stored entity's identity or base64 body is read and
 * decoded a chunk at a time (never whole); quoted-printable and the rare others are decoded whole.
 */
export function decodedBodyStream(entity: MimeEntity): ReadableStream<Uint8Array> {
  const encoding = transferEncoding(entity);
  if (entity.stored && (encoding === 'identity' || encoding === 'base64')) {
    const raw = rangeStream({ source: entity.stored.source, start: entity.stored.bodyStart, end: entity.stored.end });
    return encoding === 'base64' ? raw.pipeThrough(base64DecodeStream()) : raw;
  }
  let done = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (done) return controller.close();
      done = true;
      controller.enqueue(await decodeBody(entity));
    },
  });
}

/** The first decoded bytes of the body (at least a few KiB unless the body is shorter), to tell what it is. */
export async function decodedBodyPrefix(entity: MimeEntity): Promise<Uint8Array> {
  if (!entity.stored) return decodeBody(entity);
  const encoding = transferEncoding(entity);
  if (encoding === 'identity') return entity.body;
  if (encoding === 'base64') return decodeBase64Native(entity.body, { prefix: true }) ?? new Uint8Array(0);
  return decodeBody(entity);
}

/**
 * Base64 through the platform's native `atob` (browsers and Node alike): postal-mime's decoder is pure
 * JavaScript and takes about a third of a second for a 10 MB attachment, longer than decrypting it.
 * RFC 2045 §6.8: characters outside the alphabet are ignored. Returns undefined when the data is not
 * clean base64 after that (postal-mime's lenient decoder then takes over). With `prefix`, `body` is
 * the start of a longer body and a trailing partial group is left out.
 */
export function decodeBase64Native(body: Uint8Array, options: { prefix?: boolean; fromBase64?: Base64Decoder | undefined } = {}): Uint8Array | undefined {
  // The engine's own decoder where it has one (Thunderbird 140+): it skips the line breaks itself, so no
  // cleaned copy of the text and no JavaScript loop over every octet are needed (both slow without a JIT
  // and, for an attachment of tens of megabytes, hundreds of megabytes of garbage). Anything it refuses
  // (characters outside the alphabet, RFC 2045 §6.8 says to ignore them) takes the way below.
  const fromBase64 = 'fromBase64' in options ? options.fromBase64 : nativeBase64Decoder();
  if (fromBase64 !== undefined && !options.prefix) {
    try {
      return fromBase64(latin1.decode(body));
    } catch {
      /* not clean base64: the lenient way below */
    }
  }
  let clean = latin1.decode(body).replace(/[^A-Za-z0-9+/=]+/g, '');
  // A prefix of a longer body (to look into it): only whole 4-character groups.
  if (options.prefix) clean = clean.slice(0, clean.length - (clean.length % 4));
  const end = clean.indexOf('=');
  const data = end < 0 ? clean : clean.slice(0, end);
  if (data.length % 4 === 1 || /=/.test(clean.slice(end < 0 ? clean.length : end).replace(/^=+$/, ''))) return undefined;
  let binary: string;
  try {
    binary = atob(data + '='.repeat((4 - (data.length % 4)) % 4));
  } catch {
    return undefined;
  }
  const out = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) out[index] = binary.charCodeAt(index);
  return out;
}

const latin1 = new TextDecoder('latin1');

/** Text in the part's charset; an unknown charset falls back to UTF-8 (never fails). */
export function decodeCharset(bytes: Uint8Array, charset: string | undefined): string {
  const label = (charset ?? 'utf-8').trim().toLowerCase();
  if (label === 'us-ascii' || label === 'ascii' || label === 'utf-8' || label === 'utf8' || label === '') return utf8.decode(bytes);
  try {
    return new TextDecoder(label).decode(bytes);
  } catch {
    return utf8.decode(bytes);
  }
}

/** The file name a part gives itself (Content-Disposition filename, else Content-Type name), decoded, NOT sanitized. */
export function partFilename(entity: MimeEntity): string | undefined {
  const raw = entity.disposition?.params.filename ?? entity.contentType.params.name;
  return raw === undefined ? undefined : decodeHeaderText(raw);
}
