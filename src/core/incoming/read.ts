/**
 * `read(raw, options)`: a received mail (its raw bytes, as `messages.getRaw` gives them) to the one
 * view model the display renders (types.ts).
 *
 * What it finds: PGP/MIME `multipart/encrypted` (RFC 3156 §4) with protected headers, `multipart/signed`
 * (RFC 3156 §5, verified over the exact canonical bytes of the signed part), inline armored messages and
 * cleartext signatures (RFC 9580 §7) in text and HTML parts, `.pgp/.gpg/.asc` and `name.ext.asc`
 * attachments, detached `.sig/.asc` signatures of attachments, and public keys (offered, never imported).
 *
 * The rules that keep it honest:
 * - Decrypted content is never joined to anything else: each decryption yields its own parts, and when
 *   a mail mixes decrypted and other content, `parts` holds only the decrypted content and the rest is
 *   kept apart in `unprotectedParts` (EFAIL direct exfiltration, PARTIAL).
 * - A mail is "encrypted" or "signed" only if that holds for everything shown (SIG-WRAP, PARTIAL).
 * - Signer identity comes from the certificate and is compared with the From address (SIG-ID); the
 *   status is data in the view model, never text in the body (SIG-UI).
 * - Nothing of a decryption that failed its integrity check is shown (the sink contract).
 * - Parsing is bounded in depth, parts and header size (PARSE).
 */
import type { PublicKey } from 'openpgp';
import { SigillError, errorMessages, isSigillError, type SigillErrorCode } from '../errors.ts';
import { readCertificates } from '../keys/index.ts';
import type { Verification } from '../messages/index.ts';
import { findArmorBlocks, htmlToArmorText, startsWithArmor, MAX_ARMOR_BLOCKS, type ArmorBlock } from '../mime/armor.ts';
import { bodySize, decodeBase64Native, decodeBody, decodeCharset, decodedBodyPrefix, decodedBodyStream, entityBytes, partFilename, transferEncoding } from '../mime/decode.ts';
import { canonicalCrlf, isAttachment, parseBudget, parseMime, type MimeEntity, type ParseBudget } from '../mime/entity.ts';
import { parseMimeSource } from '../mime/source-entity.ts';
import { base64DecodeStream, blobSource, bytesSource, type ByteSource } from '../mime/source.ts';
import { bytesOf, collect, sizeOf } from './blob-sink.ts';
import { sanitizeFilename } from '../mime/filename.ts';
import { decodeFlowed } from '../mime/flowed.ts';
import { decodeHeaderText, headerValue, headerValues } from '../mime/headers.ts';
import { addressParser } from 'postal-mime';
import { CertificateLookup, ReadFailure, decryptMessage, inspectMessage, judgeSigner, readSigned, verifySignature, type Decrypted, type EncryptedInput, type MessageShape, type Verified } from './openpgp-data.ts';
import type {
  AttachmentView,
  DisplayPart,
  EncryptionState,
  OfferedKey,
  ReadError,
  ReadOptions,
  ReadResult,
  ReadWarning,
  SignatureState,
  Signer,
  WarningCode,
} from './types.ts';

interface Context {
  /** The decryption this content came out of. */
  encryption: number | undefined;
  /** Every signature group around this content (outermost first). */
  signatureGroups: number[];
  /** This entity is the mail's root (or the root of the root's decryption). */
  isRoot: boolean;
  /** Protected headers were read from the enclosing decrypted entity: hide their legacy display part. */
  hideLegacyDisplay: boolean;
}

interface Content {
  kind: 'text' | 'html';
  content: string;
  source: DisplayPart['source'];
  context: Context;
  /** For an HTML alternative: the text/plain alternative next to it (for reply quotes). */
  plainText?: string;
}

/** An attachment's bytes as the mail carried them: held, or streamed from the mail's source. */
type Received = Uint8Array | (() => ReadableStream<Uint8Array>);

interface PendingSignature {
  name: string;
  bytes: Uint8Array;
  context: Context;
}

const encoder = new TextEncoder();
const utf8 = new TextDecoder('utf-8');

/** The raw mail: bytes, text (one char per byte is not assumed: it is UTF-8 encoded), or a Blob/File read in windows. */
export type RawMail = Uint8Array | string | Blob;

function sourceOf(raw: RawMail): ByteSource {
  if (typeof raw === 'string') return bytesSource(encoder.encode(raw));
  return raw instanceof Uint8Array ? bytesSource(raw) : blobSource(raw);
}

/**
 * A Blob (Thunderbird's `messages.getRaw` File) is never read whole: the MIME structure is scanned in
 * windows, a large encrypted part is decrypted as a stream, and large plaintext and attachments become
 * Blobs (ReadOptions.streaming).
 */
export async function read(raw: RawMail, options: ReadOptions = {}): Promise<ReadResult> {
  const reader = new MailReader(options, undefined);
  return reader.run(sourceOf(raw));
}

/**
 * Decrypts one attachment that `read(raw, { attachments: 'defer' })` listed as `deferred`, by its index in
 * that view's `attachments`: the same walk, decrypting only that attachment. Returns undefined when the
 * index names no attachment.
 */
/**
 * The bytes of an attachment `read()` left encoded (`AttachmentView.encoded`, attachments: 'defer'):
 * base64 decoded a chunk at a time into a Blob (or bytes when small), as `read()` would have decoded it.
 */
export function decodeAttachment(encoded: NonNullable<AttachmentView['encoded']>, options: Pick<ReadOptions, 'maxPlaintextSize' | 'streaming'> = {}): Promise<Uint8Array | Blob> {
  const inMemoryBelow = options.streaming?.inMemoryBelow;
  const text = encoded.data.stream() as ReadableStream<Uint8Array>;
  // The decoder makes a new array for every chunk, so the sink keeps them without a copy.
  return collect(text.pipeThrough(base64DecodeStream()), { limit: options.maxPlaintextSize ?? 256 * 1024 * 1024, handsOver: true, ...(inMemoryBelow === undefined ? {} : { inMemoryBelow }) });
}

export async function readAttachment(raw: RawMail, index: number, options: ReadOptions = {}): Promise<AttachmentView | undefined> {
  const reader = new MailReader({ ...options, attachments: 'defer' }, index);
  const view = await reader.run(sourceOf(raw));
  return view.attachments[index];
}

class MailReader {
  private readonly budget: ParseBudget;
  private readonly contents: Content[] = [];
  /** With each attachment: its context and its bytes as they came in the mail (before decryption). */
  private readonly attachments: Array<AttachmentView & { context: Context; received: Received }> = [];
  private readonly pendingSignatures: PendingSignature[] = [];
  private readonly offeredKeys: OfferedKey[] = [];
  private readonly errors: ReadError[] = [];
  private readonly warnings: ReadWarning[] = [];
  private readonly groups: Array<{ id: number; verifications: Verification[] }> = [];
  private readonly certificates: PublicKey[] = [];
  private decryptions = 0;
  /** Decryptions of body content (PGP/MIME and inline blocks), as opposed to attachments. */
  private readonly bodyDecryptions = new Set<number>();
  /** Encrypted data was found (whether or not it could be decrypted). */
  private encryptedSeen = false;
  private protectedSubject: string | undefined;
  private fromAddresses: string[] = [];
  private lookup: CertificateLookup;

  constructor(
    private readonly options: ReadOptions,
    /** With attachments: 'defer', the index of the one attachment to decrypt anyway (readAttachment). */
    private readonly onlyAttachment: number | undefined,
  ) {
    this.budget = parseBudget(options.limits);
    this.lookup = new CertificateLookup(options, []);
  }

  async run(source: ByteSource): Promise<ReadResult> {
    let root: MimeEntity;
    try {
      root = await parseMimeSource(source, this.budget, 0, this.options.streaming);
    } catch (error) {
      this.fail(error, 'MALFORMED_MIME', 'body');
      return this.result(undefined);
    }
    this.readFrom(root);
    this.lookup = new CertificateLookup(this.options, this.fromAddresses);
    try {
      await this.walk(root, { encryption: undefined, signatureGroups: [], isRoot: true, hideLegacyDisplay: false });
      await this.matchDetachedSignatures();
    } catch (error) {
      // A limit hit deep inside (nesting, parts, sizes): nothing half-read is shown.
      this.contents.length = 0;
      this.attachments.length = 0;
      this.fail(error, 'MALFORMED_MIME', 'body');
    }
    return this.result(root);
  }

  // ---- walking the tree ----

  private async walk(entity: MimeEntity, context: Context): Promise<void> {
    const type = entity.contentType.value;
    if (type === 'multipart/encrypted' && entity.children.length >= 2) return this.pgpMime(entity, context);
    if (type === 'multipart/signed' && entity.children.length >= 2 && /pgp-signature/i.test(entity.contentType.params.protocol ?? '')) {
      return this.mimeSigned(entity, context);
    }
    if (type === 'multipart/alternative' && entity.children.length > 0) {
      const chosen = this.chooseAlternative(entity.children);
      const before = this.contents.length;
      await this.walk(chosen, context);
      await this.attachPlainAlternative(entity.children, chosen, before);
      return;
    }
    if (type.startsWith('multipart/')) {
      // A part of a multipart with several parts is no longer the whole mail (protected headers in it
      // are not the mail's).
      for (const child of entity.children) await this.walk(child, { ...context, isRoot: context.isRoot && entity.children.length === 1 });
      return;
    }
    return this.leaf(entity, context);
  }

  /**
   * RFC 2046 §5.1.4: the alternatives carry the same content, the last is the richest. The one with
   * OpenPGP data wins (mailers that encrypt inline put the armor in both); else the last that can be
   * shown (HTML only when a sanitizer is given).
   */
  private chooseAlternative(children: MimeEntity[]): MimeEntity {
    const withPgp = children.find((child) => mentionsOpenpgp(child));
    if (withPgp) return withPgp;
    const showable = children.filter((child) => child.contentType.value === 'text/plain' || child.contentType.value.startsWith('multipart/') || (child.contentType.value === 'text/html' && this.options.sanitizeHtml));
    return showable[showable.length - 1] ?? (children[children.length - 1] as MimeEntity);
  }

  /**
   * When an HTML alternative was shown, its text/plain sibling (same protection, no OpenPGP data) is
   * kept with it as `plainText`, so that a reply can quote text.
   */
  private async attachPlainAlternative(children: MimeEntity[], chosen: MimeEntity, firstContent: number): Promise<void> {
    const added = this.contents.slice(firstContent);
    const htmlContent = added.length === 1 && added[0]?.kind === 'html' ? added[0] : undefined;
    const plain = children.find((child) => child !== chosen && child.contentType.value === 'text/plain' && !isAttachment(child));
    if (!htmlContent || !plain || mentionsOpenpgp(plain)) return;
    htmlContent.plainText = decodeCharset(await decodeBody(plain), plain.contentType.params.charset);
  }

  /** RFC 3156 §4: the second body part holds the encrypted data; its plaintext is a MIME entity. */
  private async pgpMime(entity: MimeEntity, context: Context): Promise<void> {
    this.encryptedSeen = true;
    const payload = entity.children[1] as MimeEntity;
    // A large payload is decrypted as it is read from the mail, never held (whole or base64-decoded).
    const data: EncryptedInput = payload.stored ? () => decodedBodyStream(payload) : await decodeBody(payload);
    const decrypted = await this.decrypt(data, 'body');
    if (!decrypted) return;
    const id = ++this.decryptions;
    this.bodyDecryptions.add(id);
    const groups = this.addGroup(decrypted, context.signatureGroups);
    const inner = await this.parseDecrypted(decrypted.plaintext, entity.depth + 1);
    if (inner.headers.length === 0 && bodySize(inner) === 0) {
      // RFC 3156 §4 wants a MIME entity; some senders encrypt bare text. Shown as the text it is.
      this.addContent('text', utf8.decode(await bytesOf(decrypted.plaintext)), 'pgp-mime', { ...context, encryption: id, signatureGroups: groups });
      return;
    }
    // Protected headers (draft-autocrypt / Thunderbird: protected-headers="v1" on the inner entity): the
    // inner Subject is the real one. Taken only from the encrypted part that is the whole mail.
    const innerSubject = headerValue(inner.headers, 'subject');
    const declared = inner.contentType.params['protected-headers'] === 'v1';
    let hideLegacyDisplay = false;
    if (innerSubject !== undefined && (declared || context.isRoot)) {
      if (context.isRoot) {
        this.protectedSubject = decodeHeaderText(innerSubject);
        hideLegacyDisplay = true;
        this.compareProtectedFrom(inner);
      } else {
        this.warn('PROTECTED_SUBJECT_IGNORED', 'Protected headers in an encrypted part that is not the whole mail were ignored.');
      }
    }
    await this.walk(inner, { encryption: id, signatureGroups: groups, isRoot: context.isRoot, hideLegacyDisplay });
  }

  /** A decrypted MIME entity: parsed in memory when small, from its Blob in windows when large. */
  private parseDecrypted(plaintext: Uint8Array | Blob, depth: number): Promise<MimeEntity> | MimeEntity {
    if (plaintext instanceof Uint8Array) return parseMime(plaintext, this.budget, depth);
    return parseMimeSource(blobSource(plaintext), this.budget, depth, this.options.streaming);
  }

  /**
   * A large base64 attachment's text as a Blob slice, left for decodeAttachment (attachments: 'defer',
   * unless readAttachment asks for this one); undefined when it is to be decoded now.
   */
  private leftEncoded(entity: MimeEntity): AttachmentView['encoded'] {
    const blob = entity.stored?.source.blob;
    if (this.options.attachments !== 'defer' || this.onlyAttachment === this.attachments.length || blob === undefined || entity.stored === undefined) return undefined;
    if (transferEncoding(entity) !== 'base64') return undefined;
    return { data: blob.slice(entity.stored.bodyStart, entity.stored.end), transferEncoding: 'base64' };
  }

  /** Small attachments stay bytes; large ones are decoded into a Blob a chunk at a time. */
  private collectBody(entity: MimeEntity): Promise<Uint8Array | Blob> {
    const inMemoryBelow = this.options.streaming?.inMemoryBelow;
    // A stored base64 body comes out of the decoder as new arrays: the sink keeps them without a copy.
    const handsOver = entity.stored !== undefined && transferEncoding(entity) === 'base64';
    return collect(decodedBodyStream(entity), { limit: this.options.maxPlaintextSize ?? 256 * 1024 * 1024, handsOver, ...(inMemoryBelow === undefined ? {} : { inMemoryBelow }) });
  }

  /** RFC 3156 §5: the signature covers the first body part's exact bytes, lines ending in CRLF. */
  private async mimeSigned(entity: MimeEntity, context: Context): Promise<void> {
    const [signed, signaturePart] = entity.children as [MimeEntity, MimeEntity];
    let verified: Verified | undefined;
    try {
      verified = await verifySignature(canonicalCrlf(await entityBytes(signed)), await decodeBody(signaturePart), this.lookup);
    } catch (error) {
      this.fail(error, 'MALFORMED_MESSAGE', 'signature');
    }
    const groups = verified ? this.addGroup(verified, context.signatureGroups) : context.signatureGroups;
    await this.walk(signed, { ...context, signatureGroups: groups });
  }

  private async leaf(entity: MimeEntity, context: Context): Promise<void> {
    const type = entity.contentType.value;
    if (context.hideLegacyDisplay && isLegacyDisplay(entity)) return;
    if (type === 'application/pgp-encrypted' && !isAttachment(entity)) return; // the "Version: 1" part
    if (!isAttachment(entity) && (type === 'text/plain' || type === 'text/html')) return this.textPart(entity, context);
    return this.attachment(entity, context);
  }

  private async textPart(entity: MimeEntity, context: Context): Promise<void> {
    const bytes = await decodeBody(entity);
    const decoded = decodeCharset(bytes, entity.contentType.params.charset);
    const html = entity.contentType.value === 'text/html';
    const flowed = !html && entity.contentType.params.format?.toLowerCase() === 'flowed';
    // Flowed text is unwrapped for display; a part with armor is left as it is (armor lines are fixed).
    const text = flowed && !decoded.includes('-----BEGIN PGP') ? decodeFlowed(decoded, { delsp: entity.contentType.params.delsp?.toLowerCase() === 'yes' }) : decoded;
    if (!text.includes('-----BEGIN PGP')) {
      this.addContent(html ? 'html' : 'text', text, context.encryption !== undefined ? 'pgp-mime' : 'plain', context);
      return;
    }
    // Armor inside HTML is read from the HTML's text; what surrounds it is kept as plain text (never
    // as HTML next to decrypted content).
    const plain = html ? htmlToArmorText(text) : text;
    const blocks = findArmorBlocks(plain);
    if (blocks.length === 0) {
      this.addContent(html ? 'html' : 'text', text, context.encryption !== undefined ? 'pgp-mime' : 'plain', context);
      return;
    }
    if (blocks.length >= MAX_ARMOR_BLOCKS) this.warn('TOO_MANY_BLOCKS', `Only the first ${MAX_ARMOR_BLOCKS} OpenPGP blocks of a part were read.`);
    let cursor = 0;
    for (const block of blocks) {
      this.addContent('text', plain.slice(cursor, block.start), 'plain', context);
      await this.armorBlock(block, context);
      cursor = block.end;
    }
    this.addContent('text', plain.slice(cursor), 'plain', context);
  }

  private async armorBlock(block: ArmorBlock, context: Context): Promise<void> {
    switch (block.kind) {
      case 'message':
        return this.inlineMessage(block.armored, context);
      case 'signed-message':
        return this.cleartextSigned(block.armored, context);
      case 'public-key':
        if (await this.offerKey(block.armored, 'body', context)) return;
        break;
      default:
        break;
    }
    this.addContent('text', block.armored, 'plain', context);
  }

  private async inlineMessage(armored: string, context: Context): Promise<void> {
    let shape;
    try {
      shape = await inspectMessage(armored);
    } catch (error) {
      this.fail(error, 'MALFORMED_ARMOR', 'body');
      this.addContent('text', armored, 'plain', context);
      return;
    }
    if (!shape.encrypted) {
      // A signed-only OpenPGP message (RFC 9580 §10.3): its literal data, labelled by the verdict.
      try {
        const signed = await readSigned(armored, this.options, this.lookup);
        const groups = this.addGroup(signed, context.signatureGroups);
        this.addContent('text', utf8.decode(signed.content), 'inline-pgp', { ...context, signatureGroups: groups });
      } catch (error) {
        this.fail(error, 'MALFORMED_MESSAGE', 'body');
        this.addContent('text', armored, 'plain', context);
      }
      return;
    }
    this.encryptedSeen = true;
    const decrypted = await this.decrypt(armored, 'body', shape);
    if (!decrypted) return;
    const id = ++this.decryptions;
    this.bodyDecryptions.add(id);
    const groups = this.addGroup(decrypted, context.signatureGroups);
    const inner: Context = { ...context, encryption: id, signatureGroups: groups, hideLegacyDisplay: false };
    if (decrypted.format === 'mime') {
      // RFC 9580 §5.9 'm': the literal data is a MIME entity.
      await this.walk(await this.parseDecrypted(decrypted.plaintext, 1), { ...inner, isRoot: false });
      return;
    }
    // The decrypted text is shown as it is, never searched for more armor (a ciphertext quoted inside
    // is someone else's: REPLY).
    this.addContent('text', utf8.decode(await bytesOf(decrypted.plaintext)), 'inline-pgp', inner, true);
  }

  private async cleartextSigned(armored: string, context: Context): Promise<void> {
    try {
      const signed = await readSigned(armored, this.options, this.lookup);
      const groups = this.addGroup(signed, context.signatureGroups);
      this.addContent('text', utf8.decode(signed.content), 'cleartext-signed', { ...context, signatureGroups: groups });
    } catch (error) {
      this.fail(error, 'MALFORMED_ARMOR', 'body');
      this.addContent('text', armored, 'plain', context);
    }
  }

  private async attachment(entity: MimeEntity, context: Context): Promise<void> {
    const originalName = partFilename(entity);
    const lower = (originalName ?? '').toLowerCase();
    const type = entity.contentType.value;
    // A stored (large) body is told apart by its first bytes; keys and signatures, small by nature, are
    // read whole only when it claims to be one.
    const stored = entity.stored !== undefined;
    const head = stored ? await decodedBodyPrefix(entity) : await decodeBody(entity);
    const whole = async (): Promise<Uint8Array> => (stored ? decodeBody(entity) : head);
    if (type === 'application/pgp-keys' || startsWithArmor(head, 'public-key')) {
      if (await this.offerKey(await whole(), sanitizeFilename(originalName, { fallback: 'key.asc' }), context)) return;
    }
    if (type === 'application/pgp-signature' || lower.endsWith('.sig') || (lower.endsWith('.asc') && startsWithArmor(head, 'signature'))) {
      if (originalName !== undefined) {
        this.pendingSignatures.push({ name: originalName, bytes: await whole(), context });
        return;
      }
    }
    const armoredMessage = startsWithArmor(head, 'message');
    if (/\.(?:pgp|gpg)$/.test(lower) || (lower.endsWith('.asc') && armoredMessage) || (type === 'application/pgp-encrypted' && (armoredMessage || looksBinaryOpenpgp(head)))) {
      return this.encryptedAttachment(entity, originalName, stored ? () => decodedBodyStream(entity) : head, armoredMessage, context);
    }
    // What a plain attachment is, whether its bytes are decoded now or left encoded until saved.
    const listed = {
      name: sanitizeFilename(originalName),
      originalName,
      contentType: type,
      encrypted: context.encryption !== undefined,
      signed: false,
      protection: { encryption: context.encryption, signatureGroup: context.signatureGroups[context.signatureGroups.length - 1] },
      detachedSignature: undefined,
      error: undefined,
      context,
    };
    const encoded = stored ? this.leftEncoded(entity) : undefined;
    if (encoded !== undefined) {
      this.attachments.push({ ...listed, size: encodedSize(entity), data: undefined, encoded, received: () => decodedBodyStream(entity) });
      return;
    }
    const data = stored ? await this.collectBody(entity) : head;
    this.attachments.push({
      ...listed,
      size: sizeOf(data),
      data,
      received: data instanceof Uint8Array ? data : () => data.stream() as ReadableStream<Uint8Array>,
    });
  }

  private async encryptedAttachment(entity: MimeEntity, originalName: string | undefined, bytes: Received, armored: boolean, context: Context): Promise<void> {
    this.encryptedSeen = true;
    const stripped = (originalName ?? '').replace(/\.(?:pgp|gpg|asc)$/i, '');
    const where = sanitizeFilename(originalName);
    if (this.options.attachments === 'defer' && this.onlyAttachment !== this.attachments.length) {
      // Listed now, decrypted on request (readAttachment): neither content nor error yet.
      const name = sanitizeFilename(stripped, { fallback: 'attachment' });
      this.attachments.push({
        name,
        originalName,
        contentType: guessType(name),
        size: bytes instanceof Uint8Array ? bytes.length : encodedSize(entity),
        data: undefined,
        deferred: true,
        encrypted: true,
        signed: false,
        protection: { encryption: undefined, signatureGroup: undefined },
        detachedSignature: undefined,
        error: undefined,
        context,
        received: bytes,
      });
      return;
    }
    const data: EncryptedInput = armored && bytes instanceof Uint8Array ? utf8.decode(bytes) : bytes;
    let decrypted: Decrypted | undefined;
    let shapeError: unknown;
    try {
      const shape = await inspectMessage(data);
      decrypted = shape.encrypted ? await this.decrypt(data, where, shape) : undefined;
      if (!shape.encrypted) shapeError = new SigillError('NOT_ENCRYPTED');
    } catch (error) {
      shapeError = error;
    }
    if (shapeError !== undefined) this.fail(shapeError, 'MALFORMED_MESSAGE', where);
    const name = sanitizeFilename(stripped || decrypted?.filename, { fallback: 'attachment' });
    const id = decrypted ? ++this.decryptions : undefined;
    const groups = decrypted ? this.addGroup(decrypted, context.signatureGroups) : context.signatureGroups;
    this.attachments.push({
      name,
      originalName,
      contentType: decrypted ? guessType(name) : entity.contentType.value,
      size: decrypted ? sizeOf(decrypted.plaintext) : 0,
      data: decrypted?.plaintext,
      encrypted: decrypted !== undefined,
      signed: false,
      protection: { encryption: id, signatureGroup: groups[groups.length - 1] },
      detachedSignature: undefined,
      error: decrypted ? undefined : this.errors[this.errors.length - 1],
      context: { ...context, encryption: id, signatureGroups: groups },
      received: bytes,
    });
  }

  /** `name.ext.sig` / `name.ext.asc` next to `name.ext` (or `name.ext.pgp`): a detached signature of it. */
  private async matchDetachedSignatures(): Promise<void> {
    for (const pending of this.pendingSignatures) {
      const target = pending.name.replace(/\.(?:sig|asc)$/i, '');
      const attachment = this.attachments.find(
        (candidate) => (candidate.data !== undefined || candidate.encoded !== undefined) && (candidate.originalName === target || candidate.originalName?.replace(/\.(?:pgp|gpg|asc)$/i, '') === target),
      );
      if (attachment === undefined || (attachment.data === undefined && attachment.encoded === undefined)) {
        // No partner: shown as the file it is.
        this.attachments.push({
          name: sanitizeFilename(pending.name),
          originalName: pending.name,
          contentType: 'application/pgp-signature',
          size: pending.bytes.length,
          data: pending.bytes,
          encrypted: pending.context.encryption !== undefined,
          signed: false,
          protection: { encryption: pending.context.encryption, signatureGroup: undefined },
          detachedSignature: undefined,
          error: undefined,
          context: pending.context,
          received: pending.bytes,
        });
        continue;
      }
      try {
        const signature = startsWithArmor(pending.bytes, 'signature') ? utf8.decode(pending.bytes) : pending.bytes;
        // `name.pgp.sig` signs the encrypted file as sent; `name.sig` next to `name.pgp` signs its plaintext.
        const signed = (attachment.encrypted && attachment.originalName === target) || attachment.data === undefined ? attachment.received : attachment.data;
        const verified = await verifySignature(signed, signature, this.lookup);
        const groups = this.addGroup(verified, attachment.context.signatureGroups);
        attachment.context = { ...attachment.context, signatureGroups: groups };
        attachment.detachedSignature = groups[groups.length - 1];
        attachment.protection = { ...attachment.protection, signatureGroup: groups[groups.length - 1] };
      } catch (error) {
        this.fail(error, 'MALFORMED_MESSAGE', attachment.name);
      }
    }
  }

  /** A public key in the mail: offered to the person, never imported here. */
  private async offerKey(data: Uint8Array | string, from: string, context: Context): Promise<boolean> {
    let keys: PublicKey[];
    try {
      keys = await readCertificates(data);
    } catch {
      return false;
    }
    const armored = typeof data === 'string' ? data : utf8.decode(data);
    for (const key of keys) {
      if (this.offeredKeys.some((offered) => offered.fingerprint === key.getFingerprint().toUpperCase())) continue;
      this.offeredKeys.push({ armored, fingerprint: key.getFingerprint().toUpperCase(), userIDs: key.getUserIDs(), from, encrypted: context.encryption !== undefined });
    }
    return keys.length > 0;
  }

  // ---- OpenPGP through the core ----

  private async decrypt(data: EncryptedInput, where: string, knownShape?: MessageShape): Promise<Decrypted | undefined> {
    // Armored data may come as bytes (a PGP/MIME part's body): read it as the text it is. A stream is
    // told armored or binary by the decryption itself.
    const input = data instanceof Uint8Array && startsWithArmor(data, 'message') ? utf8.decode(data) : data;
    try {
      // The shape from the bytes as they are (inspectMessage streams them; no text copy needed).
      const shape = knownShape ?? (await inspectMessage(data));
      const decrypted = await decryptMessage(input, shape, this.options, this.lookup);
      this.certificates.push(...decrypted.certificates);
      return decrypted;
    } catch (error) {
      this.fail(error, 'MALFORMED_MESSAGE', where);
      return undefined;
    }
  }

  /** Records a signature group for these verifications; returns the groups around content inside it. */
  private addGroup(verified: { verifications: Verification[]; certificates?: PublicKey[] }, outer: number[]): number[] {
    if (verified.verifications.length === 0) return outer;
    if (verified.certificates) this.certificates.push(...verified.certificates);
    const id = this.groups.length + 1;
    this.groups.push({ id, verifications: verified.verifications });
    return [...outer, id];
  }

  private addContent(kind: 'text' | 'html', content: string, source: DisplayPart['source'], context: Context, keepBlank = false): void {
    if (!keepBlank && content.trim() === '') return;
    this.contents.push({ kind, content, source, context });
  }

  // ---- errors and warnings ----

  private fail(error: unknown, fallback: SigillErrorCode, where: string): void {
    if (error instanceof ReadFailure) {
      this.errors.push({ code: error.code, message: describeFailure(error.code, error.keyIDs, error.detail), ...(error.keyIDs?.length ? { keyIDs: error.keyIDs } : {}), retryable: error.retryable, where });
      return;
    }
    const code = isSigillError(error) ? error.code : fallback;
    this.errors.push({ code, message: describeFailure(code, undefined, isSigillError(error) ? error.detail : undefined), retryable: false, where });
  }

  private warn(code: WarningCode, message: string): void {
    if (!this.warnings.some((warning) => warning.code === code)) this.warnings.push({ code, message });
  }

  private readFrom(root: MimeEntity): void {
    const froms = headerValues(root.headers, 'from');
    const mailboxes = froms.flatMap((value) => addressParser(value, { flatten: true }));
    this.fromAddresses = mailboxes.map((mailbox) => (mailbox.address ?? '').toLowerCase()).filter((address) => address !== '');
    if (froms.length === 0 || this.fromAddresses.length === 0) this.warn('NO_FROM', 'The mail has no From address.');
    if (froms.length > 1 || this.fromAddresses.length > 1) this.warn('MULTIPLE_FROM', 'The mail names several senders (From); none of them is taken as the sender.');
    for (const mailbox of mailboxes) {
      // "alice@example.org" <mallory@evil.test>: the name shows an address that is not the sender's.
      const shown = /[^\s<>"'()]+@[^\s<>"'()]+\.[^\s<>"'()]+/.exec(decodeHeaderText(mailbox.name ?? ''))?.[0]?.toLowerCase();
      if (shown !== undefined && shown !== (mailbox.address ?? '').toLowerCase()) {
        this.warn('FROM_NAME_HAS_OTHER_ADDRESS', `The sender's name shows the address ${shown}, but the mail is from ${mailbox.address ?? ''}.`);
      }
    }
  }

  /** The From inside the encryption is what the sender wrote; one that differs from the outer From is warned about. */
  private compareProtectedFrom(inner: MimeEntity): void {
    const innerFrom = headerValues(inner.headers, 'from')
      .flatMap((value) => addressParser(value, { flatten: true }))
      .map((mailbox) => (mailbox.address ?? '').toLowerCase())
      .filter((address) => address !== '');
    if (innerFrom.length === 0) return;
    const same = innerFrom.length === this.fromAddresses.length && innerFrom.every((address) => this.fromAddresses.includes(address));
    if (!same) this.warn('PROTECTED_FROM_DIFFERS', `The sender inside the encrypted part (${innerFrom.join(', ')}) is not the one outside (${this.fromAddresses.join(', ') || 'none'}).`);
  }

  // ---- the view model ----

  private async result(root: MimeEntity | undefined): Promise<ReadResult> {
    const date = this.options.date ?? new Date();
    const signers: Signer[] = [];
    const goodGroups = new Set<number>();
    const singleFrom = this.fromAddresses.length === 1 && !this.warnings.some((warning) => warning.code === 'MULTIPLE_FROM') ? this.fromAddresses[0] : undefined;
    for (const { id, verifications } of this.groups) {
      for (const verification of verifications) {
        const judged = await judgeSigner(verification, this.certificates, date);
        const matchesFrom = judged.status === 'unknown-key' || singleFrom === undefined ? undefined : judged.addresses.includes(singleFrom);
        signers.push({ ...judged, matchesFrom, group: id });
        if (judged.status === 'good') goodGroups.add(id);
        if (judged.status === 'good' && matchesFrom === false) {
          this.warn('SIGNER_NOT_FROM', `The mail says it is from ${singleFrom ?? ''}, but it was signed by ${judged.userID ?? judged.fingerprint}.`);
        }
      }
    }

    const sanitized = (content: Content): string | undefined => {
      if (content.kind !== 'html' || !this.options.sanitizeHtml) return undefined;
      try {
        return this.options.sanitizeHtml(content.content);
      } catch {
        // A sanitizer that fails leaves the HTML as text (its source), never as HTML.
        return undefined;
      }
    };
    const toPart = (content: Content, html = sanitized(content)): DisplayPart => ({
      kind: html === undefined ? 'text' : 'html',
      content: html ?? content.content,
      source: content.source,
      protection: { encryption: content.context.encryption, signatureGroup: content.context.signatureGroups[content.context.signatureGroups.length - 1] },
      encrypted: content.context.encryption !== undefined,
      signed: content.context.signatureGroups.some((group) => goodGroups.has(group)),
      ...(content.plainText !== undefined ? { plainText: content.plainText } : {}),
    });
    const all = this.contents.map((content) => toPart(content));
    const attachments: AttachmentView[] = this.attachments.map(({ context, received: _received, ...attachment }) => ({
      ...attachment,
      signed: context.signatureGroups.some((group) => goodGroups.has(group)),
    }));

    // What is shown: every part and every attachment. Groups of contexts decide the states.
    // An attachment that could not be decrypted is shown as an error, not as content of either kind.
    const shownContexts: Context[] = [
      ...this.contents.map((content) => content.context),
      ...this.attachments.filter((attachment) => attachment.data !== undefined || attachment.encoded !== undefined).map((attachment) => attachment.context),
    ];
    const encryption: EncryptionState = !this.encryptedSeen
      ? 'not-encrypted'
      : shownContexts.every((context) => context.encryption !== undefined) && this.decryptions > 0
        ? 'encrypted'
        : this.decryptions === 0 && shownContexts.length === 0
          ? 'encrypted'
          : 'partially-encrypted';
    const signatureGroups = this.groups.map(({ id }) => ({ id, coversWholeMessage: shownContexts.length > 0 && shownContexts.every((context) => context.signatureGroups.includes(id)) }));
    const everythingSigned = shownContexts.length > 0 && shownContexts.every((context) => context.signatureGroups.some((group) => goodGroups.has(group)));
    const signature: SignatureState =
      signers.length === 0
        ? 'not-signed'
        : signers.some((signer) => signer.status === 'bad')
          ? 'bad'
          : goodGroups.size === 0
            ? 'unverified'
            : everythingSigned
              ? 'signed'
              : 'partially-signed';

    const parts = this.encryptedSeen ? all.filter((part) => part.encrypted) : all;
    const unprotectedParts = this.encryptedSeen ? all.filter((part) => !part.encrypted) : [];
    if (unprotectedParts.length > 0 || encryption === 'partially-encrypted' || signature === 'partially-signed') {
      this.warn('UNPROTECTED_PARTS', 'Parts of this mail are not protected like the rest; they are shown apart and labelled.');
    }
    // The root encryption (REPLY): the mail is encrypted as a whole and its body came out of exactly
    // one decryption; any second body decryption (nested or side by side) means there is none.
    const [onlyBodyDecryption] = this.bodyDecryptions;
    const rootEncryption =
      encryption === 'encrypted' && this.bodyDecryptions.size === 1 && parts.length > 0 && parts.every((part) => part.protection.encryption === onlyBodyDecryption) ? onlyBodyDecryption : undefined;
    const subject = root ? headerValue(root.headers, 'subject') : undefined;
    return {
      parts,
      unprotectedParts,
      encryption,
      signature,
      signers,
      protectedSubject: this.protectedSubject,
      subject: subject === undefined ? undefined : decodeHeaderText(subject),
      fromAddresses: this.fromAddresses,
      attachments,
      offeredKeys: this.offeredKeys,
      errors: this.errors,
      warnings: this.warnings,
      encryptedParts: { count: this.decryptions, root: rootEncryption },
      signatureGroups,
    };
  }
}

function describeFailure(code: SigillErrorCode, keyIDs: string[] | undefined, detail: string | undefined): string {
  switch (code) {
    case 'NOT_ENCRYPTED_FOR_US':
      return keyIDs?.length
        ? `There is no secret key for this message. It was encrypted to the key ID${keyIDs.length > 1 ? 's' : ''} ${keyIDs.join(', ')}.`
        : `There is no secret key for this message${detail ? ` (${detail})` : ''}.`;
    case 'KEY_LOCKED':
      return 'The secret key for this message is locked. Unlock it to read the message.';
    case 'BAD_PASSPHRASE':
      return 'The passphrase was wrong. Try again.';
    case 'CANCELLED':
      return 'Unlocking the key was cancelled. Try again to read the message.';
    case 'INTEGRITY_FAILURE':
    case 'NO_INTEGRITY_PROTECTION':
      return `${errorMessages[code]} Nothing of it is shown.`;
    case 'UNSUPPORTED_ALGORITHM':
      return `The message uses an algorithm Sigill does not support${detail ? ` (${detail})` : ''}.`;
    default:
      return errorMessages[code];
  }
}

function isLegacyDisplay(entity: MimeEntity): boolean {
  const type = entity.contentType.value;
  if (type === 'text/rfc822-headers') return true;
  return (type === 'text/plain' && (entity.contentType.params['protected-headers'] !== undefined || entity.contentType.params['hp-legacy-display'] === '1'));
}

function mentionsOpenpgp(entity: MimeEntity): boolean {
  const type = entity.contentType.value;
  if (type === 'multipart/encrypted' || type === 'multipart/signed') return true;
  if (entity.children.length > 0) return entity.children.some(mentionsOpenpgp);
  if (type !== 'text/plain' && type !== 'text/html') return false;
  // 7bit, 8bit and quoted-printable keep the marker as it is; base64 is decoded (the first MiB) to look.
  const head = entity.body.subarray(0, 1 << 20);
  const encoding = (headerValue(entity.headers, 'content-transfer-encoding') ?? '').trim().toLowerCase();
  const bytes = encoding === 'base64' ? (decodeBase64Native(head, { prefix: true }) ?? head) : head;
  return new TextDecoder('latin1').decode(bytes).includes('-----BEGIN PGP');
}

/**
 * The decoded size of a stored body, estimated without reading it (for a deferred attachment, which is
 * listed with the size of its ciphertext): base64 carries 3 octets in 4 characters, its lines 76
 * characters and a line break.
 */
function encodedSize(entity: MimeEntity): number {
  const size = bodySize(entity);
  const base64 = /base64/i.test(headerValue(entity.headers, 'content-transfer-encoding') ?? '');
  return base64 ? Math.floor(((size * 76) / 78) * 0.75) : size;
}

/** OpenPGP binary data starts with a packet header: bit 7 set (RFC 9580 §4.2). */
function looksBinaryOpenpgp(bytes: Uint8Array): boolean {
  return bytes.length > 0 && ((bytes[0] as number) & 0x80) !== 0;
}

const types: Record<string, string> = {
  txt: 'text/plain', pdf: 'application/pdf', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', zip: 'application/zip',
  html: 'text/html', htm: 'text/html', doc: 'application/msword', docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  odt: 'application/vnd.oasis.opendocument.text', csv: 'text/csv', json: 'application/json', xml: 'application/xml', bin: 'application/octet-stream',
};

/** The type of a decrypted attachment, from its name (the outer type only says "encrypted"). */
export function guessType(name: string): string {
  const extension = /\.([a-z0-9]{1,8})$/i.exec(name)?.[1]?.toLowerCase();
  return (extension && types[extension]) ?? 'application/octet-stream';
}
