/**
 * The read path in the background: a displayed message's raw bytes (`messages.getRaw` with
 * `decrypt: false`, never `getFull`, whose default decryption drops or blanks PGP parts) go through
 * the core's `read()` with the keyring's keys, and the view model is kept per message for the
 * display script (the content, shown in place of the body) and the status popup (everything else).
 * The status goes to the message display action (badge and title), never into the body (SIG-UI).
 *
 * Mail without any OpenPGP content is recognised by a few native string searches over the raw message
 * and left as Thunderbird shows it.
 */
import {
  attachedKeyCandidates,
  autocryptCandidates,
  autocryptFieldValues,
  decodeAttachment,
  formatFingerprint,
  isSigillError,
  quoteForReply,
  read,
  readAttachment,
  SigillError,
  type DecryptionKeyRequest,
  type DiscoveredKey,
  type DiscoveryResult,
  type KeyDiscovery,
  type Keyring,
  type ReadOptions,
  type ReadResult,
  type Signer,
  type VerificationKeyRequest,
} from '../../src/core/index.ts';
import type { MessageSenderInfo, ReadBrowserApi } from '../platform/browser.ts';
import { keyChangeWarningView } from './discovery.ts';
import type { ImportReportView, KeyView, PromptReason, ReadRequestName, ReplyEnvelope, RequestOf, ResponseOf } from '../shared/messages.ts';
import type { AttachmentSummary, DisplayContent, MessageView, OfferedKeyView, SignerView } from '../shared/read-view.ts';

type SecretKey = Awaited<ReturnType<NonNullable<ReadOptions['decryptionKeys']>>>[number];
type Certificate = Awaited<ReturnType<NonNullable<ReadOptions['verificationKeys']>>>[number];

/** What the read path needs of the keyring service (service.ts). */
export interface ReadKeyring {
  keyring: Keyring;
  /** An own key unlocked, through the passphrase prompt when it is locked (CANCELLED, BAD_PASSPHRASE ...). */
  unlockedKey(fingerprint: string, reason: PromptReason): Promise<SecretKey>;
  view(record: NonNullable<ReturnType<Keyring['record']>>): KeyView;
  reportView(report: Awaited<ReturnType<Keyring['importKeys']>>): ImportReportView;
  /** Key discovery over the same keyring (KEY-SWAP): keys arriving in mail go through it. */
  readonly keyDiscovery?: KeyDiscovery | undefined;
}

/**
 * A key that came with a message: attached to it (found by `read()`) or in its Autocrypt header
 * (Autocrypt Level 1). `candidate` is the key as discovery judged it for the sender's address (user IDs
 * naming that address only); a key that names someone else has none and can only be imported as it is.
 */
interface CollectedKey {
  source: 'attachment' | 'autocrypt';
  armored: string;
  fingerprint: string;
  userIDs: string[];
  /** The attachment name, 'body', or 'Autocrypt header'. */
  from: string;
  encrypted: boolean;
  /** The sender's address the key was judged for. */
  address: string | undefined;
  candidate?: DiscoveredKey;
}

export interface ReadDependencies {
  api: ReadBrowserApi;
  keys: ReadKeyring;
  /** The HTML policy with DOMPurify bound to the background's window; without it HTML is shown as text. */
  sanitizeHtml?: (html: string) => string;
  /** Turns bytes into a URL `downloads.download` can save (a blob: URL in Thunderbird), and releases it. */
  objectURL: { create(data: Blob): string; revoke(url: string): void };
  /** Status words for the badge and the title, from _locales. */
  translate: (name: string, substitutions?: string | string[]) => string;
  /** Mail larger than this is not read (it is refused with TOO_LARGE); default 128 MiB, the core's own bound. */
  maxMessageSize?: number;
}

/** How many views are kept (each may hold decrypted text; attachments are decrypted only when saved). */
const CACHED_VIEWS = 16;
const DEFAULT_MAX_MESSAGE_SIZE = 128 * 1024 * 1024;
/**
 * Mail up to this size (as Thunderbird stored it) is fetched as a binary string (see `#raw`): the string and its
 * bytes are in the background at once for a moment, which is bounded here (the message with a 10 MiB attachment
 * is 14 MiB); larger mail comes as a File and is read in windows.
 */
const BINARY_STRING_UP_TO = 16 * 1024 * 1024;
/** Chars of a binary string turned into bytes per native step (a multiple of 3: no base64 padding inside). */
const BINARY_STRING_WINDOW = 3 * 256 * 1024;
/** How much of a raw message is searched for its header section (Autocrypt, From). */
const HEADER_LIMIT = 256 * 1024;
/** The key ID of an anonymous recipient (RFC 9580 §5.1): any own key may be the one. */
const WILDCARD_KEY_ID = '0000000000000000';

const ARMOR_OR_PGP_PART = /-----BEGIN PGP |multipart\/(?:encrypted|signed)|application\/pgp|\.(?:pgp|gpg|asc|sig)\b/i;
const ARMOR_IN_BASE64 = /LS0tLS1CRUdJTiBQR1Ag|LS0tQkVHSU4gUEdQ|LS0tLUJFR0lOIFBH/;

/**
 * Whether a raw mail can hold OpenPGP content at all: armor, PGP/MIME, OpenPGP media types, or names of
 * encrypted or signature attachments. Armor inside a base64-encoded text part is found through the
 * base64 of "-----BEGIN PGP " at its three alignments (line breaks of the encoding removed first).
 * Native string searches only: a plain message costs a few milliseconds even when it is large.
 */
export function mayHoldOpenpgp(raw: string): boolean {
  if (ARMOR_OR_PGP_PART.test(raw)) return true;
  if (!/base64/i.test(raw)) return false;
  return ARMOR_IN_BASE64.test(raw.replace(/[\r\n]+/g, ''));
}

/**
 * mayHoldOpenpgp over the raw bytes, a window at a time (1 MiB, overlapping by 1 KiB so that nothing the
 * patterns look for, line breaks included, falls between two windows): no text copy of the whole message is
 * made, so a large plain message costs no more memory than its bytes. Same answers as mayHoldOpenpgp:
 * "base64" counts once it was seen (a part's header comes before its encoded body).
 */
export function mayHoldOpenpgpBytes(raw: Uint8Array, windowSize = 1 << 20): boolean {
  const decoder = new TextDecoder('latin1');
  const scan = new OpenpgpScan();
  for (let start = 0; ; start += windowSize - overlapOf(windowSize)) {
    if (scan.found(decoder.decode(raw.subarray(start, start + windowSize)))) return true;
    if (start + windowSize >= raw.length) return false;
  }
}

/** mayHoldOpenpgpBytes over a Blob (the File of `messages.getRaw`): only one window is ever in memory. */
export async function mayHoldOpenpgpBlob(raw: Blob, windowSize = 1 << 20): Promise<boolean> {
  const decoder = new TextDecoder('latin1');
  const scan = new OpenpgpScan();
  for (let start = 0; ; start += windowSize - overlapOf(windowSize)) {
    if (scan.found(decoder.decode(await raw.slice(start, start + windowSize).arrayBuffer()))) return true;
    if (start + windowSize >= raw.size) return false;
  }
}

const overlapOf = (windowSize: number): number => Math.min(1024, windowSize >> 1);

/** The window-by-window state of mayHoldOpenpgp. */
class OpenpgpScan {
  #base64Seen = false;

  found(text: string): boolean {
    if (ARMOR_OR_PGP_PART.test(text)) return true;
    this.#base64Seen ||= /base64/i.test(text);
    return this.#base64Seen && ARMOR_IN_BASE64.test(text.replace(/[\r\n]+/g, ''));
  }
}

/**
 * One message's read, made once and kept. A read started when the message was only selected (before
 * Thunderbird has loaded it into the pane) may not ask for a passphrase: where it would, it stops, and the
 * message is read again when it is displayed.
 */
interface ReadEntry {
  made: Promise<ReadResult | undefined | typeof STOPPED_AT_PROMPT>;
  /** The message is displayed (or one of Sigill's pages asks about it): from then on its read may prompt. */
  displayed: boolean;
  /** Set when a read of a message not displayed needed a locked key. */
  stopped: boolean;
}

const STOPPED_AT_PROMPT = Symbol('stopped at the passphrase prompt');

type Base64Setter = (this: Uint8Array, text: string) => { read: number; written: number };

/**
 * A binary string (one char per octet, as getRaw's BinaryString) as bytes. Natively where Thunderbird has
 * `Uint8Array.prototype.setFromBase64` (140+): `btoa` and `setFromBase64` a window at a time, two native calls per
 * 768 KiB instead of a JavaScript step per octet (interpreted without the baseline JIT). Elsewhere, or should a
 * char above 0xFF appear (btoa refuses it), one loop keeping each char's low octet, as Thunderbird's own File does.
 * `setFromBase64`: only for tests on runtimes without it.
 */
export function binaryStringBytes(raw: string, setFromBase64?: Base64Setter): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(raw.length);
  const setter = setFromBase64 ?? (bytes as unknown as { setFromBase64?: Base64Setter }).setFromBase64;
  if (setter !== undefined) {
    try {
      for (let at = 0; at < raw.length; at += BINARY_STRING_WINDOW) {
        const { written } = setter.call(bytes.subarray(at), btoa(raw.slice(at, at + BINARY_STRING_WINDOW)));
        if (written !== Math.min(BINARY_STRING_WINDOW, raw.length - at)) throw new Error('short base64 window');
      }
      return bytes;
    } catch {
      // Not a binary string after all: the loop below gives what Thunderbird's File would have held.
    }
  }
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i) & 0xff;
  return bytes;
}

/**
 * A binary string (getRaw's BinaryString) as a Blob of its octets. Mail is mostly 7-bit (an armored PGP/MIME
 * message always is), and then the Blob's own UTF-8 encoding of the string, one native pass, gives exactly its
 * octets: UTF-8 writes U+0000–U+007F as themselves, and any char from U+0080 on takes two or more octets, which
 * the size shows. Otherwise (8-bit mail) binaryStringBytes. Profiled in Thunderbird: `btoa` and `setFromBase64`
 * of the 14 MiB message took about 55 ms of the read (docs/architecture.md).
 */
export function binaryStringBlob(raw: string): Blob {
  const utf8 = new Blob([raw]);
  return utf8.size === raw.length ? utf8 : new Blob([binaryStringBytes(raw)]);
}

function latin1(bytes: Uint8Array): string {
  return new TextDecoder('latin1').decode(bytes);
}

export class ReadService {
  readonly #deps: ReadDependencies;
  /** messageId → the read being made or made (in insertion order: the oldest is dropped first). */
  readonly #views = new Map<number, ReadEntry>();
  /** The message last selected alone in a mail tab whose message pane shows it, not read yet. */
  #selected: number | undefined;
  /** A read of a selected message is running (one at a time: quick selections do not pile up decryptions). */
  #reading = false;
  /** Own key fingerprint → every key ID of it (primary and subkeys), upper case. */
  readonly #ownKeyIDs = new Map<string, string[]>();
  /** Messages shown decrypted (remembered after their view left the cache, for replies). */
  readonly #shownEncrypted = new Set<number>();
  /** Composer tabs seen already (their state changes again and again; the quote is set once). */
  readonly #composers = new Set<number>();
  /** messageId → the keys that came with it (attached, Autocrypt), collected once per message. */
  readonly #collected = new Map<number, Promise<CollectedKey[]>>();
  /** messageId → its header section, noted when the message was read. */
  readonly #headers = new Map<number, string>();
  /** `${messageId}/${index}` → an encrypted attachment's size once it was decrypted (saved). */
  readonly #decryptedSizes = new Map<string, number>();

  constructor(deps: ReadDependencies) {
    this.#deps = deps;
  }

  /**
   * Registers the message display script. A background that Thunderbird suspended and started again may
   * find it registered already; the script draws at most once per message pane, so a second copy is harmless.
   */
  async start(): Promise<void> {
    const { api } = this.#deps;
    const registered = await api.scriptingMessageDisplay.getRegisteredScripts();
    if (!registered.some((script) => script.id === 'sigill-display')) {
      await api.scriptingMessageDisplay.registerScripts([{ id: 'sigill-display', js: ['display/display.js'] }]);
    }
  }

  /** Answers a read.* request; `sender` decides what the display script may ask (its own tab's message only). */
  async call<N extends ReadRequestName>(name: N, payload: RequestOf<N>, sender: MessageSenderInfo, extensionOrigin: string): Promise<ReplyEnvelope<N>> {
    try {
      const fromPage = typeof sender.url === 'string' && sender.url.startsWith(extensionOrigin);
      if (name !== 'read.display' && !fromPage) throw new SigillError('BAD_INPUT', { detail: `${name} is only answered to Sigill's own pages` });
      const value = await this.#answer(name, (payload ?? {}) as RequestOf<N>, sender);
      return { ok: true, value };
    } catch (error) {
      if (isSigillError(error)) {
        return { ok: false, error: { code: error.code, message: error.message, ...(error.detail === undefined ? {} : { detail: error.detail }) } };
      }
      return { ok: false, error: { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) } };
    }
  }

  async #answer<N extends ReadRequestName>(name: N, payload: RequestOf<N>, sender: MessageSenderInfo): Promise<ResponseOf<N>> {
    type Answer = Promise<ResponseOf<N>>;
    switch (name) {
      case 'read.display': {
        const tabId = sender.tab?.id;
        if (tabId === undefined) throw new SigillError('BAD_INPUT', { detail: 'read.display comes from a message display script' });
        return this.display(tabId) as Answer;
      }
      case 'read.status': {
        const { tabId } = payload as RequestOf<'read.status'>;
        const messageId = await this.#displayedMessage(integer(tabId, 'tabId'));
        return (messageId === undefined ? null : this.view(messageId)) as Answer;
      }
      case 'read.retry': {
        const { messageId } = payload as RequestOf<'read.retry'>;
        return this.retry(integer(messageId, 'messageId')) as Answer;
      }
      case 'read.saveAttachment': {
        const { messageId, index } = payload as RequestOf<'read.saveAttachment'>;
        return this.saveAttachment(integer(messageId, 'messageId'), integer(index, 'index')) as Answer;
      }
      case 'read.importKey': {
        const { messageId, index, accept } = payload as RequestOf<'read.importKey'>;
        return this.importKey(integer(messageId, 'messageId'), integer(index, 'index'), accept === true) as Answer;
      }
      case 'read.wasEncrypted': {
        const { messageId } = payload as RequestOf<'read.wasEncrypted'>;
        return this.wasEncrypted(integer(messageId, 'messageId')) as Answer;
      }
      default:
        throw new SigillError('BAD_INPUT', { detail: `unknown request ${String(name)}` });
    }
  }

  /** `messageDisplay.onMessagesDisplayed`: reads the message at once and sets the badge. */
  displayed(tab: { id?: number }, messages: Array<{ id: number }>): void {
    const [message] = messages;
    if (tab.id === undefined || message === undefined || messages.length !== 1) return;
    void this.#badge(tab.id, message.id);
  }

  /**
   * `mailTabs.onSelectedMessagesChanged`: one message selected in a list whose message pane is shown. It fires
   * before Thunderbird loads the message into the pane, which for a large PGP/MIME message takes it seconds
   * (docs/reading-mail.md, "Thunderbird's own load"); reading it now lets Sigill's work overlap that load. Such a
   * read never asks for a passphrase (the message is not displayed yet): with the key locked it stops there and
   * the message is read again, prompting, when it is displayed. One such read runs at a time; while it runs,
   * only the last selection waits for its turn.
   */
  async selected(tab: { id?: number }, messages: Array<{ id: number }>): Promise<void> {
    const [message] = messages;
    this.#selected = undefined;
    if (tab.id === undefined || message === undefined || messages.length !== 1) return;
    const paneShown = await this.#deps.api.mailTabs.get(tab.id).then((mailTab) => mailTab.messagePaneVisible !== false, () => false);
    if (!paneShown) return;
    // The button still carries the previous message's status until this one is displayed and read: never
    // let it vouch for the wrong message (the display sets this one's badge, #badge).
    void this.#badgeReading(tab.id, message.id);
    if (this.#views.get(message.id)?.stopped === false) return;
    this.#selected = message.id;
    if (this.#reading) return;
    this.#reading = true;
    try {
      while (this.#selected !== undefined) {
        const messageId = this.#selected;
        this.#selected = undefined;
        if (this.#views.get(messageId)?.stopped !== false) await this.#entry(messageId, { displayed: false }).made;
      }
    } finally {
      this.#reading = false;
    }
  }

  /**
   * A composer opened (its first `compose.onComposeStateChanged`): a reply to or forward of mail that was encrypted gets as its
   * quote only the decrypted text that was shown, and only from the mail's one root encryption (REPLY,
   * "Re: What's up Johnny?"); Thunderbird's own quote of such mail (ciphertext, or attacker parts around it)
   * is replaced. Plain mail is left to Thunderbird.
   */
  async composeOpened(tab: { id?: number; type?: string }): Promise<void> {
    if (tab.id === undefined || (tab.type !== undefined && tab.type !== 'messageCompose') || this.#composers.has(tab.id)) return;
    this.#composers.add(tab.id);
    const { api } = this.#deps;
    const details = await api.replyCompose.getComposeDetails(tab.id);
    if (details.relatedMessageId === undefined || (details.type !== 'reply' && details.type !== 'forward')) return;
    const result = await this.#result(details.relatedMessageId);
    if (result === undefined || (result.encryption === 'not-encrypted' && result.encryptedParts.count === 0 && result.errors.length === 0)) return;
    const quote = quoteForReply(result);
    this.#shownEncrypted.add(details.relatedMessageId);
    const text = quote.text === '' ? '' : `\n\n${quote.text}\n`;
    await api.replyCompose.setComposeDetails(tab.id, details.isPlainText === false ? { body: quoteHtml(quote.text) } : { plainTextBody: text });
  }

  // ---- the requests ----

  /** The content the display script draws for the message in `tabId` (no parts: leave the body alone). */
  async display(tabId: number): Promise<DisplayContent> {
    const messageId = await this.#displayedMessage(tabId);
    if (messageId === undefined) return { parts: [], protectedSubject: undefined };
    const result = await this.#result(messageId);
    // The tab may have moved on to another message while this one was read: its content is not for that one.
    if ((await this.#displayedMessage(tabId)) !== messageId) return { parts: [], protectedSubject: undefined };
    void this.#badge(tabId, messageId);
    // Only what came out of OpenPGP replaces the body: decrypted content, or a verified signed text.
    if (result === undefined || !result.parts.some((part) => part.encrypted || part.source !== 'plain')) {
      return { parts: [], protectedSubject: undefined };
    }
    if (result.parts.some((part) => part.encrypted)) this.#shownEncrypted.add(messageId);
    return { parts: result.parts, protectedSubject: result.protectedSubject };
  }

  async view(messageId: number): Promise<MessageView> {
    const result = await this.#result(messageId);
    return this.#view(messageId, result, await this.#collectedKeys(messageId, result));
  }

  async retry(messageId: number): Promise<MessageView> {
    this.#views.delete(messageId);
    this.#collected.delete(messageId);
    const view = await this.view(messageId);
    await this.#redraw(messageId);
    return view;
  }

  /** Redraws every tab that shows the message: its badge, and its display script asks again. */
  async #redraw(messageId: number): Promise<void> {
    for (const tab of await this.#deps.api.tabs.query({ active: true, currentWindow: true })) {
      if (tab.id === undefined || (await this.#displayedMessage(tab.id)) !== messageId) continue;
      void this.#badge(tab.id, messageId);
      await this.#deps.api.tabs.sendMessage(tab.id, { sigill: 'display.refresh' }).catch(() => undefined);
    }
  }

  async saveAttachment(messageId: number, index: number): Promise<{ fileName: string; size: number }> {
    const result = await this.#result(messageId);
    const listed = result?.attachments[index];
    if (result === undefined || listed === undefined) throw new SigillError('BAD_INPUT', { detail: `message ${messageId} has no attachment ${index}` });
    let attachment = listed;
    if (attachment.data === undefined && attachment.deferred === true) {
      attachment = (await readAttachment(await this.#raw(messageId), index, this.#readOptions())) ?? listed;
    }
    if (attachment.error !== undefined) throw new SigillError(attachment.error.code, { detail: attachment.name });
    // A large attachment of the decrypted body is decoded only now, when it is saved (read() left it encoded).
    const data = attachment.data ?? (attachment.encoded === undefined ? undefined : await decodeAttachment(attachment.encoded));
    if (data === undefined) throw new SigillError('NOT_COMMITTED', { detail: attachment.name });
    const size = data instanceof Blob ? data.size : data.byteLength;
    this.#decryptedSizes.set(`${messageId}/${index}`, size);
    const { api, objectURL } = this.#deps;
    // A blob: URL of the background: the bytes go from memory to the file the user's download settings choose,
    // never into a mail folder or over the network. A large attachment is a Blob already (no copy is made).
    const blob = data instanceof Blob ? new Blob([data], { type: 'application/octet-stream' }) : new Blob([data as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' });
    const url = objectURL.create(blob);
    try {
      await api.downloads.download({ url, filename: attachment.name, conflictAction: 'uniquify', saveAs: false });
    } finally {
      // downloads.download resolves when the download has started; the URL stays valid for it a while.
      setTimeout(() => objectURL.revoke(url), 60_000);
    }
    return { fileName: attachment.name, size };
  }

  /**
   * Imports a key that came with the message: as undecided, or accepted when `accept` — never over a
   * key already accepted for the address: a different key then stays undecided with a key-change warning
   * (KEY-SWAP), and the old key stays in use until the user decides.
   */
  async importKey(messageId: number, index: number, accept: boolean): Promise<ResponseOf<'read.importKey'>> {
    const report = await this.#importKey(messageId, index, accept);
    if (report.imported.length > 0) {
      // The message's signatures were checked without this key: read it again, so that a signature by the
      // key just imported is verified and the status and badge say who signed.
      this.#views.delete(messageId);
      await this.#redraw(messageId);
    }
    return report;
  }

  async #importKey(messageId: number, index: number, accept: boolean): Promise<ResponseOf<'read.importKey'>> {
    const collected = (await this.#collectedKeys(messageId, await this.#result(messageId)))[index];
    if (collected === undefined) throw new SigillError('BAD_INPUT', { detail: `message ${messageId} offers no key ${index}` });
    const { keyring, keyDiscovery } = this.#deps.keys;
    if (collected.candidate === undefined || keyDiscovery === undefined) {
      // A key that does not name the sender: imported as it is, undecided, to be judged in the key list.
      return this.#deps.keys.reportView(await keyring.importKeys(collected.armored, { acceptance: 'undecided' }));
    }
    const outcome = await keyDiscovery.importCandidate(collected.candidate);
    const fingerprint = outcome.key.fingerprint;
    const warning = keyDiscovery.warnings(outcome.key.address).find((open) => open.offered.fingerprint === fingerprint);
    const record = keyring.record(fingerprint);
    // Accepting never lowers a verified key; an undecided one becomes accepted, unless it would replace an accepted key.
    if (accept && warning === undefined && record !== undefined && record.acceptance === 'undecided') await keyring.setAcceptance(fingerprint, 'accepted');
    const stored = keyring.record(fingerprint);
    if (stored === undefined) throw new SigillError('KEY_NOT_FOUND', { detail: fingerprint });
    return {
      imported: [{ result: outcome.stored ?? 'updated', key: this.#deps.keys.view(stored) }],
      failed: [],
      ...(warning === undefined ? {} : { warning: keyChangeWarningView(keyring, warning) }),
    };
  }

  async wasEncrypted(messageId: number): Promise<boolean> {
    if (this.#shownEncrypted.has(messageId)) return true;
    const cached = this.#views.get(messageId);
    const result = cached === undefined ? undefined : await cached.made;
    return result !== undefined && result !== STOPPED_AT_PROMPT && result.encryption !== 'not-encrypted';
  }

  // ---- keys arriving in mail ----

  /** The keys that came with a message, collected once (see #collect). */
  #collectedKeys(messageId: number, result: ReadResult | undefined): Promise<CollectedKey[]> {
    let collected = this.#collected.get(messageId);
    if (collected === undefined) {
      collected = this.#collect(messageId, result).catch((error: unknown) => {
        console.warn('sigill: the keys that came with a message could not be looked at', error);
        return [];
      });
      this.#collected.set(messageId, collected);
      while (this.#collected.size > CACHED_VIEWS) this.#collected.delete(this.#collected.keys().next().value as number);
    }
    return collected;
  }

  /**
   * Keys attached to the message and the key of its Autocrypt header, judged for the sender's address
   * like every discovered key (KEY-BAD, only the user IDs naming the address). The Autocrypt key is
   * collected as undecided at once (Autocrypt Level 1 keeps the sender's last key); an attached key is
   * imported only when the user says so. Either way a key that differs from one the user accepted for
   * the address becomes a key-change warning and the accepted key stays in use (KEY-SWAP); nothing is
   * ever accepted here.
   */
  async #collect(messageId: number, result: ReadResult | undefined): Promise<CollectedKey[]> {
    const discovery = this.#deps.keys.keyDiscovery;
    const headers = this.#headers.get(messageId) ?? (await this.#headerSection(messageId));
    const from = result?.fromAddresses[0] ?? fromAddressOf(headers);
    const collected: CollectedKey[] = (result?.offeredKeys ?? []).map((offered) => ({
      source: 'attachment',
      armored: offered.armored,
      fingerprint: offered.fingerprint.toLowerCase(),
      userIDs: offered.userIDs,
      from: offered.from,
      encrypted: offered.encrypted,
      address: from,
    }));
    if (discovery === undefined || from === undefined) return collected;
    const attached: DiscoveryResult[] = [];
    for (const entry of collected) {
      const judged = await attachedKeyCandidates({ data: entry.armored, from, fileName: entry.from });
      const candidate = judged.keys.find((key) => key.fingerprint === entry.fingerprint);
      if (candidate !== undefined) entry.candidate = candidate;
      attached.push(judged);
    }
    // 'changes': a held key is refreshed and a rival of an accepted key is recorded with a warning; a new key waits for the user.
    if (attached.length > 0) await discovery.receive(attached, { store: 'changes' });
    if (autocryptFieldValues(headers).length > 0) {
      const autocrypt = await autocryptCandidates({ headers, from });
      await discovery.receive([autocrypt], { store: 'all' });
      for (const key of autocrypt.keys) {
        if (collected.some((entry) => entry.fingerprint === key.fingerprint)) continue;
        collected.push({ source: 'autocrypt', armored: key.certificate, fingerprint: key.fingerprint, userIDs: key.userIDs, from: 'Autocrypt header', encrypted: false, address: from, candidate: key });
      }
    }
    return collected;
  }

  /** The message's header section (up to the first empty line), read again from the raw message; at most 256 KiB. */
  async #headerSection(messageId: number): Promise<string> {
    const raw = await this.#deps.api.messages.getRaw(messageId);
    return headerSectionOf(typeof raw === 'string' ? raw.slice(0, HEADER_LIMIT) : latin1(new Uint8Array(await raw.slice(0, HEADER_LIMIT).arrayBuffer())));
  }

  // ---- reading ----

  async #displayedMessage(tabId: number): Promise<number | undefined> {
    const messages = await this.#deps.api.messageDisplay.getDisplayedMessages(tabId);
    return messages.length === 1 ? messages[0]?.id : undefined;
  }

  /**
   * The raw message as a Blob. Up to BINARY_STRING_UP_TO octets it is fetched as a binary string and turned
   * into bytes natively here: Thunderbird makes getRaw's File from that same string with a JavaScript loop, one
   * char at a time, in its parent process, which without the baseline JIT (Debian's prefs) takes about 0.5 s
   * for 18 MiB (ext-messages.js, `createFileFromBinaryString`). Larger mail comes as the File, kept as it is and
   * read in windows by the core (its bytes stay with Thunderbird until a window is asked for), so its size is
   * known, and a message over the limit refused, before anything of it is in the background.
   */
  async #raw(messageId: number): Promise<Blob> {
    const { messages } = this.#deps.api;
    const limit = this.#deps.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    const stored = await messages.get(messageId).then(
      (header) => header.size,
      () => undefined,
    );
    const format = stored !== undefined && stored <= Math.min(limit, BINARY_STRING_UP_TO) ? 'BinaryString' : 'File';
    const raw = await messages.getRaw(messageId, { format });
    if (typeof raw === 'string') {
      if (raw.length > limit) throw new SigillError('TOO_LARGE', { detail: `the message is larger than ${limit} bytes` });
      return binaryStringBlob(raw);
    }
    // The size is known before anything is read: a huge message is refused, not loaded.
    if (raw.size > limit) throw new SigillError('TOO_LARGE', { detail: `the message is larger than ${limit} bytes` });
    return raw;
  }

  /**
   * The core's view of a message the user has displayed (or asks about in Sigill's pages), made once and kept;
   * undefined for mail without OpenPGP content. May ask for the passphrase. A read begun on selection is
   * taken over: from now on it may prompt, and if it had stopped at the prompt already, it is made again.
   */
  async #result(messageId: number): Promise<ReadResult | undefined> {
    for (;;) {
      const entry = this.#views.get(messageId) ?? this.#entry(messageId, { displayed: true });
      entry.displayed = true;
      const result = await entry.made;
      if (result !== STOPPED_AT_PROMPT) return result;
      if (this.#views.get(messageId) === entry) this.#views.delete(messageId);
    }
  }

  /** Starts a read of the message and keeps it (the oldest of more than CACHED_VIEWS is dropped). */
  #entry(messageId: number, { displayed }: { displayed: boolean }): ReadEntry {
    const entry: ReadEntry = { made: Promise.resolve(undefined), displayed, stopped: false };
    entry.made = this.#read(messageId, entry).then((result) => (entry.stopped ? STOPPED_AT_PROMPT : result));
    this.#views.set(messageId, entry);
    // A view that failed for a passing reason (prompt cancelled) is kept, so that the popup can show why and offer to retry.
    while (this.#views.size > CACHED_VIEWS) this.#views.delete(this.#views.keys().next().value as number);
    return entry;
  }

  async #read(messageId: number, entry: ReadEntry): Promise<ReadResult | undefined> {
    let raw: Blob;
    try {
      raw = await this.#raw(messageId);
    } catch (error) {
      return failedResult(error);
    }
    // Kept for the keys that came with the message (Autocrypt, From), so the message is not read twice.
    this.#headers.set(messageId, headerSectionOf(latin1(new Uint8Array(await raw.slice(0, HEADER_LIMIT).arrayBuffer()))));
    while (this.#headers.size > CACHED_VIEWS) this.#headers.delete(this.#headers.keys().next().value as number);
    if (!(await mayHoldOpenpgpBlob(raw))) return undefined;
    return read(raw, { ...this.#readOptions(entry), attachments: 'defer' });
  }

  /** `entry`: the read of a message that may not be displayed yet (it prompts only once it is). */
  #readOptions(entry?: ReadEntry): ReadOptions {
    return {
      decryptionKeys: (request) => this.#decryptionKeys(request, entry),
      verificationKeys: (request) => this.#verificationKeys(request),
      ...(this.#deps.sanitizeHtml === undefined ? {} : { sanitizeHtml: this.#deps.sanitizeHtml }),
    };
  }

  async #keyIDsOf(fingerprint: string): Promise<string[]> {
    let ids = this.#ownKeyIDs.get(fingerprint);
    if (ids === undefined) {
      const key = await this.#deps.keys.keyring.secretKey(fingerprint);
      ids = key.getKeyIDs().map((id) => id.toHex().toUpperCase());
      this.#ownKeyIDs.set(fingerprint, ids);
    }
    return ids;
  }

  /**
   * The own key the message was encrypted to, unlocked (through the prompt when it is locked, and only for
   * a message that is displayed: a read of a message only selected stops there).
   */
  async #decryptionKeys({ keyIDs }: DecryptionKeyRequest, entry?: ReadEntry): Promise<SecretKey[]> {
    const wanted = new Set(keyIDs.map((id) => id.toUpperCase()));
    const { keyring } = this.#deps.keys;
    const matching: string[] = [];
    let unreadable: unknown;
    for (const record of keyring.ownKeys()) {
      let ids: string[];
      try {
        ids = await this.#keyIDsOf(record.fingerprint);
      } catch (error) {
        unreadable ??= error;
        continue;
      }
      if (wanted.has(WILDCARD_KEY_ID) || ids.some((id) => wanted.has(id))) matching.push(record.fingerprint);
    }
    // An own key that could not be read might be the one: say so, never "not encrypted to your keys".
    if (matching.length === 0 && unreadable !== undefined) throw unreadable;
    if (matching.length === 0) return [];
    // One that is unlocked already, else ask for the first one's passphrase (one prompt, not one per key).
    const unlocked = matching.map((fingerprint) => keyring.unlockedKey(fingerprint)).filter((key) => key !== undefined);
    if (unlocked.length > 0) return unlocked;
    if (entry !== undefined && !entry.displayed) {
      entry.stopped = true;
      throw new SigillError('KEY_LOCKED', { detail: 'the message is not displayed yet' });
    }
    return [await this.#deps.keys.unlockedKey(matching[0] as string, 'decrypt')];
  }

  /** Certificates for the From addresses and the issuers a signature names; never a rejected one. */
  async #verificationKeys({ keyIDs, fingerprints, addresses }: VerificationKeyRequest): Promise<Certificate[]> {
    const { keyring } = this.#deps.keys;
    const chosen = new Set<string>();
    for (const address of addresses) for (const candidate of keyring.lookup(address).candidates) chosen.add(candidate.record.fingerprint);
    const ids = new Set(keyIDs.map((id) => id.toUpperCase()));
    const prints = new Set(fingerprints.map((print) => print.toUpperCase()));
    if (ids.size > 0 || prints.size > 0) {
      for (const record of keyring.records()) {
        if (ids.has(record.keyID.toUpperCase()) || prints.has(record.fingerprint.toUpperCase())) chosen.add(record.fingerprint);
      }
    }
    const certificates: Certificate[] = [];
    for (const fingerprint of chosen) {
      if (keyring.record(fingerprint)?.acceptance === 'rejected') continue;
      certificates.push(await keyring.publicKey(fingerprint));
    }
    return certificates;
  }

  // ---- the view for the pages, the badge ----

  #signerView(signer: Signer): SignerView {
    const record = this.#deps.keys.keyring.record(signer.fingerprint);
    return {
      status: signer.status,
      userID: signer.userID,
      fingerprint: signer.fingerprint.length === 40 ? formatFingerprint(signer.fingerprint) : signer.fingerprint.toUpperCase(),
      keyID: signer.keyID.toUpperCase(),
      created: signer.created.toISOString(),
      matchesFrom: signer.matchesFrom,
      acceptance: record?.acceptance,
    };
  }

  #view(messageId: number, result: ReadResult | undefined, collected: CollectedKey[]): MessageView {
    const offeredKeys = this.#offeredViews(collected);
    if (result === undefined) {
      return {
        messageId, openpgp: false, encryption: 'not-encrypted', signature: 'not-signed', signers: [], protectedSubject: undefined, subject: undefined,
        parts: [], unprotectedParts: 0, attachments: [], offeredKeys, errors: [], warnings: [], quotable: false,
      };
    }
    const attachments: AttachmentSummary[] = result.attachments.map((attachment, index) => {
      const decryptedSize = this.#decryptedSizes.get(`${messageId}/${index}`);
      return {
        index,
        name: attachment.name,
        contentType: attachment.contentType,
        // A deferred attachment's size is that of its ciphertext until it has been decrypted.
        size: decryptedSize ?? attachment.size,
        sizeOfCiphertext: decryptedSize === undefined && attachment.deferred === true,
        encrypted: attachment.encrypted,
        signed: attachment.signed,
        deferred: attachment.deferred === true,
        detachedSignature: attachment.detachedSignature === undefined ? undefined : this.#detachedSigner(result, attachment.detachedSignature),
        error: attachment.error,
      };
    });
    return {
      messageId,
      openpgp: true,
      encryption: result.encryption,
      signature: result.signature,
      signers: result.signers.map((signer) => this.#signerView(signer)),
      protectedSubject: result.protectedSubject,
      subject: result.subject,
      parts: result.parts,
      unprotectedParts: result.unprotectedParts.length,
      attachments,
      offeredKeys,
      errors: result.errors,
      warnings: result.warnings,
      quotable: quoteForReply(result).fromEncrypted,
    };
  }

  #offeredViews(collected: CollectedKey[]): OfferedKeyView[] {
    const { keyring, keyDiscovery } = this.#deps.keys;
    return collected.map((offered, index) => {
      const fingerprint = offered.fingerprint;
      const addresses = new Set(offered.userIDs.map(addressOf).filter((address) => address !== ''));
      const others = keyring
        .records()
        .filter((record) => record.fingerprint !== fingerprint && record.addresses.some((address) => addresses.has(address)))
        .map((record) => ({ fingerprint: formatFingerprint(record.fingerprint), userID: record.primaryUserID ?? record.userIDs[0] ?? '', acceptance: record.acceptance }));
      const decision = offered.candidate === undefined || keyDiscovery === undefined ? undefined : keyDiscovery.judge(offered.candidate);
      const warning = offered.address === undefined || keyDiscovery === undefined ? undefined : keyDiscovery.warnings(offered.address).find((open) => open.offered.fingerprint === fingerprint);
      return {
        index,
        source: offered.source,
        fingerprint: formatFingerprint(fingerprint),
        userIDs: offered.userIDs,
        from: offered.from,
        encrypted: offered.encrypted,
        acceptance: keyring.record(fingerprint)?.acceptance,
        others,
        namesSender: offered.candidate !== undefined,
        ...(decision === undefined ? {} : { decision: decision.action }),
        ...(warning === undefined ? {} : { keyChange: keyChangeWarningView(keyring, warning) }),
      };
    });
  }

  /** The signer of a detached signature group (the one signature in that group). */
  #detachedSigner(result: ReadResult, group: number): SignerView | undefined {
    const signer = result.signers.find((candidate) => candidate.group === group);
    return signer === undefined ? undefined : this.#signerView(signer);
  }

  async #badge(tabId: number, messageId: number): Promise<void> {
    await this.#showBadge(tabId, async () => {
      const view = await this.view(messageId);
      // Read to the end after the tab moved on: its status belongs to that other message's badge.
      return (await this.#displayedMessage(tabId)) === messageId ? badgeOf(view, this.#deps.translate) : undefined;
    });
  }

  /** While a selected message is loaded and read: a neutral badge, no status yet. */
  async #badgeReading(tabId: number, messageId: number): Promise<void> {
    await this.#showBadge(tabId, async () =>
      // Already displayed (a quick load): the display has set, or is setting, its own badge.
      (await this.#displayedMessage(tabId)) === messageId ? undefined : { text: '…', color: '#5b5b66', title: this.#deps.translate('statusTitle_reading') },
    );
  }

  /** Sets the badge `badge` answers (none: leave it); text, colour and title together, so the button never shows one message's text with another's colour or title. */
  async #showBadge(tabId: number, badge: () => Promise<ReturnType<typeof badgeOf> | undefined>): Promise<void> {
    const { messageDisplayAction } = this.#deps.api;
    try {
      const shown = await badge();
      if (shown === undefined) return;
      await Promise.all([
        messageDisplayAction.setBadgeText({ tabId, text: shown.text }),
        shown.color === undefined ? undefined : messageDisplayAction.setBadgeBackgroundColor({ tabId, color: shown.color }),
        messageDisplayAction.setTitle({ tabId, title: shown.title }),
      ]);
    } catch (error) {
      // The tab may be gone by now; the popup still reads the status on demand.
      console.warn('sigill: the status of a message could not be shown', error);
    }
  }
}

/** The badge: short, one glance; the title says it in words; the popup says everything. */
export function badgeOf(view: MessageView, t: ReadDependencies['translate']): { text: string; color: string | undefined; title: string } {
  if (!view.openpgp) return { text: '', color: undefined, title: t('statusTitle_none') };
  if (view.errors.length > 0 || view.signature === 'bad') return { text: '!', color: '#c50042', title: t('statusTitle_problem') };
  const encrypted = view.encryption === 'encrypted';
  const signed = view.signature === 'signed' && view.warnings.every((warning) => warning.code !== 'SIGNER_NOT_FROM');
  if (encrypted && signed) return { text: '✔', color: '#017a40', title: t('statusTitle_encryptedSigned') };
  // Signed by a key that could not be checked (not in the keyring, say): never "not signed".
  if (encrypted && view.signature === 'unverified') return { text: '🔒', color: '#0061e0', title: t('statusTitle_encryptedUnverified') };
  if (encrypted) return { text: '🔒', color: '#0061e0', title: t('statusTitle_encrypted') };
  if (signed) return { text: '✔', color: '#017a40', title: t('statusTitle_signed') };
  // Signed only, with a signature that could not be checked (no key for it) or by someone other than the
  // sender: nothing of it is vouched for, yet it is not "partly protected" either.
  if (view.encryption === 'not-encrypted' && view.signature === 'unverified') return { text: '?', color: '#b35d00', title: t('statusTitle_signedUnverified') };
  if (view.encryption === 'not-encrypted' && view.signature === 'signed') return { text: '?', color: '#b35d00', title: t('statusTitle_signerNotFrom') };
  return { text: '?', color: '#b35d00', title: t('statusTitle_partial') };
}

/** A quote for the HTML composer: the same text, escaped, in a cite blockquote. */
function quoteHtml(quoted: string): string {
  if (quoted === '') return '<p><br></p>';
  const escaped = quoted.replace(/^> ?/gm, '').replace(/[&<>"]/g, (char) => `&#${char.charCodeAt(0)};`);
  return `<p><br></p><blockquote type="cite"><pre>${escaped}</pre></blockquote>`;
}

function addressOf(userID: string): string {
  const match = /<([^<>\s]+@[^<>\s]+)>\s*$/.exec(userID) ?? /^\s*([^<>\s]+@[^<>\s]+)\s*$/.exec(userID);
  return match?.[1]?.toLowerCase() ?? '';
}

function headerSectionOf(head: string): string {
  const end = head.search(/\r?\n\r?\n/);
  return end === -1 ? head : head.slice(0, end);
}

/** The first From address of a header section (for mail `read()` did not look at: no OpenPGP content). */
function fromAddressOf(headers: string): string | undefined {
  const unfolded = headers.replace(/\r?\n(?=[ \t])/g, '');
  const line = /^from[ \t]*:(.*)$/im.exec(unfolded)?.[1];
  if (line === undefined) return undefined;
  const address = /<([^<>\s]+@[^<>\s]+)>/.exec(line)?.[1] ?? /([^\s<>,;:"]+@[^\s<>,;:"]+)/.exec(line)?.[1];
  return address?.toLowerCase();
}

function integer(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw new SigillError('BAD_INPUT', { detail: `${field} must be a whole number` });
  return value as number;
}

/** A view saying why a message could not be read at all (too large, gone). */
function failedResult(error: unknown): ReadResult {
  const code = isSigillError(error) ? error.code : 'INTERNAL';
  const message = isSigillError(error) ? error.message : `The message could not be read: ${error instanceof Error ? error.message : String(error)}`;
  return {
    parts: [], unprotectedParts: [], encryption: 'not-encrypted', signature: 'not-signed', signers: [], protectedSubject: undefined, subject: undefined,
    fromAddresses: [], attachments: [], offeredKeys: [], errors: [{ code, message, retryable: false, where: 'body' }], warnings: [],
    encryptedParts: { count: 0, root: undefined }, signatureGroups: [],
  };
}
