/**
 * The driver's commands, typed once: the harness's `Client.call` takes a name and arguments from this
 * map and returns its result type; `background.js` (checked with `// @ts-check`) implements exactly
 * this map. Add a command here, implement it in background.js, call it with `client.call(name, args)`.
 * Types only: this file is shared by the test process (Node) and the driver (Thunderbird).
 */
import type { ProbeRequest, ProbeResponse } from '../core-probe/protocol.ts';

/** Thunderbird's own OpenPGP switched on for one message (compose.setComposeDetails). */
export interface BuiltinOpenPgpChoice {
  encrypt: boolean;
  encryptSubject: boolean;
  sign: boolean;
}

export interface SendArgs {
  to: string[];
  subject: string;
  body: string;
  openpgp?: BuiltinOpenPgpChoice;
  /** Files attached in the composer (as a person adds them), bytes in base64. */
  attachments?: Array<{ name: string; base64: string }>;
  /** How long to wait for compose.sendMessage before giving up. */
  timeoutMs?: number;
}

/** What compose.sendMessage resolves with. */
export interface SendResult {
  mode: string;
  headerMessageId: string;
}

export interface ReceiveArgs {
  headerMessageId?: string;
  subject?: string;
  timeoutMs?: number;
}

/** The fields of a messages.MessageHeader the tests use. */
export interface MessageHeader {
  id: number;
  subject: string;
  author: string;
  headerMessageId: string;
}

export interface FullMessage {
  subject: string;
  headers: Record<string, string[]>;
  decryptionStatus?: string;
  /** All text/* bodies of the MIME tree, concatenated. */
  text: string;
  /** The whole MessagePart tree as messages.getFull returned it. */
  part: unknown;
}

/** How far Thunderbird has started (the driver's Experiment). */
export interface StartupState {
  /** 'ready' once the main window has loaded, finished its delayed start-up and loaded its first mail tab; else what it is still doing. */
  mainWindow: string;
  /** Gecko's TmpD (from TMPDIR): where Thunderbird writes the message it is sending (nsemail.eml). */
  tempDir: string;
}

/** What the add-on manager knows of an add-on (the driver's Experiment). */
export interface AddonInfo {
  id: string;
  name: string;
  version: string;
  isActive: boolean;
  userDisabled: boolean;
  appDisabled: boolean;
}

export interface BrowserInfo {
  name: string;
  vendor: string;
  version: string;
  buildID: string;
}

/** A message composed without sending it (`composeBegin`); attachments are fetched from loopback URLs. */
export interface ComposeArgs {
  to: string[];
  cc?: string[];
  bcc?: string[];
  subject: string;
  body: string;
  /** HTML compose (body is HTML) instead of the plain-text composer. */
  html?: boolean;
  attachments?: { name: string; url: string }[];
  /** Thunderbird's own OpenPGP switched on for this message. */
  openpgp?: BuiltinOpenPgpChoice;
}

/** What a compose window holds: details and each attachment's name, size and SHA-256 (hex). */
export interface ComposeSnapshot {
  details: { to: unknown; cc: unknown; bcc: unknown; subject: string; isPlainText: boolean; plainTextBody: string; body: string };
  attachments: { name: string; size: number; sha256: string }[];
}

export type ComposeSendResult = { ok: true; mode: string; headerMessageId: string } | { ok: false; error: string };

/** The crypto icons of the displayed message's header (src names the state, e.g. message-signed-ok.svg). */
export interface MessageSecurity {
  tech: string;
  encrypted: { hidden: boolean; src: string };
  signed: { hidden: boolean; src: string };
}

/**
 * An about:memory report of one kind of process (nsIMemoryReporterManager.getReports), in bytes. `explicit`
 * is what the process's reporters account for; `heapUnclassified` the malloc heap none of them claims
 * (heap-allocated minus the explicit heap reports, as about:memory computes it).
 */
export interface MemoryReport {
  /** The processes that answered, as the manager names them ("extension (pid 1234)"). */
  processes: string[];
  /** Every process that answered (to see what a kind is called). */
  seen: string[];
  explicit: number;
  heapAllocated: number;
  heapUnclassified: number;
  resident: number;
  /** Explicit memory by kind: JS GC heap, JS malloc, ArrayBuffer contents, string characters, WebAssembly, Blob memory, heap-unclassified, other subtrees. */
  categories: Record<string, number>;
  /** Other summaries ≥ 1 MiB (js-main-runtime-gc-heap-committed/..., top-level counters). */
  other: Record<string, number>;
  /** The 30 largest explicit paths, addresses and URLs left out so like paths add up. */
  top: Record<string, number>;
  /** How long the report took. */
  ms: number;
}

/** Every command: its arguments and what it resolves with. */
export interface DriverCommands {
  /** Whether Thunderbird's main window can take a scenario's actions yet, and its temporary directory. */
  startupState: { args: Record<string, never>; result: StartupState };
  info: { args: Record<string, never>; result: { browser: BrowserInfo; accounts: { id: string; name: string; type: string }[] } };
  /** Composes a plain-text message and sends it now. */
  send: { args: SendArgs; result: SendResult };
  /** Fetches mail (POP3, now) until the message is in an inbox. */
  receive: { args: ReceiveArgs; result: MessageHeader };
  /** The message as stored in the profile (with Thunderbird's X-Mozilla-* headers), as a binary string. */
  getRaw: { args: { messageId: number }; result: string };
  addonInfo: { args: { addonId: string }; result: AddonInfo | null };
  openAddonsManager: { args: { addonId: string }; result: null };
  /** A full GC in the parent process and a request for one to every child process (the memory bench). */
  collectGarbage: { args: Record<string, never>; result: null };
  /** An about:memory report of the extension process (or the parent), summed (the memory bench). */
  memoryReport: { args: { processKind: 'extension' | 'parent' }; result: MemoryReport };
  /** The main window as a PNG data URL (headless screenshots). */
  screenshot: { args: Record<string, never>; result: string };
  /** Opens a message in a tab, so message display scripts run. */
  open: { args: { messageId: number }; result: { tabId: number } };
  /** Selects a message in the first mail tab's list, as a click does (mailTabs.setSelectedMessages); that tab's id. */
  select: { args: { messageId: number; untilLoaded?: boolean }; result: { tabId: number } };
  closeTab: { args: { tabId: number }; result: null };
  getFull: { args: { messageId: number; decrypt?: boolean }; result: FullMessage };
  /** Hands a request to the core probe extension installed beside the driver (test/e2e/core-probe). */
  probe: { args: ProbeRequest; result: ProbeResponse };
  /** Opens a page of an add-on (e.g. Sigill's options/options.html) in a tab. */
  openAddonPage: { args: { addonId: string; path: string }; result: null };
  closeAddonPage: { args: { addonId: string; path: string }; result: null };
  /**
   * One operation in an add-on's open page, as a person would do it (query, queryAll, click, type, select,
   * setFiles, dataset, url); see test/e2e/harness/sigill.ts for the operations and their results.
   */
  pageAction: { args: { addonId: string; path: string; action: Record<string, unknown>; timeoutMs?: number }; result: unknown };
  /** An add-on's storage.local, whole (privileged read through the driver's Experiment). */
  readExtensionStorage: { args: { addonId: string }; result: Record<string, unknown> };
  writeExtensionStorage: { args: { addonId: string; items: Record<string, unknown> }; result: null };
  /** Disables and re-enables an add-on, so its background starts again (over provisioned storage). */
  restartAddon: { args: { addonId: string }; result: null };
  setPref: { args: { name: string; value: string | number | boolean }; result: null };
  /** Opens a compose window with the message (and attachments) without sending it. */
  composeBegin: { args: ComposeArgs; result: { tabId: number } };
  /** Reads a compose window: details and attachments (hashed, so large ones need not travel). */
  composeSnapshot: { args: { tabId: number }; result: ComposeSnapshot };
  /** compose.sendMessage, as a click on Send: resolves with the outcome, a cancel included. */
  composeSend: { args: { tabId: number; timeoutMs?: number }; result: ComposeSendResult };
  /** Clicks OK in a modal alert (e.g. Thunderbird's "Sending of the message failed") as a person would; its text. */
  acceptAlert: { args: { timeoutMs?: number }; result: string };
  /** Clicks an add-on's button in the newest compose window (its popup opens). */
  clickComposeAction: { args: { addonId: string }; result: null };
  /** What Thunderbird's own OpenPGP shows in the open message's header: technology, encrypted and signed icons. */
  messageSecurity: { args: Record<string, never>; result: MessageSecurity };
  /**
   * Which PGP/MIME decryptor Thunderbird's MIME parser gets for the messages opened from now on (test only,
   * bench/thunderbird-load.ts): Thunderbird's own, the same counted, one doing nothing, or none.
   */
  pgpMimeDecryptor: { args: { mode: PgpMimeDecryptorMode }; result: null };
  /** The counters since the last pgpMimeDecryptor ('counted' and 'noop' count). */
  pgpMimeDecryptorStats: { args: Record<string, never>; result: PgpMimeDecryptorStats };
  /** What the message pane of the selected tab shows: `sigill` is Sigill's mark ('shown' / 'untouched'), `text` its innerText. */
  messagePane: { args: Record<string, never>; result: MessagePane };
  /** An add-on's message display action button above the message in the selected tab: its label (title) and badge text. */
  messageDisplayActionButton: { args: { addonId: string }; result: { label: string; badge: string } };
  /** Clicks an add-on's message display action button in the selected tab (its popup opens). */
  clickMessageDisplayAction: { args: { addonId: string }; result: null };
  /** Replies to (compose.beginReply) or forwards (beginForward inline) a message, as the buttons do; the composer's tab. */
  beginReply: { args: { messageId: number; forward?: boolean }; result: { tabId: number } };
  /** What a composer holds now (compose.getComposeDetails). */
  composeBody: { args: { tabId: number }; result: { isPlainText: boolean; plainTextBody: string; body: string } };
  /** compose.saveMessage (as File → Save): the saved message, or the error when the save did not happen. */
  composeSave: { args: { tabId: number; mode?: 'draft' | 'template'; timeoutMs?: number }; result: ComposeSaveResult };
  /** Opens a stored draft in the composer as a double click in the Drafts folder does (compose type Draft). */
  editDraft: { args: { messageId: number }; result: { tabId: number } };
  /** Closes a compose window (after a save nothing is asked). */
  composeClose: { args: { tabId: number }; result: null };
  /** compose.getComposeDetails' type and relatedMessageId, to tell a reopened draft. */
  composeOrigin: { args: { tabId: number }; result: { type: string; relatedMessageId: number | null } };
}

export type ComposeSaveResult = { ok: true; messages: { id: number; headerMessageId: string; folder: string }[] } | { ok: false; error: string };

export type PgpMimeDecryptorMode = 'shipped' | 'counted' | 'noop' | 'absent';

export interface PgpMimeDecryptorStats {
  /** Encrypted parts libmime asked a decryptor for. */
  parts: number;
  /** onDataAvailable calls (one per line of the part) and their bytes. */
  calls: number;
  bytes: number;
  /** Milliseconds inside the decryptor's onStartRequest, onDataAvailable (all calls) and onStopRequest. */
  startMs: number;
  dataMs: number;
  stopMs: number;
  /** For each part, the JavaScript frames that led libmime to it (empty when none: a channel Thunderbird opened). */
  callers: string[];
  /** For each part ('counted', 'noop'), the query of the message URL libmime parsed it for. */
  uris: string[];
}

export interface MessagePane {
  url: string;
  sigill: string | null;
  text: string;
  html: string;
}

export type DriverCommandName = keyof DriverCommands;
export type DriverArgs<K extends DriverCommandName> = DriverCommands[K]['args'];
export type DriverResult<K extends DriverCommandName> = DriverCommands[K]['result'];

/** The shape background.js implements. */
export type DriverImplementation = { [K in DriverCommandName]: (args: DriverArgs<K>) => Promise<DriverResult<K>> };
