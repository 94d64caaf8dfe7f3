/**
 * Starts Sigill's background over a `BrowserApi`: the keyring over storage.local, the passphrase
 * prompt windows, and the message listener for Sigill's pages. Listeners are registered at once
 * (Manifest V3 wakes the background for them); requests wait until the keyring is open.
 */
import { Keyring, loadSettings, useActivityPulse } from '../../src/core/index.ts';
import { KeyDiscovery, type Fetch } from '../../src/core/index.ts';
import { extensionFetch } from '../platform/index.ts';
import { LOOKUP_ORIGINS, lookupSources } from './discovery.ts';
import type { BrowserApi } from '../platform/browser.ts';
import { storageLocal } from '../platform/storage.ts';
import { PassphrasePrompts } from './prompts.ts';
import { SigillService } from './service.ts';
import { SendHook, type MessageChoice } from './send.ts';
import { notifyFormatNotice, notifySendFailure } from './send-notify.ts';
import { PgpMimeSends } from './send-pgpmime.ts';
import type { PgpMimeExperiment } from '../experiments/pgpmime/api.ts';
import { badgeFor, ComposeStatusService, relatesToEncrypted } from './send-status.ts';
import { ReadService } from './read.ts';
import { SessionChoices } from './choices.ts';
import { startDrafts } from './drafts-start.ts';
import type { ComposeStatus } from '../shared/compose-messages.ts';
import { isReadRequest, type ReadRequestName } from '../shared/messages.ts';
import { translator } from '../shared/i18n.ts';

const PROMPT_SIZE = { width: 520, height: 400 };
/** How often unlocked keys are checked for expiry besides every access (below the 30 s idle timeout). */
const SWEEP_INTERVAL_MS = 15_000;
const MAX_FETCH_BYTES = 5 * 1024 * 1024;

/** Reads at most `limit` bytes of a response, so a huge answer cannot fill memory. */
async function boundedText(response: Response, limit: number): Promise<string> {
  const reader = response.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      throw new Error(`larger than ${limit} bytes`);
    }
    chunks.push(value);
  }
  const joined = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.length;
  }
  return new TextDecoder().decode(joined);
}

export async function fetchKeyFile(url: string): Promise<string> {
  const response = await fetch(url, { credentials: 'omit', redirect: 'follow', cache: 'no-store' });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return boundedText(response, MAX_FETCH_BYTES + 1);
}

/**
 * Drops unlocked keys whose time is up. While keys stay unlocked it also makes one cheap API call:
 * Thunderbird suspends an idle Manifest V3 background after 30 s (extensions.background.idle.timeout)
 * and counts calls into the parent process as activity, so the unlock time the user chose holds. With
 * nothing unlocked the background may sleep; a suspended background forgets everything (fail-safe).
 */
export function keepUnlockedKeysAlive(keyring: Keyring, api: Pick<BrowserApi, 'runtime'>): boolean {
  keyring.unlocked.sweep();
  if (keyring.unlocked.fingerprints().length === 0) return false;
  void api.runtime.getPlatformInfo().catch(() => undefined);
  return true;
}

/** At most one activity call per this many milliseconds, however many chunks pulse. */
const PULSE_INTERVAL_MS = 5_000;

/**
 * The core's activity pulse for Thunderbird: a busy decryption or encryption runs as promise
 * callbacks only, so timers (keepUnlockedKeysAlive) may not run for its whole length, and Thunderbird
 * would suspend the background in the middle of it (seen: a 20 MiB attachment's "Save decrypted"
 * answered "Receiving end does not exist"). A cheap call into the parent process counts as activity.
 */
export function activityPulse(api: Pick<BrowserApi, 'runtime'>, now: () => number = Date.now): () => void {
  let last = -Infinity;
  return () => {
    const time = now();
    if (time - last < PULSE_INTERVAL_MS) return;
    last = time;
    void api.runtime.getPlatformInfo().catch(() => undefined);
  };
}

export interface Background {
  ready: Promise<SigillService>;
  /** The compose.onBeforeSend hook, once the keyring is open. */
  send: Promise<SendHook>;
  /** Per-message Encrypt/Sign choices by compose tab (set by the compose popup). */
  choices: Map<number, MessageChoice>;
  /** The read path (display script, status popup), over the same keyring. */
  reading: Promise<ReadService>;
}

export interface BackgroundOptions {
  fetchText?: (url: string) => Promise<string>;
  /** The fetch key lookups use (default the background's). */
  fetch?: Fetch;
  /** The HTML policy for received mail (DOMPurify over the background's window); without it HTML is shown as text. */
  sanitizeHtml?: (html: string) => string;
  /** blob: URLs for saving decrypted attachments; default the platform's URL.createObjectURL. */
  objectURL?: { create(data: Blob): string; revoke(url: string): void };
  /** The PGP/MIME Experiment's API (`browser.sigillPgpMime`); absent: mail goes inline, with a notice. */
  pgpMime?: PgpMimeExperiment;
}

export function startBackground(api: BrowserApi, options: BackgroundOptions = {}): Background {
  useActivityPulse(activityPulse(api));
  const storage = storageLocal(api);
  const prompts = new PassphrasePrompts({
    open: async (requestId) => {
      const created = await api.windows.create({
        url: api.runtime.getURL(`prompt/prompt.html?request=${encodeURIComponent(requestId)}`),
        type: 'popup',
        ...PROMPT_SIZE,
        allowScriptsToClose: true,
      });
      return created.id;
    },
    close: (windowId) => api.windows.remove(windowId),
  });
  const ready = (async () => {
    const started = performance.now();
    const settings = await loadSettings(storage);
    const keyring = await Keyring.open({ storage, unlockLifetimeMs: settings.unlockMinutes * 60_000 });
    console.info(`sigill: keyring open (${keyring.size} keys in ${Math.round(performance.now() - started)} ms)`);
    setInterval(() => keepUnlockedKeysAlive(keyring, api), SWEEP_INTERVAL_MS);
    const discovery = await KeyDiscovery.open({ keyring, storage });
    const fetchForLookups = options.fetch ?? extensionFetch;
    const mayLookUp = () => api.permissions.contains({ origins: LOOKUP_ORIGINS });
    // Expired or revoked keys are looked up again when the background starts, at most once a day
    // per key (KeyDiscovery.refresh), and only if the user allowed automatic lookups.
    if (settings.lookupAutomatically) {
      void mayLookUp()
        .then((allowed) => (allowed ? discovery.refresh(lookupSources(settings, fetchForLookups).filter((source) => source.enabled), { trigger: 'automatic' }) : undefined))
        .catch((error: unknown) => console.warn('sigill: refreshing expired or revoked keys failed', error));
    }
    return new SigillService({
      discovery: { discovery, fetch: fetchForLookups, mayLookUp },
      keyring,
      storage,
      prompts,
      accounts: () => api.accounts.list(false),
      fetchText: options.fetchText ?? fetchKeyFile,
      extensionOrigin: api.runtime.getURL(''),
    });
  })();
  // Logged, not thrown: a keyring that cannot be read must not take the rest of the background down.
  ready.catch((error: unknown) => console.error('sigill: the keyring could not be opened', error));
  const reading = ready.then((service) => {
    const reader = new ReadService({
      api,
      keys: service,
      translate: translator(api),
      objectURL: options.objectURL ?? { create: (data) => URL.createObjectURL(data), revoke: (url) => URL.revokeObjectURL(url) },
      ...(options.sanitizeHtml === undefined ? {} : { sanitizeHtml: options.sanitizeHtml }),
    });
    return reader;
  });
  // The display script and the listener for displayed messages are registered at once (Manifest V3 wakes the background for them).
  api.replyCompose.onComposeStateChanged.addListener((tab) => void reading.then((reader) => reader.composeOpened(tab)).catch((error: unknown) => console.error('sigill: the reply could not be prepared', error)));
  api.messageDisplay.onMessagesDisplayed.addListener((tab, messages) => void reading.then((reader) => reader.displayed(tab, messages), () => undefined));
  // A message selected in a list is read while Thunderbird loads it into the pane (never prompting before it is shown).
  api.mailTabs.onSelectedMessagesChanged.addListener(
    (tab, messages) => void reading.then((reader) => reader.selected(tab, messages)).catch((error: unknown) => console.warn('sigill: a selected message could not be read ahead', error)),
  );
  void reading.then((reader) => reader.start()).catch((error: unknown) => console.error('sigill: the message display could not be set up', error));

  api.runtime.onMessage.addListener((message, sender) => {
    if (typeof message !== 'object' || message === null || !('sigill' in message)) return undefined;
    const name = (message as { sigill: unknown }).sigill;
    if (typeof name === 'string' && isReadRequest(name)) {
      const payload = (message as { payload?: unknown }).payload;
      return reading.then(
        (reader) => reader.call(name as ReadRequestName, payload as never, sender, api.runtime.getURL('')),
        (error: unknown) => ({ ok: false, error: { code: 'INTERNAL', message: `Sigill’s keyring could not be opened: ${error instanceof Error ? error.message : String(error)}` } }),
      );
    }
    return ready.then(
      (service) => service.handleMessage(message, sender),
      (error: unknown) => ({ ok: false, error: { code: 'INTERNAL', message: `Sigill’s keyring could not be opened: ${error instanceof Error ? error.message : String(error)}` } }),
    );
  });
  api.windows.onRemoved.addListener((windowId) => prompts.windowClosed(windowId));

  // Kept in storage.session: a background suspended between the popup and Send must not forget them.
  const choices = new SessionChoices(api.storage.session);
  const choicesRestored = choices.restore();
  /** Each compose tab's last status, as its button shows it (the drafts section of the popup reads it). */
  const composeStatuses = new Map<number, ComposeStatus>();
  const failures = new Map<number, string>();
  const notify = notifySendFailure(api, (tabId, text) => failures.set(tabId, text));
  // Registered at once: the Experiment fires onEncapsulate during a send that onBeforeSend armed.
  const pgpMime = new PgpMimeSends(options.pgpMime, {
    onFailure: (tabId, error) => void notify({ tabId, step: 'pgpmime', code: error.code, problems: [{ code: error.code, message: error.message }] }).catch(() => undefined),
  });
  const notice = notifyFormatNotice(api);
  const send = Promise.all([ready, choicesRestored]).then(
    ([service]) =>
      new SendHook({
        keyring: service.keyring,
        settings: () => loadSettings(storage),
        compose: api.compose,
        askPassphrase: (info, attempt) => prompts.ask(info, attempt),
        notify,
        choice: (tabId) => choices.get(tabId),
        relatesToEncrypted: (details) => relatesToEncrypted(details, (messageId) => api.messages.getRaw(messageId)),
        pgpMime,
        notice,
      }),
  );
  send.catch(() => undefined);
  api.compose.onAfterSend.addListener((tab, info) => send.then((hook) => hook.onAfterSend(tab, info)).catch((error: unknown) => console.error('sigill: after the send', error)));
  // Registered at once so that Manifest V3 wakes the background for every send.
  api.compose.onBeforeSend.addListener(async (tab, details) => {
    let hook: SendHook;
    try {
      hook = await send;
    } catch (error) {
      // Without the keyring or the popup's choices Sigill cannot know whether this message had to be encrypted: fail closed.
      await notify({ tabId: tab.id ?? -1, step: 'recipients', code: 'INTERNAL', problems: [{ code: 'INTERNAL', message: `Sigill could not open its keyring or read this message’s choices: ${error instanceof Error ? error.message : String(error)}` }] }).catch(() => undefined);
      return { cancel: true };
    }
    return hook.onBeforeSend(tab, details);
  });

  // The compose button: its popup's requests, and its badge (will this message go encrypted?).
  const composeStatus = Promise.all([ready, choicesRestored]).then(
    ([service]) =>
      new ComposeStatusService({
        keyring: service.keyring,
        settings: () => loadSettings(storage),
        choices,
        lastFailure: (tabId) => failures.get(tabId),
        pgpMime,
        relatesToEncrypted: (details) => relatesToEncrypted(details, (messageId) => api.messages.getRaw(messageId)),
        getComposeDetails: (tabId) => api.compose.getComposeDetails(tabId),
        accounts: () => api.accounts.list(true),
        badge: async (tabId, status) => {
          composeStatuses.set(tabId, status);
          const badge = badgeFor(status);
          await api.composeAction.setBadgeText({ tabId, text: badge.text });
          await api.composeAction.setBadgeBackgroundColor({ tabId, color: badge.color });
          await api.composeAction.setTitle({ tabId, title: api.i18n.getMessage(badge.title) });
        },
        openOptions: async (hash) => {
          await api.tabs.create({ url: api.runtime.getURL(`options/options.html${hash}`) });
        },
      }),
  );
  composeStatus.catch(() => undefined);
  api.runtime.onMessage.addListener((message, sender) => {
    if (typeof message !== 'object' || message === null || !('sigillCompose' in message)) return undefined;
    return composeStatus.then(
      (service) => service.handleMessage(message, sender, api.runtime.getURL('')),
      (error: unknown) => ({ ok: false, error: { code: 'INTERNAL', message: `Sigill’s keyring could not be opened: ${error instanceof Error ? error.message : String(error)}` } }),
    );
  });
  api.compose.onComposeStateChanged.addListener((tab) => {
    if (tab.id === undefined) return;
    const tabId = tab.id;
    void composeStatus.then((service) => service.status(tabId)).catch(() => undefined);
  });
  // Drafts of an encrypted message are saved encrypted (drafts.ts, the Experiment's draft arm).
  void startDrafts({ api, ready, settings: () => loadSettings(storage), choices, composeStatuses, ...(options.sanitizeHtml === undefined ? {} : { sanitizeHtml: options.sanitizeHtml }) });
  return { ready, send, choices, reading };
}
