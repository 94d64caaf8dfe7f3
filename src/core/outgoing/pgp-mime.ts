/**
 * PGP/MIME on send (RFC 3156): wraps the MIME entity a mail client produced (its body with every
 * alternative and attachment, real names and types) into what follows the message's other header fields.
 *
 * - encrypt: `multipart/encrypted; protocol="application/pgp-encrypted"` (§4) with the `Version: 1`
 *   part and the armored `encrypted.asc`. Inside, the entity with protected headers: Subject, From, To,
 *   Cc, Date, Message-ID, References and In-Reply-To copied in and `protected-headers="v1"` on its
 *   Content-Type (the convention Thunderbird, Enigmail and K-9 read); signed inside the encryption
 *   (§6.2, combined); the outer Subject becomes a placeholder ("..." by default).
 * - sign only: `multipart/signed; micalg=pgp-<hash>; protocol="application/pgp-signature"` (§5) with a
 *   detached signature over the canonical CRLF bytes of the entity, which must be 7-bit (§5: the mail
 *   client encodes 8-bit content as quoted-printable or base64 first).
 *
 * Memory stays bounded: the entity is streamed (read once to encrypt; twice to sign only, first for the
 * signature, which `micalg` in the header has to name, then for the content). Nothing here decides
 * policy: an unready plan is refused, as by `transformOutgoing`.
 */
import * as openpgp from 'openpgp';
import { SigillError, isSigillError } from '../errors.ts';
import { encrypt } from '../messages/encrypt.ts';
import { sign } from '../messages/sign.ts';
import { iteratorStream, peek, readAll, toStream } from '../messages/streams.ts';
import { armorEncryptedForMime, type Base64Encoder } from './mime-armor.ts';
import type { DataInput } from '../messages/types.ts';
import { parseParameterized } from '../mime/headers.ts';
import { assertPlanReady, type OutgoingPlan } from './plan.ts';

export interface PgpMimeRequest {
  plan: OutgoingPlan;
  /**
   * The MIME entity to protect, as the mail client produced it: its header fields (Content-Type,
   * Content-Transfer-Encoding, ...), an empty line and its body. Called once to encrypt, twice to sign
   * only; both calls must give the same bytes.
   */
  entity: () => DataInput | Promise<DataInput>;
  /**
   * The message's top-level header fields as they go out (raw, folded, encoded words kept): the ones
   * listed in `PROTECTED_HEADER_NAMES` are copied inside when encrypting.
   */
  headers: string;
  /** The real subject (decoded text), when `headers` already carries the placeholder. */
  subject?: string;
  /** The Subject on the outside of an encrypted message; default "...". */
  outerSubject?: string;
  date?: Date;
  /** The outer boundary (tests); default random. Must not occur in the content (checked). */
  boundary?: string;
  /** Base64 for the armor (tests); default the engine's native encoder, else `btoa`. */
  base64Encoder?: Base64Encoder;
}

export interface PgpMimeResult {
  /** The outer Content-Type field value (multipart/encrypted or multipart/signed). */
  contentType: string;
  /** Encrypting: the Subject to put on the outside in place of the real one. Undefined: leave it. */
  outerSubject?: string;
  /** `pgp-sha256` etc. for sign only (RFC 3156 §5 micalg). */
  micalg?: string;
  /**
   * What follows the message's other header fields: the Content-Type field, an empty line and the
   * multipart body, CRLF throughout. Errors (a boundary found in the content, 8-bit data to sign) make
   * the stream fail: the caller must then not send (fail closed).
   */
  content: ReadableStream<Uint8Array>;
}

/** Header fields copied into the encrypted entity (protected headers, as Thunderbird and K-9 do). */
export const PROTECTED_HEADER_NAMES = ['subject', 'from', 'to', 'cc', 'reply-to', 'date', 'message-id', 'references', 'in-reply-to'] as const;

const CRLF = '\r\n';
const encoder = new TextEncoder();
const latin1 = new TextDecoder('latin1');
/** The entity's own header block is read whole; Thunderbird's is a few hundred bytes. */
const MAX_ENTITY_HEADER_BYTES = 256 * 1024;
const MAX_HEADERS_BYTES = 1024 * 1024;
const MAX_SIGNATURE_BYTES = 64 * 1024;
/** The armor lines that can start with '-' (mime-armor.ts writes them). */
const ARMOR_LINES = ['-----BEGIN PGP MESSAGE-----', '-----END PGP MESSAGE-----'];

export async function wrapPgpMime(request: PgpMimeRequest): Promise<PgpMimeResult> {
  const { plan } = request;
  assertPlanReady(plan);
  if (request.headers.length > MAX_HEADERS_BYTES) throw new SigillError('TOO_LARGE', { detail: 'the header fields are larger than 1 MiB' });
  const boundary = request.boundary ?? randomBoundary();
  if (!/^[0-9A-Za-z'()+_,\-./:=?]{1,69}[0-9A-Za-z'()+_,\-./:=?]$/.test(boundary)) {
    // RFC 2046 §5.1.1 bchars, 1-70 characters; no space so no quoting trouble.
    throw new SigillError('BAD_INPUT', { detail: `not a usable MIME boundary: ${JSON.stringify(boundary)}` });
  }
  if (plan.encrypt) return encrypted(request, boundary);
  if (plan.sign) return signed(request, boundary);
  throw new SigillError('BAD_INPUT', { detail: 'PGP/MIME is for a message that is encrypted or signed' });
}

/** 128 random bits: a boundary the content cannot have been written to contain. */
function randomBoundary(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `sigill-${Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')}`;
}

// ---- encrypt ---------------------------------------------------------------------------------------

async function encrypted(request: PgpMimeRequest, boundary: string): Promise<PgpMimeResult> {
  // RFC 2046 §5.1.1: the boundary must not start a line of the content. Armor lines are base64 (no
  // '-') but for the BEGIN and END lines, so checking those two is checking every line.
  if (ARMOR_LINES.some((line) => line.startsWith(`--${boundary}`))) throw new SigillError('BAD_INPUT', { detail: 'the MIME boundary occurs in the content; nothing was sent' });
  const { plan } = request;
  const inner = await protectedEntity(toStream(await request.entity()), protectedFields(request));
  const ciphertext = await encrypt({
    input: inner,
    recipients: plan.encryptionKeys,
    hiddenRecipients: plan.hiddenKeys,
    signingKeys: plan.sign && plan.signingKey ? [plan.signingKey] : [],
    format: 'binary',
    // Armored here, natively and with CRLF lines (mime-armor.ts), not by OpenPGP.js.
    armor: false,
    ...(request.date ? { date: request.date } : {}),
  });
  const armored = await armorEncryptedForMime(ciphertext, request.base64Encoder ? { encoder: request.base64Encoder } : {});
  const contentType = `multipart/encrypted; protocol="application/pgp-encrypted"; boundary="${boundary}"`;
  const head =
    `Content-Type: ${contentType}${CRLF}${CRLF}` +
    `This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)${CRLF}` +
    `--${boundary}${CRLF}` +
    `Content-Type: application/pgp-encrypted${CRLF}` +
    `Content-Description: PGP/MIME version identification${CRLF}${CRLF}` +
    `Version: 1${CRLF}${CRLF}` +
    `--${boundary}${CRLF}` +
    `Content-Type: application/octet-stream; name="encrypted.asc"${CRLF}` +
    `Content-Description: OpenPGP encrypted message${CRLF}` +
    `Content-Disposition: inline; filename="encrypted.asc"${CRLF}${CRLF}`;
  const tail = `${CRLF}--${boundary}--${CRLF}`;
  return { contentType, outerSubject: request.outerSubject ?? '...', content: concatStreams([head, armored, tail]) };
}

/** The protected header fields, raw and folded as they were, Subject replaced by the real one. */
function protectedFields(request: PgpMimeRequest): string[] {
  const fields = rawFields(request.headers).filter((field) => (PROTECTED_HEADER_NAMES as readonly string[]).includes(field.name));
  const lines: string[] = [];
  for (const name of PROTECTED_HEADER_NAMES) {
    if (name === 'subject' && request.subject !== undefined) {
      lines.push(`Subject: ${encodeUnstructured(request.subject)}${CRLF}`);
      continue;
    }
    for (const field of fields) if (field.name === name) lines.push(field.raw);
  }
  return lines;
}

interface RawField {
  name: string;
  /** The field's lines, with continuation lines, each ending in CRLF. */
  raw: string;
}

/** Header fields of a block with their raw (folded) text (RFC 5322 §2.2). */
function rawFields(block: string): RawField[] {
  const fields: RawField[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line === '') continue;
    const last = fields[fields.length - 1];
    if (/^[ \t]/.test(line)) {
      if (last) last.raw += `${line}${CRLF}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.push({ name: line.slice(0, colon).trim().toLowerCase(), raw: `${line}${CRLF}` });
  }
  return fields;
}

/**
 * The entity with the protected fields first and `protected-headers="v1"` on its Content-Type. A leaf
 * (a single text part, or no Content-Type: RFC 2045 §5.2 text/plain) is first put inside a
 * multipart/mixed, as Thunderbird does: readers take a text/plain part that carries protected headers
 * for the "legacy display" part and hide it. The body streams on unchanged.
 */
async function protectedEntity(entity: ReadableStream<Uint8Array>, fields: string[]): Promise<ReadableStream<Uint8Array>> {
  const { head, stream } = await peek(entity, (bytes) => headerEnd(bytes) >= 0 || bytes.length > MAX_ENTITY_HEADER_BYTES);
  const end = headerEnd(head);
  if (end < 0) throw new SigillError('MALFORMED_MIME', { detail: 'the MIME entity to encrypt has no end of header fields within 256 KiB' });
  const own = rawFields(latin1.decode(head.subarray(0, end))).filter((field) => !(PROTECTED_HEADER_NAMES as readonly string[]).includes(field.name));
  const contentType = own.find((field) => field.name === 'content-type');
  const type = parseParameterized(contentType?.raw.slice(contentType.raw.indexOf(':') + 1)).value;
  if (!type.startsWith('multipart/')) {
    const boundary = randomBoundary();
    const wrapperHead = `Content-Type: multipart/mixed; boundary="${boundary}";${CRLF} protected-headers="v1"${CRLF}${CRLF}--${boundary}${CRLF}`;
    return concatStreams([fromLatin1([...fields, wrapperHead].join('')), guardBoundary(stream, boundary), `${CRLF}--${boundary}--${CRLF}`]);
  }
  const rewritten = own.map((field) => {
    if (field.name !== 'content-type' || /protected-headers\s*=/i.test(field.raw)) return field.raw;
    return `${field.raw.replace(/\r\n$/, '')};${CRLF} protected-headers="v1"${CRLF}`;
  });
  // The old header block is skipped in the replayed stream; the empty line and the body are kept.
  return concatStreams([fromLatin1([...fields, ...rewritten].join('')), skip(stream, end)]);
}

/** Offset of the empty line that ends the header block (at its CRLF or LF), -1 if not seen yet. */
function headerEnd(bytes: Uint8Array): number {
  const text = latin1.decode(bytes.subarray(0, Math.min(bytes.length, MAX_ENTITY_HEADER_BYTES + 4)));
  if (text.startsWith('\r\n') || text.startsWith('\n')) return 0;
  const crlf = text.indexOf('\r\n\r\n');
  const lf = text.indexOf('\n\n');
  const found = [crlf < 0 ? -1 : crlf + 2, lf < 0 ? -1 : lf + 1].filter((at) => at >= 0);
  return found.length === 0 ? -1 : Math.min(...found);
}

/** RFC 2047 §4.1 B-encoded words of UTF-8, each at most 75 characters; ASCII without controls stays. */
export function encodeUnstructured(text: string): string {
  // A line break in a header value would start a new field (header injection): folded to a space.
  const clean = text.replace(/[\r\n]+/g, ' ');
  if (/^[\x20-\x7e]*$/.test(clean) && !/=\?/.test(clean)) return clean;
  const words: string[] = [];
  let chunk = '';
  const flush = (): void => {
    if (chunk === '') return;
    words.push(`=?UTF-8?B?${base64(encoder.encode(chunk))}?=`);
    chunk = '';
  };
  // 45 bytes of UTF-8 give 60 base64 characters; with `=?UTF-8?B?` and `?=` that is 72 (< 75).
  for (const char of clean) {
    if (encoder.encode(chunk + char).length > 45) flush();
    chunk += char;
  }
  flush();
  return words.join(`${CRLF} `);
}

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

// ---- sign only -------------------------------------------------------------------------------------

async function signed(request: PgpMimeRequest, boundary: string): Promise<PgpMimeResult> {
  const { plan } = request;
  const signingKey = plan.signingKey as openpgp.PrivateKey; // assertPlanReady checked it
  const when = request.date ? { date: request.date } : {};
  // First pass: the signature (its hash algorithm goes into the header, before the content).
  const signature = await readAll(
    await sign({ input: canonicalSevenBit(toStream(await request.entity())), signingKeys: [signingKey], detached: true, armor: true, ...when }),
    MAX_SIGNATURE_BYTES,
  );
  const micalg = await micalgOf(signature);
  const contentType = `multipart/signed; micalg=${micalg}; protocol="application/pgp-signature"; boundary="${boundary}"`;
  const head = `Content-Type: ${contentType}${CRLF}${CRLF}` + `This is an OpenPGP/MIME signed message (RFC 4880 and 3156)${CRLF}` + `--${boundary}${CRLF}`;
  const signaturePart =
    `${CRLF}--${boundary}${CRLF}` +
    `Content-Type: application/pgp-signature; name="OpenPGP_signature.asc"${CRLF}` +
    `Content-Description: OpenPGP digital signature${CRLF}` +
    `Content-Disposition: attachment; filename="OpenPGP_signature.asc"${CRLF}${CRLF}`;
  const tail = `${CRLF}--${boundary}--${CRLF}`;
  // Second pass: the same canonical bytes, now into the message. RFC 3156 §5: the CRLF before the
  // delimiter belongs to the delimiter, so the signed part is exactly these bytes.
  const content = guardBoundary(canonicalSevenBit(toStream(await request.entity())), boundary);
  const armored = toCrlf(toStream(signature));
  return { contentType, micalg, content: concatStreams([head, content, signaturePart, armored, tail]) };
}

/** RFC 3156 §5 micalg: "pgp-" and the hash algorithm's lower-case name (RFC 9580 §9.5 table). */
async function micalgOf(armoredSignature: Uint8Array): Promise<string> {
  try {
    const signature = await openpgp.readSignature({ armoredSignature: latin1.decode(armoredSignature) });
    const algorithms = new Set(signature.packets.map((packet) => packet.hashAlgorithm));
    const [algorithm] = algorithms;
    if (algorithms.size !== 1 || algorithm === undefined || algorithm === null) throw new SigillError('INTERNAL', { detail: 'the signature has no single hash algorithm' });
    const name = openpgp.enums.read(openpgp.enums.hash, algorithm);
    return `pgp-${name.toLowerCase().replace(/^sha3_/, 'sha3-')}`;
  } catch (error) {
    throw isSigillError(error) ? error : new SigillError('INTERNAL', { detail: `reading back the signature: ${String(error)}` });
  }
}

/**
 * Lines end in CRLF (a bare LF becomes CRLF, RFC 3156 §5.1 canonical form) and every byte is 7-bit:
 * 8-bit data in a signed part is refused, as a transport may re-encode it and break the signature.
 */
function canonicalSevenBit(stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const sevenBit = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      // Native passes (decode, regular expression), not a JavaScript loop per octet. The decoder is
      // windows-1252, which maps every octet from 0x80 up to a character above U+007F.
      if (EIGHT_BIT.test(latin1.decode(chunk))) {
        throw new SigillError('BAD_INPUT', { detail: 'a signed MIME part must be 7-bit: 8-bit content has to be quoted-printable or base64 (RFC 3156 §5)' });
      }
      controller.enqueue(chunk);
    },
  });
  return toCrlf(stream.pipeThrough(sevenBit));
}

const EIGHT_BIT = /[\u0080-\uffff]/;
/** A line feed after something other than a carriage return, within a chunk. */
const BARE_LF_INSIDE = /[^\r]\n/;

function addCr(chunk: Uint8Array, bare: number, before: number): Uint8Array {
  const out = new Uint8Array(chunk.length + bare);
  let at = 0;
  for (let index = 0; index < chunk.length; index++) {
    const byte = chunk[index] as number;
    if (byte === 0x0a && (index === 0 ? before : chunk[index - 1]) !== 0x0d) out[at++] = 0x0d;
    out[at++] = byte;
  }
  return out;
}

// ---- streams ---------------------------------------------------------------------------------------

/**
 * Bare LF line endings to CRLF, for a MIME body (RFC 3156 §5.1 canonical form). A chunk that has none
 * (what Thunderbird writes) is found so by native passes and handed on as it is; only a chunk with a
 * bare LF is rewritten octet by octet.
 */
function toCrlf(stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  let previous = 0;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (chunk.length === 0) return;
        const before = previous;
        previous = chunk[chunk.length - 1] as number;
        const startsBare = chunk[0] === 0x0a && before !== 0x0d;
        if (!startsBare && (chunk.indexOf(0x0a) < 0 || !BARE_LF_INSIDE.test(latin1.decode(chunk)))) {
          controller.enqueue(chunk);
          return;
        }
        let bare = 0;
        for (let index = 0; index < chunk.length; index++) {
          if (chunk[index] === 0x0a && (index === 0 ? before : chunk[index - 1]) !== 0x0d) bare++;
        }
        controller.enqueue(addCr(chunk, bare, before));
      },
    }),
  );
}

/**
 * Fails the stream when a line of the content starts with `--boundary` (RFC 2046 §5.1.1: the
 * boundary must not appear in the encapsulated parts). Lines are followed across chunks.
 */
function guardBoundary(stream: ReadableStream<Uint8Array>, boundary: string): ReadableStream<Uint8Array> {
  const needle = `\n--${boundary}`;
  // The end of what came before, enough to see a delimiter line cut between two chunks; the stream's
  // start counts as the start of a line.
  let carry = '\n';
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        // One native search per chunk, not a loop over its lines.
        const text = carry + latin1.decode(chunk);
        if (text.includes(needle)) throw new SigillError('BAD_INPUT', { detail: 'the MIME boundary occurs in the content; nothing was sent' });
        carry = text.slice(-(needle.length - 1));
        controller.enqueue(chunk);
      },
    }),
  );
}

function fromLatin1(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0) & 0xff);
}

/** Strings (latin1, they are ASCII) and byte streams one after the other, pulled one chunk at a time. */
function concatStreams(pieces: (string | Uint8Array | ReadableStream<Uint8Array>)[]): ReadableStream<Uint8Array> {
  let current: ReadableStreamDefaultReader<Uint8Array> | undefined;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (const piece of pieces) {
      if (typeof piece === 'string') {
        yield fromLatin1(piece);
        continue;
      }
      if (piece instanceof Uint8Array) {
        yield piece;
        continue;
      }
      current = piece.getReader();
      for (let next = await current.read(); !next.done; next = await current.read()) yield next.value;
      current = undefined;
    }
  }
  return iteratorStream(chunks(), async (reason) => {
    await current?.cancel(reason);
    for (const piece of pieces) if (piece instanceof ReadableStream && !piece.locked) await piece.cancel(reason);
  });
}

/** The stream without its first `count` bytes. */
function skip(stream: ReadableStream<Uint8Array>, count: number): ReadableStream<Uint8Array> {
  let left = count;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (left >= chunk.length) {
          left -= chunk.length;
          return;
        }
        controller.enqueue(left > 0 ? chunk.subarray(left) : chunk);
        left = 0;
      },
    }),
  );
}
