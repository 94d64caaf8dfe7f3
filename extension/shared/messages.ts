/**
 * The typed runtime messages between Sigill's pages (options, passphrase prompt) and its background,
 * where the keyring lives. One map: request name → request and response types.
 */
import type { DisplayContent, MessageView } from './read-view.ts';
import type { Acceptance, KeyProfile, KeyRecord, KeyUseStatus, RevocationReason, Settings, SigillErrorCode } from '../../src/core/index.ts';
import type { DiscoverySourceName } from '../../src/core/index.ts';

/** A key as the pages see it: the stored record and its status now. */
export interface KeyView extends Omit<KeyRecord, 'revocationCertificate'> {
  /** The fingerprint in groups of four, as people compare it. */
  formattedFingerprint: string;
  status: KeyUseStatus;
  /** Own keys: a revocation certificate is kept (it is in the backup file). */
  hasRevocationCertificate: boolean;
  /** Own keys: unlocked in memory now. */
  unlocked: boolean;
}

export interface IdentityView {
  accountName: string;
  name: string;
  email: string;
  /** Own keys carrying the identity's address, newest first. */
  keys: KeyView[];
}

export interface ImportReportView {
  imported: Array<{ result: 'added' | 'updated'; key: KeyView }>;
  /** `fingerprint` in groups of four when the key could be read that far. */
  failed: Array<{ fingerprint?: string; code: SigillErrorCode; message: string }>;
}

export interface FileOffer {
  fileName: string;
  text: string;
}

/** Why a passphrase is asked for; the prompt shows a sentence for each. */
export type PromptReason = 'unlock' | 'change-passphrase' | 'extend-expiry' | 'revoke' | 'sign' | 'decrypt';
export const promptReasons: readonly PromptReason[] = ['unlock', 'change-passphrase', 'extend-expiry', 'revoke', 'sign', 'decrypt'];

export interface PromptInfo {
  userID: string;
  fingerprint: string;
  reason: PromptReason;
}

export interface SettingsView extends Settings {
  unlockedKeys: number;
}

export interface RequestMap {
  'identities.list': { request: Record<string, never>; response: IdentityView[] };
  'keys.list': { request: { query?: string; secret?: boolean; offset?: number; limit?: number }; response: { total: number; keys: KeyView[] } };
  'keys.get': { request: { fingerprint: string }; response: KeyView };
  'keys.generate': {
    request: { name: string; email: string; passphrase: string; profile: KeyProfile; expiresInDays: number | null };
    response: { key: KeyView; backup: FileOffer };
  };
  'keys.backupFile': { request: { fingerprint: string }; response: FileOffer };
  'keys.markBackedUp': { request: { fingerprint: string }; response: KeyView };
  /** `text`: armored; `base64`: binary key data (GnuPG's export without --armor). */
  'keys.importSecret': { request: { text?: string; base64?: string; passphrase: string }; response: ImportReportView };
  'keys.importPublic': { request: { text?: string; base64?: string; url?: string }; response: ImportReportView };
  'keys.exportPublic': { request: { fingerprint: string }; response: FileOffer };
  'keys.setAcceptance': { request: { fingerprint: string; acceptance: Acceptance }; response: KeyView };
  'keys.changePassphrase': { request: { fingerprint: string; newPassphrase: string }; response: KeyView };
  'keys.extendExpiry': { request: { fingerprint: string; expiresInDays: number | null }; response: KeyView };
  'keys.revoke': { request: { fingerprint: string; revocationCertificate?: string; reasonCode?: RevocationReason; reason?: string }; response: KeyView };
  'keys.delete': { request: { fingerprint: string }; response: null };
  'keys.unlock': { request: { fingerprint: string }; response: KeyView };
  'keyring.backupFile': { request: Record<string, never>; response: FileOffer };
  'keyring.restore': { request: { text: string }; response: ImportReportView };
  'settings.get': { request: Record<string, never>; response: SettingsView };
  'settings.set': { request: Partial<Settings>; response: SettingsView };
  'unlock.forget': { request: Record<string, never>; response: SettingsView };
  'prompt.info': { request: { requestId: string }; response: PromptInfo };
  'prompt.submit': { request: { requestId: string; passphrase: string }; response: null };
  'prompt.cancel': { request: { requestId: string }; response: null };
  /** `store: 'all'` also keeps new keys, as undecided (compose popup); by default only changes to held keys are stored. */
  'discovery.lookup': { request: { address: string; store?: 'changes' | 'all' }; response: LookupView };
  'discovery.import': { request: { candidate: CandidateRef; accept?: boolean }; response: ImportedCandidateView };
  'discovery.refresh': { request: Record<string, never>; response: { refreshed: number; notDue: number; warnings: KeyChangeWarningView[] } };
  'keys.warnings': { request: { address?: string }; response: KeyChangeWarningView[] };
  'keys.resolveWarning': { request: { address: string; fingerprint: string; choice: 'accept' | 'reject' }; response: { accepted?: KeyView; rejected?: KeyView; demoted: KeyView[] } };
  'keys.ownPublicKeyFile': { request: { identity: string }; response: FileOffer };
  // Reading mail (extension/background/read.ts). `read.display` comes from the message display script
  // and is answered for the message shown in its own tab only; the others from the status popup.
  'read.display': { request: Record<string, never>; response: DisplayContent };
  /** The view of the message shown in a tab (the popup's), or null when the tab shows none. */
  'read.status': { request: { tabId: number }; response: MessageView | null };
  /** Reads the message again (after a cancelled or wrong passphrase) and redraws its display. */
  'read.retry': { request: { messageId: number }; response: MessageView };
  /** Decrypts (if needed) and saves one attachment through downloads; answers the file name used. */
  'read.saveAttachment': { request: { messageId: number; index: number }; response: { fileName: string; size: number } };
  /**
   * Imports a key that came with the message, undecided or (`accept`) accepted; never over an accepted key
   * of the address: then it stays undecided and `warning` is the key-change warning (KEY-SWAP).
   */
  'read.importKey': { request: { messageId: number; index: number; accept?: boolean }; response: ImportReportView & { warning?: KeyChangeWarningView } };
  /** For the send path: the message (being replied to or forwarded) was shown decrypted, so the reply defaults to encrypted. */
  'read.wasEncrypted': { request: { messageId: number }; response: boolean };
}

// ---- key discovery (plain data: ISO dates, so it crosses any message passing unchanged) -----------------

/** What the keyring does with a discovered key (`decideDiscoveredKey`): see docs/key-discovery.md. */
export type DiscoveryDecisionName = 'new' | 'same' | 'conflict' | 'ignore';

/** One key a source offered, as the options page shows it. */
export interface DiscoveredKeyView {
  source: DiscoverySourceName;
  address: string;
  fingerprint: string;
  formattedFingerprint: string;
  /** Only the user IDs that name the address (the rest of the key's user IDs are left out). */
  userIDs: string[];
  /** Primary key then subkeys, GnuPG's words (`ed25519`, `cv25519`, `rsa3072` ...). */
  algorithms: string[];
  created: string;
  expires?: string;
  expired: boolean;
  revoked: boolean;
  canEncrypt: boolean;
  problems: SigillErrorCode[];
  /** The URL (or header, file name) it came from. */
  origin: string;
  /** What was removed from the key as received (e.g. an unbound subkey). */
  notes: string[];
  certificate: string;
  decision: DiscoveryDecisionName;
  /** `same`: what the user decided about the copy already held. */
  heldAcceptance?: Acceptance;
  /** `ignore`: why. */
  ignoredBecause?: 'rejected-before' | 'unusable';
  /** Set when the lookup already changed the keyring (a held key refreshed, a rival stored undecided). */
  stored?: 'added' | 'updated';
}

export interface SourceResultView {
  source: DiscoverySourceName;
  address: string;
  keys: DiscoveredKeyView[];
  /** Keys refused (KEY-BAD), with the reason; `fingerprint` in groups of four. */
  rejected: Array<{ fingerprint?: string; code: SigillErrorCode; message: string }>;
  /** The source could not answer (network, timeout, HTTP error). */
  error?: { code: SigillErrorCode; message: string };
  attempts: Array<{ url: string; outcome: string }>;
}

export interface LookupView {
  address: string;
  sources: SourceResultView[];
  /** Open key-change warnings for the address after this lookup. */
  warnings: KeyChangeWarningView[];
}

/** Enough of a discovered key to import it; the background judges the certificate again. */
export type CandidateRef = Pick<DiscoveredKeyView, 'address' | 'source' | 'fingerprint' | 'certificate' | 'origin'>;

export interface ImportedCandidateView {
  key: KeyView;
  decision: DiscoveryDecisionName;
  /** Set when the key conflicts with an accepted one: it was stored undecided and the user must choose. */
  warning?: KeyChangeWarningView;
}

export interface KeyChangeWarningView {
  address: string;
  /** The key(s) still used for the address. */
  inUse: Array<{ fingerprint: string; formattedFingerprint: string; acceptance: 'accepted' | 'verified'; userID?: string }>;
  offered: { fingerprint: string; formattedFingerprint: string; source: DiscoverySourceName; origin: string; userID?: string };
  detectedAt: string;
  lastSeenAt: string;
}

export type RequestName = keyof RequestMap;
/** The read path's requests, answered by extension/background/read.ts rather than the keyring service. */
export type ReadRequestName = Extract<RequestName, `read.${string}`>;
export function isReadRequest(name: string): name is ReadRequestName {
  return name.startsWith('read.');
}
export type RequestOf<N extends RequestName> = RequestMap[N]['request'];
export type ResponseOf<N extends RequestName> = RequestMap[N]['response'];

/** What travels over `runtime.sendMessage`. */
export interface RequestEnvelope<N extends RequestName = RequestName> {
  sigill: N;
  payload: RequestOf<N>;
}

export type ReplyEnvelope<N extends RequestName = RequestName> =
  | { ok: true; value: ResponseOf<N> }
  | { ok: false; error: { code: SigillErrorCode; message: string; detail?: string } };

export function isRequestEnvelope(message: unknown): message is RequestEnvelope {
  return typeof message === 'object' && message !== null && typeof (message as { sigill?: unknown }).sigill === 'string';
}

/** The error a page receives when the background refused a request; `code` is the core's stable code. */
export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(
    readonly code: SigillErrorCode,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** Sends one typed request to the background and returns its answer, or throws `RequestError`. */
export async function request<N extends RequestName>(send: (message: unknown) => Promise<unknown>, name: N, payload: RequestOf<N>): Promise<ResponseOf<N>> {
  const envelope: RequestEnvelope<N> = { sigill: name, payload };
  const reply = (await send(envelope)) as ReplyEnvelope<N> | undefined;
  if (reply === undefined || reply === null || typeof reply !== 'object') {
    throw new RequestError('INTERNAL', 'Sigill’s background did not answer.');
  }
  if (!reply.ok) throw new RequestError(reply.error.code, reply.error.message, reply.error.detail);
  return reply.value;
}

/**
 * The optional host permission every network lookup needs (the WKD of any correspondent's domain, the
 * VKS server); the options page requests it on first use (`permissions.request`), the background checks it.
 */
export const LOOKUP_ORIGINS: string[] = ['https://*/*'];
