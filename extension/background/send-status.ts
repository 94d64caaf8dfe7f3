/**
 * What the compose popup shows for one compose window, and the compose button's badge: whether this
 * message will go encrypted and signed, each recipient's key status, the sender's own key, and where
 * drafts of the message are saved. The per-message choices made in the popup live here (by tab) and
 * are read by the send hook.
 */
import { isSigillError, keyringKeySource, mailboxAddress, planOutgoing, type Keyring, type Settings } from '../../src/core/index.ts';
import type { AccountInfo, ComposeDetailsView } from '../platform/browser.ts';
import { isComposeEnvelope, type ComposeRequestMap, type ComposeRequestName, type ComposeReply, type ComposeStatus, type DraftsInfo } from '../shared/compose-messages.ts';
import { decideFormat, decideProtection, recipientList, type MessageChoice } from './send.ts';
import type { PgpMimeSender } from './send-pgpmime.ts';

export interface ComposeStatusDependencies {
  keyring: Keyring;
  settings: () => Promise<Settings>;
  choices: Map<number, MessageChoice>;
  /** True when the message replies to or forwards an encrypted one. */
  relatesToEncrypted?: (details: ComposeDetailsView) => Promise<boolean>;
  /** Why the last send from this tab was cancelled, as the notification said. */
  lastFailure?: (tabId: number) => string | undefined;
  getComposeDetails: (tabId: number) => Promise<ComposeDetailsView>;
  accounts: () => Promise<AccountInfo[]>;
  /** Draws the compose button's badge for a tab. */
  badge?: (tabId: number, status: ComposeStatus) => Promise<void>;
  openOptions?: (hash: string) => Promise<void>;
  /** PGP/MIME through the Experiment (for the format line); absent: not available. */
  pgpMime?: PgpMimeSender;
}

/** Accounts whose folders live on this computer. */
const LOCAL_ACCOUNT_TYPES = new Set(['pop3', 'none', 'rss', 'nntp']);

export function draftsInfo(accounts: AccountInfo[], identityId: string | undefined): DraftsInfo {
  for (const account of accounts) {
    const identity = account.identities.find((candidate) => candidate.id === identityId);
    if (identity === undefined) continue;
    const folder = identity.draftsFolder;
    const owner = folder === undefined || folder === null ? account : (accounts.find((candidate) => candidate.id === folder.accountId) ?? account);
    const location = owner.type === undefined ? 'unknown' : LOCAL_ACCOUNT_TYPES.has(owner.type) ? 'local' : 'server';
    return { location, accountName: owner.name, ...(folder?.name === undefined ? {} : { folderName: folder.name }) };
  }
  return { location: 'unknown' };
}

/** How much of the original message is looked at for armor or a multipart/encrypted header. */
const RELATED_SCAN_BYTES = 8 * 1024 * 1024;

/**
 * Whether a reply or forward answers an encrypted message (then it stays encrypted): a cheap look at
 * the original's raw text for an armored OpenPGP message or RFC 3156 `multipart/encrypted`.
 */
export async function relatesToEncrypted(details: ComposeDetailsView, getRaw: (messageId: number) => Promise<Blob | string>): Promise<boolean> {
  if (typeof details.relatedMessageId !== 'number' || !['reply', 'forward'].includes(String(details.type).split('_')[0] ?? '')) return false;
  const raw = await getRaw(details.relatedMessageId);
  const text = typeof raw === 'string' ? raw.slice(0, RELATED_SCAN_BYTES) : await raw.slice(0, RELATED_SCAN_BYTES).text();
  return text.includes('-----BEGIN PGP MESSAGE-----') || /^content-type:\s*multipart\/encrypted/im.test(text);
}

export class ComposeStatusService {
  readonly #deps: ComposeStatusDependencies;

  constructor(deps: ComposeStatusDependencies) {
    this.#deps = deps;
  }

  async status(tabId: number): Promise<ComposeStatus> {
    const deps = this.#deps;
    const details = await deps.getComposeDetails(tabId);
    const choice = deps.choices.get(tabId) ?? {};
    const drafts = draftsInfo(await deps.accounts(), details.identityId);
    const from = typeof details.from === 'string' ? details.from : '';
    const lastFailure = deps.lastFailure?.(tabId);
    const settings = await deps.settings();
    const attachPublicKey = choice.attachPublicKey ?? settings.attachPublicKey;
    const base: ComposeStatus = { tabId, from, encrypt: false, sign: false, encryptRequired: false, choice, attachPublicKey, recipients: [], ownKey: 'missing', problems: [], drafts, ...(lastFailure === undefined ? {} : { lastFailure }) };
    let status: ComposeStatus;
    try {
      const related = (await deps.relatesToEncrypted?.(details).catch(() => false)) ?? false;
      const protection = await decideProtection({ keyring: deps.keyring, settings, details, choice, relatesToEncrypted: related });
      const keys = keyringKeySource({ keyring: deps.keyring });
      const plan = await planOutgoing({ from, to: recipientList(details.to), cc: recipientList(details.cc), bcc: recipientList(details.bcc), encrypt: true, sign: protection.sign, keys });
      const own = plan.problems.find((problem) => problem.field === 'from');
      const chosen = await decideFormat({ settings, details, pgpMime: deps.pgpMime });
      const format = { format: chosen.format, because: chosen.because, inlineRecipients: chosen.inlineRecipients, ...(chosen.because === 'unavailable' ? { reason: (await deps.pgpMime?.availability())?.reason ?? 'the PGP/MIME Experiment is not loaded' } : {}) };
      const ownRecord = deps.keyring.ownKeysFor(mailboxAddress(from))[0];
      status = {
        ...base,
        ...protection,
        recipients: plan.recipients.map((recipient) => {
          const candidate = recipient.fingerprints[0] ?? deps.keyring.lookup(recipient.address).candidates[0]?.record.fingerprint;
          return { address: recipient.address, field: recipient.field, state: recipient.state, ...(candidate === undefined ? {} : { fingerprint: candidate }) };
        }),
        ownKey: own !== undefined ? own.code : ownRecord === undefined ? 'missing' : deps.keyring.unlockedKey(ownRecord.fingerprint) === undefined ? 'locked-ok' : 'ok',
        problems: plan.problems.map((problem) => problem.message),
        format,
      };
    } catch (error) {
      status = { ...base, error: isSigillError(error) ? error.message : String(error) };
    }
    await deps.badge?.(tabId, status).catch(() => undefined);
    return status;
  }

  async choose(tabId: number, update: { encrypt?: boolean | null; sign?: boolean | null; attachPublicKey?: boolean | null }): Promise<ComposeStatus> {
    const choice: MessageChoice = { ...this.#deps.choices.get(tabId) };
    for (const field of ['encrypt', 'sign', 'attachPublicKey'] as const) {
      const value = update[field];
      if (value === null) delete choice[field];
      else if (typeof value === 'boolean') choice[field] = value;
    }
    this.#deps.choices.set(tabId, choice);
    return this.status(tabId);
  }

  /** The runtime.onMessage listener for the popup's requests (Sigill's own pages only). */
  handleMessage(message: unknown, sender: { url?: string }, extensionOrigin: string): Promise<ComposeReply> | undefined {
    if (!isComposeEnvelope(message)) return undefined;
    if (typeof sender.url !== 'string' || !sender.url.startsWith(extensionOrigin)) {
      return Promise.resolve({ ok: false, error: { code: 'BAD_INPUT', message: 'Only Sigill’s own pages may ask this.' } });
    }
    return this.#call(message.sigillCompose, message.payload as never);
  }

  async #call<N extends ComposeRequestName>(name: N, payload: ComposeRequestMap[N]['request']): Promise<ComposeReply> {
    try {
      const request = payload as { tabId?: unknown; encrypt?: boolean | null; sign?: boolean | null; attachPublicKey?: boolean | null; fingerprint?: string; address?: string };
      const tabId = Number(request.tabId);
      switch (name) {
        case 'compose.status':
          return { ok: true, value: await this.status(tabId) };
        case 'compose.choose':
          return { ok: true, value: await this.choose(tabId, request) };
        case 'compose.openKey': {
          const target = request.fingerprint ?? request.address ?? '';
          await this.#deps.openOptions?.(target === '' ? '' : `#key=${encodeURIComponent(target)}`);
          return { ok: true, value: null };
        }
        default:
          return { ok: false, error: { code: 'BAD_INPUT', message: `Unknown request ${JSON.stringify(name)}.` } };
      }
    } catch (error) {
      return { ok: false, error: { code: isSigillError(error) ? error.code : 'INTERNAL', message: error instanceof Error ? error.message : String(error) } };
    }
  }
}

/** The compose button's badge: a lock when the message will go encrypted, "!" when it cannot go as asked. */
export function badgeFor(status: ComposeStatus): { text: string; color: string; title: string } {
  if (status.encryptRequired && status.problems.length > 0) return { text: '!', color: '#c50042', title: 'badgeBlocked' };
  if (status.encrypt) return { text: '🔒', color: '#017a40', title: 'badgeEncrypted' };
  if (status.sign) return { text: '✍', color: '#5b5b66', title: 'badgeSignedOnly' };
  return { text: '', color: '#5b5b66', title: 'badgeNotEncrypted' };
}
