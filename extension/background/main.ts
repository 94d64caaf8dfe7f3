/**
 * Starts Sigill's background over a `BrowserApi`: the keyring over storage.local, the passphrase
 * prompt windows, and the message listener for Sigill's pages. Listeners are registered at once
 * (Manifest V3 wakes the background for them); requests wait until the keyring is open.
 */
import { Keyring, loadSettings } from '../../src/core/index.ts';
import type { BrowserApi } from '../platform/browser.ts';
import { storageLocal } from '../platform/storage.ts';
import { PassphrasePrompts } from './prompts.ts';
import { SigillService } from './service.ts';
import { ReadService } from './read.ts';
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

export interface Background {
  ready: Promise<SigillService>;
  /** The read path (display script, status popup), over the same keyring. */
  reading: Promise<ReadService>;
}

export interface BackgroundOptions {
  fetchText?: (url: string) => Promise<string>;
  /** The HTML policy for received mail (DOMPurify over the background's window); without it HTML is shown as text. */
  sanitizeHtml?: (html: string) => string;
  /** blob: URLs for saving decrypted attachments; default the platform's URL.createObjectURL. */
  objectURL?: { create(data: Blob): string; revoke(url: string): void };
}

export function startBackground(api: BrowserApi, options: BackgroundOptions = {}): Background {
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
    const settings = await loadSettings(storage);
    const keyring = await Keyring.open({ storage, unlockLifetimeMs: settings.unlockMinutes * 60_000 });
    setInterval(() => keepUnlockedKeysAlive(keyring, api), SWEEP_INTERVAL_MS);
    return new SigillService({
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
  return { ready, reading };
}
