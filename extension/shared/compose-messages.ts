/**
 * The typed runtime messages between the compose popup (compose/) and the background's send side. A
 * separate envelope key (`sigillCompose`) from the keyring's requests, so each side has one handler map.
 */
import type { RecipientKeyState, SigillErrorCode } from '../../src/core/index.ts';

export interface RecipientStatus {
  address: string;
  field: 'to' | 'cc' | 'bcc';
  state: RecipientKeyState;
  /** The key to open in the options page (usable ones, or the best candidate), when one is known. */
  fingerprint?: string;
}

export interface DraftsInfo {
  /** Where drafts of this message are saved: 'local' (this computer) or 'server' (an IMAP or EWS folder). */
  location: 'local' | 'server' | 'unknown';
  folderName?: string;
  accountName?: string;
}

/** PGP/MIME, or inline and why: the setting, a correspondent's software, or PGP/MIME not working here. */
export interface FormatStatus {
  format: 'pgp-mime' | 'inline';
  because: 'setting' | 'correspondent' | 'unavailable';
  /** The recipients whose software reads only inline (`because: 'correspondent'`). */
  inlineRecipients: string[];
  /** Why PGP/MIME cannot work here (`because: 'unavailable'`). */
  reason?: string;
}

export interface ComposeStatus {
  tabId: number;
  from: string;
  /** What this message will be if sent now. */
  encrypt: boolean;
  sign: boolean;
  /** Encryption was asked for (popup or a reply to an encrypted message): no usable key means no send. */
  encryptRequired: boolean;
  /** The user's own choice in the popup, if any. */
  choice: { encrypt?: boolean; sign?: boolean; attachPublicKey?: boolean };
  /** The sender's public key goes along as an attachment (the popup's choice, else the setting). */
  attachPublicKey: boolean;
  recipients: RecipientStatus[];
  /** The sender's own key: 'ok', or the reason it cannot be used. */
  ownKey: 'ok' | 'missing' | 'locked-ok' | SigillErrorCode;
  /** Problems that would stop an encrypted send, in the core's words (one per line). */
  problems: string[];
  drafts: DraftsInfo;
  /** The wire format the message will go in when it is encrypted or signed. */
  format?: FormatStatus;
  /** Why the last send from this window was cancelled (the notification's text). */
  lastFailure?: string;
  /** Why a contact could not be checked (address-book entries), or another reason no status exists. */
  error?: string;
}

export interface ComposeRequestMap {
  'compose.status': { request: { tabId: number }; response: ComposeStatus };
  'compose.choose': { request: { tabId: number; encrypt?: boolean | null; sign?: boolean | null; attachPublicKey?: boolean | null }; response: ComposeStatus };
  'compose.openKey': { request: { fingerprint?: string; address?: string }; response: null };
}

export type ComposeRequestName = keyof ComposeRequestMap;

export interface ComposeEnvelope<N extends ComposeRequestName = ComposeRequestName> {
  sigillCompose: N;
  payload: ComposeRequestMap[N]['request'];
}

export type ComposeReply<N extends ComposeRequestName = ComposeRequestName> = { ok: true; value: ComposeRequestMap[N]['response'] } | { ok: false; error: { code: string; message: string } };

export function isComposeEnvelope(message: unknown): message is ComposeEnvelope {
  return typeof message === 'object' && message !== null && typeof (message as { sigillCompose?: unknown }).sigillCompose === 'string';
}

export async function composeRequest<N extends ComposeRequestName>(
  send: (message: unknown) => Promise<unknown>,
  name: N,
  payload: ComposeRequestMap[N]['request'],
): Promise<ComposeRequestMap[N]['response']> {
  const reply = (await send({ sigillCompose: name, payload } satisfies ComposeEnvelope<N>)) as ComposeReply<N> | undefined;
  if (reply === undefined || reply === null) throw new Error('Sigill’s background did not answer.');
  if (!reply.ok) throw new Error(reply.error.message);
  return reply.value;
}
