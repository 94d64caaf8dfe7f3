/**
 * Drafts and templates of a message Sigill encrypts: saved as RFC 3156 PGP/MIME encrypted to the
 * sender's own key only (as Thunderbird's own OpenPGP does with "encrypt drafts"), and decrypted back
 * into the composer when such a draft is opened again. Also tells the compose popup where drafts go
 * and offers to keep them in Local Folders.
 *
 * The PGP/MIME Experiment's draft arm (`watchDrafts`) asks `decide` at every draft or template save of
 * a watched compose window and waits for the answer: 'encrypt' (the bytes then come to `planFor` /
 * `wrapPgpMime` through `onEncapsulateDraft`), 'plain' (the message would not be encrypted: saved as
 * Thunderbird saves it), or 'refuse' (the message is to be encrypted but the draft cannot be: it is not
 * saved, and a notification says why). Fail closed: an error or no answer is a refusal.
 */
import { SigillError, isSigillError, keyringKeySource, mailboxAddress, planOutgoing, read, type Keyring, type OutgoingPlan, type ReadResult } from '../../src/core/index.ts';

type SecretKey = Awaited<ReturnType<Keyring['secretKey']>>;
import { servePgpMime, type EncapsulationRequest, type PgpMimeExperiment } from '../experiments/pgpmime/api.ts';
import type { ComposeAttachmentInfo, ComposeDetailsView } from '../platform/browser.ts';

export type DraftDecision = 'encrypt' | 'plain' | 'refuse';

export interface DraftSaveRequest {
  tabId: number;
  mode: 'draft' | 'autoSave' | 'template';
  /** Whether Thunderbird lets the Experiment see this save (the identity's autoEncryptDrafts; true for templates). */
  autoEncryptDrafts: boolean;
}

export interface DraftFolderInfo {
  uri: string;
  local: boolean;
  serverName: string;
  autoEncryptDrafts: boolean;
}

/** The draft arm of `browser.sigillPgpMime` (schema.json). */
export interface DraftsExperiment extends Pick<PgpMimeExperiment, 'write' | 'fail'> {
  watchDrafts(tabId: number): Promise<boolean>;
  unwatchDrafts(tabId: number): Promise<void>;
  /** The stored draft a compose tab edits (compose details give no relatedMessageId for a draft), or null. */
  draftMessage(tabId: number): Promise<number | null>;
  draftFolder(identityId: string): Promise<DraftFolderInfo>;
  keepDraftsLocal(identityId: string): Promise<string>;
  onDraftSave: Listenable<(request: DraftSaveRequest) => Promise<DraftDecision>>;
  onEncapsulateDraft: Listenable<(request: EncapsulationRequest) => Promise<number>>;
}

interface Listenable<L> {
  addListener(listener: L): void;
  removeListener(listener: L): void;
}

/** What the compose popup shows about drafts of this message. */
export interface DraftsStatus {
  /** Where drafts of this message are saved. */
  location: 'local' | 'server' | 'unknown';
  /** The account or server holding them. */
  place: string;
  /** The message will be encrypted (as the caller or the compose button last knew it; false when unknown). */
  encrypt: boolean;
  /** Drafts of this message are saved encrypted (encrypt and encryptsDrafts). */
  encryptedDrafts: boolean;
  /** Sigill encrypts this window's drafts when the message is encrypted (the Experiment watches it, "Encrypt drafts" on). */
  encryptsDrafts: boolean;
  /** Drafts are on a server and the one-click change to Local Folders is possible. */
  canKeepLocal: boolean;
  /** Thunderbird's "encrypt drafts" is off for this identity: an encrypted message's draft is not saved. */
  autoEncryptDraftsOff: boolean;
}

export interface DraftsRequestMap {
  /** `encrypt`: the compose popup's own status says the message will be encrypted (saves computing it again). */
  'drafts.status': { request: { tabId: number; encrypt?: boolean }; response: DraftsStatus };
  'drafts.keepLocal': { request: { tabId: number; encrypt?: boolean }; response: DraftsStatus };
}
export type DraftsRequestName = keyof DraftsRequestMap;
export type DraftsReply = { ok: true; value: DraftsStatus } | { ok: false; error: { code: string; message: string } };

export interface DraftServiceDependencies {
  experiment: DraftsExperiment;
  keyring: Keyring;
  /** Whether this compose tab's message will be encrypted (the compose popup's status). */
  protection(tabId: number): Promise<{ encrypt: boolean; encryptRequired: boolean }>;
  compose: {
    getComposeDetails(tabId: number): Promise<ComposeDetailsView>;
    setComposeDetails(tabId: number, details: Partial<ComposeDetailsView>): Promise<void>;
    listAttachments(tabId: number): Promise<ComposeAttachmentInfo[]>;
    removeAttachment(tabId: number, attachmentId: number): Promise<unknown>;
    addAttachment(tabId: number, attachment: { file: File; name?: string }): Promise<unknown>;
  };
  /** The raw message as stored (`messages.getRaw` with decrypt: false). */
  getRaw(messageId: number): Promise<Blob | string>;
  /** The read path's HTML policy (DOMPurify); without it an HTML draft comes back as text. */
  sanitizeHtml?: (html: string) => string;
  /** An own key unlocked through the passphrase prompt (reason 'decrypt'). */
  unlockedKey(fingerprint: string): Promise<SecretKey>;
  /** What the compose button last showed for this tab (cheap), when it has been computed. */
  lastKnown?(tabId: number): { encrypt: boolean } | undefined;
  /** The reopened draft was encrypted: its message stays encrypted (the popup's per-message choice). */
  markEncrypted(tabId: number): void;
  notify(title: string, message: string): Promise<void>;
  translate(name: string, substitutions?: string[]): string;
}

/** A draft larger than this is not decrypted back into the composer (the read path's bound). */
const MAX_DRAFT_BYTES = 128 * 1024 * 1024;
/** Only this much of a stored draft is looked at to tell whether it is PGP/MIME encrypted. */
const HEADER_SCAN_BYTES = 64 * 1024;

export class DraftService {
  readonly #deps: DraftServiceDependencies;
  /** Compose tabs the Experiment watches (their drafts are encrypted when the message is). */
  readonly #watched = new Set<number>();
  /** Compose tabs already looked at when they opened. */
  readonly #opened = new Set<number>();

  constructor(deps: DraftServiceDependencies) {
    this.#deps = deps;
  }

  /** Registers the draft arm's listeners; returns the unsubscribe. */
  start(): () => void {
    const { experiment } = this.#deps;
    const decide = (request: DraftSaveRequest) => this.decide(request);
    experiment.onDraftSave.addListener(decide);
    // servePgpMime answers whichever event it is given; the draft arm has its own.
    const draftArm: Pick<PgpMimeExperiment, 'write' | 'fail' | 'onEncapsulate'> = {
      write: (handle, bytes) => experiment.write(handle, bytes),
      fail: (handle, reason) => experiment.fail(handle, reason),
      onEncapsulate: experiment.onEncapsulateDraft,
    };
    const stopServing = servePgpMime(
      draftArm as PgpMimeExperiment, // servePgpMime uses only these three
      {
        planFor: (request) => this.planFor(request),
        onFailure: (_request, error) => void this.#notifyNotSaved(error.message),
      },
    );
    return () => {
      experiment.onDraftSave.removeListener(decide);
      stopServing();
    };
  }

  /** A compose window opened: watch its drafts, and decrypt it if it is one of Sigill's encrypted drafts. */
  async composeOpened(tabId: number): Promise<void> {
    if (this.#opened.has(tabId)) return;
    this.#opened.add(tabId);
    await this.watch(tabId);
    await this.reopen(tabId);
  }

  async watch(tabId: number): Promise<boolean> {
    if (this.#watched.has(tabId)) return true;
    try {
      await this.#deps.experiment.watchDrafts(tabId);
      this.#watched.add(tabId);
      console.info(`sigill: drafts of compose tab ${tabId} are encrypted when the message is`);
      return true;
    } catch (error) {
      console.warn(`sigill: drafts of compose tab ${tabId} cannot be encrypted`, error);
      return false;
    }
  }

  /** How many compose windows are watched now. */
  watching(): number {
    return this.#watched.size;
  }

  closed(tabId: number): void {
    this.#watched.delete(tabId);
    this.#opened.delete(tabId);
  }

  /** The draft arm's question: how to save this draft or template. Never throws (an error is a refusal). */
  async decide(request: DraftSaveRequest): Promise<DraftDecision> {
    try {
      const protection = await this.#deps.protection(request.tabId);
      if (!protection.encrypt && !protection.encryptRequired) return 'plain';
      if (!request.autoEncryptDrafts) {
        await this.#notifyNotSaved(this.#deps.translate('draftsAutoEncryptOff'));
        return 'refuse';
      }
      // The plan is made again when the bytes arrive; checking it now means no half-saved draft.
      await this.#draftPlan(request.tabId);
      return 'encrypt';
    } catch (error) {
      await this.#notifyNotSaved(isSigillError(error) || error instanceof Error ? error.message : String(error));
      return 'refuse';
    }
  }

  /** The plan for a draft: encrypted to the sender's own key only, not signed (no passphrase needed). */
  planFor(request: EncapsulationRequest): Promise<OutgoingPlan> {
    if ((request as EncapsulationRequest & { draft?: boolean }).draft !== true || !request.encrypt || request.sign) {
      return Promise.reject(new SigillError('INTERNAL', { detail: 'not a draft encapsulation' }));
    }
    return this.#draftPlan(request.tabId);
  }

  async #draftPlan(tabId: number): Promise<OutgoingPlan> {
    const details = await this.#deps.compose.getComposeDetails(tabId);
    const from = typeof details.from === 'string' ? details.from : '';
    const keys = keyringKeySource({ keyring: this.#deps.keyring });
    const plan = await planOutgoing({ from, to: [], cc: [], bcc: [], encrypt: true, sign: false, keys });
    // A draft has no recipients by design; every other problem (the own key) stops it.
    const problems = plan.problems.filter((problem) => !(problem.code === 'BAD_INPUT' && problem.address === undefined));
    if (problems.length > 0) throw new SigillError(problems[0]?.code ?? 'INTERNAL', { detail: problems.map((problem) => problem.message).join('; ') });
    if (plan.encryptionKeys.length === 0) throw new SigillError('KEY_NOT_FOUND', { detail: `no own key for ${mailboxAddress(from)}` });
    return { ...plan, problems, ready: true, hiddenKeys: [] };
  }

  /**
   * A draft or template opened in the composer (type 'draft': the stored draft it edits; or 'new' from
   * a template or "Edit as new": its relatedMessageId): when it is PGP/MIME encrypted to an own key, its subject, body and attachments are put back
   * decrypted. Thunderbird cannot decrypt it itself.
   */
  async reopen(tabId: number): Promise<boolean> {
    const details = await this.#deps.compose.getComposeDetails(tabId);
    if (!['draft', 'new'].includes(String(details.type))) return false;
    const messageId = details.type === 'draft' ? await this.#deps.experiment.draftMessage(tabId) : details.relatedMessageId;
    if (typeof messageId !== 'number') return false;
    const raw = await this.#deps.getRaw(messageId);
    const size = typeof raw === 'string' ? raw.length : raw.size;
    const head = typeof raw === 'string' ? raw.slice(0, HEADER_SCAN_BYTES) : await raw.slice(0, HEADER_SCAN_BYTES).text();
    if (!isPgpMimeEncrypted(head)) return false;
    try {
      if (size > MAX_DRAFT_BYTES) throw new SigillError('TOO_LARGE', { detail: `the draft is larger than ${MAX_DRAFT_BYTES} bytes` });
      const bytes = typeof raw === 'string' ? Uint8Array.from(raw, (char) => char.charCodeAt(0) & 0xff) : new Uint8Array(await raw.arrayBuffer());
      const sanitizeHtml = this.#deps.sanitizeHtml;
      const result = await read(bytes, { decryptionKeys: (request) => this.#decryptionKeys(request.keyIDs), ...(sanitizeHtml === undefined ? {} : { sanitizeHtml }) });
      const failure = result.errors[0];
      if (result.encryption !== 'encrypted' || failure !== undefined) {
        throw new SigillError(failure?.code ?? 'NOT_ENCRYPTED_FOR_US', { detail: failure?.message ?? 'the draft is not encrypted as a whole' });
      }
      await this.#restore(tabId, details, result);
      this.#deps.markEncrypted(tabId);
      console.info(`sigill: the encrypted draft in compose tab ${tabId} was decrypted`);
      return true;
    } catch (error) {
      const t = this.#deps.translate;
      await this.#deps.notify(t('draftsNotDecryptedTitle'), t('draftsNotDecrypted', [error instanceof Error ? error.message : String(error)]));
      return false;
    }
  }

  async #restore(tabId: number, details: ComposeDetailsView, result: ReadResult): Promise<void> {
    const { compose } = this.#deps;
    const text = result.parts.filter((part) => part.kind === 'text').map((part) => part.content);
    const update: Partial<ComposeDetailsView> = {};
    if (result.protectedSubject !== undefined) update.subject = result.protectedSubject;
    if (details.isPlainText === false) {
      // Only HTML that went through the read path's policy, else the text in a <pre>.
      const html = result.parts.find((part) => part.kind === 'html');
      update.body = html !== undefined ? html.content : `<pre>${escapeHtml(text.join('\n\n'))}</pre>`;
    } else {
      update.plainTextBody = text.join('\n\n');
    }
    await compose.setComposeDetails(tabId, update);
    // What Thunderbird attached from the encrypted draft (encrypted.asc and the like) goes; the real ones come back.
    for (const attachment of await compose.listAttachments(tabId)) await compose.removeAttachment(tabId, attachment.id);
    for (const attachment of result.attachments) {
      if (attachment.data === undefined) continue;
      const file = new File([attachment.data instanceof Blob ? attachment.data : (attachment.data as Uint8Array<ArrayBuffer>)], attachment.name, { type: attachment.contentType });
      await compose.addAttachment(tabId, { file, name: attachment.name });
    }
  }

  /** The own keys the draft was encrypted to, unlocked (through the prompt when locked). */
  async #decryptionKeys(keyIDs: string[]): Promise<SecretKey[]> {
    const wanted = new Set(keyIDs.map((id) => id.toUpperCase()));
    const { keyring } = this.#deps;
    for (const record of keyring.ownKeys()) {
      const key = await keyring.secretKey(record.fingerprint);
      const ids = key.getKeyIDs().map((id) => id.toHex().toUpperCase());
      if (!ids.some((id) => wanted.has(id))) continue;
      return [keyring.unlockedKey(record.fingerprint) ?? (await this.#deps.unlockedKey(record.fingerprint))];
    }
    return [];
  }

  /**
   * Where drafts of this compose window go, and whether they are encrypted. `encrypt` is the compose
   * popup's answer when it has one (computing the protection twice at once slowed the popup so much
   * that it did not open over a compose window with large attachments).
   */
  async status(tabId: number, known?: { encrypt: boolean }): Promise<DraftsStatus> {
    const details = await this.#deps.compose.getComposeDetails(tabId);
    // Never computed here: the popup computes it at the same moment, and doing it twice at once kept the
    // popup from opening over a compose window with large attachments (send.test.ts).
    const encrypt = (known ?? this.#deps.lastKnown?.(tabId))?.encrypt ?? false;
    const watched = await this.watch(tabId);
    let folder: DraftFolderInfo | undefined;
    if (typeof details.identityId === 'string') folder = await this.#deps.experiment.draftFolder(details.identityId).catch(() => undefined);
    return {
      location: folder === undefined ? 'unknown' : folder.local ? 'local' : 'server',
      place: folder?.serverName ?? '',
      encrypt,
      encryptedDrafts: encrypt && watched && folder?.autoEncryptDrafts !== false,
      encryptsDrafts: watched && folder?.autoEncryptDrafts !== false,
      canKeepLocal: folder !== undefined && !folder.local,
      autoEncryptDraftsOff: folder?.autoEncryptDrafts === false,
    };
  }

  /** The safe setting, one click: this identity's drafts go to Local Folders. */
  async keepLocal(tabId: number, known?: { encrypt: boolean }): Promise<DraftsStatus> {
    const details = await this.#deps.compose.getComposeDetails(tabId);
    if (typeof details.identityId !== 'string') throw new SigillError('BAD_INPUT', { detail: 'the compose window has no identity' });
    await this.#deps.experiment.keepDraftsLocal(details.identityId);
    return this.status(tabId, known);
  }

  /** The runtime.onMessage listener for the compose popup's drafts requests (Sigill's own pages only). */
  handleMessage(message: unknown, sender: { url?: string }, extensionOrigin: string): Promise<DraftsReply> | undefined {
    if (typeof message !== 'object' || message === null || typeof (message as { sigillDrafts?: unknown }).sigillDrafts !== 'string') return undefined;
    if (typeof sender.url !== 'string' || !sender.url.startsWith(extensionOrigin)) {
      return Promise.resolve({ ok: false, error: { code: 'BAD_INPUT', message: 'Only Sigill’s own pages may ask this.' } });
    }
    const { sigillDrafts: name, payload } = message as { sigillDrafts: string; payload?: { tabId?: unknown; encrypt?: unknown } };
    const tabId = Number(payload?.tabId);
    const known = typeof payload?.encrypt === 'boolean' ? { encrypt: payload.encrypt } : undefined;
    const answer = async (): Promise<DraftsReply> => {
      try {
        if (!Number.isInteger(tabId)) throw new SigillError('BAD_INPUT', { detail: 'tabId' });
        if (name === 'drafts.status') return { ok: true, value: await this.status(tabId, known) };
        if (name === 'drafts.keepLocal') return { ok: true, value: await this.keepLocal(tabId, known) };
        return { ok: false, error: { code: 'BAD_INPUT', message: `Unknown request ${JSON.stringify(name)}.` } };
      } catch (error) {
        return { ok: false, error: { code: isSigillError(error) ? error.code : 'INTERNAL', message: error instanceof Error ? error.message : String(error) } };
      }
    };
    return answer();
  }

  async #notifyNotSaved(reason: string): Promise<void> {
    const t = this.#deps.translate;
    console.info(`sigill: a draft was not saved: ${reason}`);
    await this.#deps.notify(t('draftsNotSavedTitle'), t('draftsNotSaved', [reason])).catch((error: unknown) => console.info('sigill: the notification could not be shown', error));
  }
}

/** RFC 3156 §4: the top-level Content-Type of a PGP/MIME encrypted message. */
export function isPgpMimeEncrypted(head: string): boolean {
  const end = head.search(/\r?\n\r?\n/);
  const header = (end < 0 ? head : head.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  return /^content-type:\s*multipart\/encrypted\s*;[^\n]*protocol\s*=\s*"?application\/pgp-encrypted"?/im.test(header);
}

function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** The draft arm of the Experiment in this extension context, or undefined without it. */
export function draftsExperiment(scope: object = globalThis): DraftsExperiment | undefined {
  const holder = scope as { browser?: { sigillPgpMime?: Partial<DraftsExperiment> }; messenger?: { sigillPgpMime?: Partial<DraftsExperiment> } };
  const api = holder.messenger?.sigillPgpMime ?? holder.browser?.sigillPgpMime;
  return api?.watchDrafts === undefined ? undefined : (api as DraftsExperiment);
}
