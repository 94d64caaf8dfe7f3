/**
 * Wires the drafts service (drafts.ts) into the background: the Experiment's draft arm, compose windows
 * opening and closing, and the compose popup's drafts requests. Without the Experiment nothing is
 * wired, and the popup says that drafts are saved unencrypted.
 */
import type { Keyring, Settings } from '../../src/core/index.ts';
import type { BrowserApi, ComposeDetailsView } from '../platform/browser.ts';
import { DraftService, draftsExperiment } from './drafts.ts';
import { decideProtection, type MessageChoice } from './send.ts';
import { relatesToEncrypted } from './send-status.ts';

/** Below Thunderbird's 30 s idle timeout for Manifest V3 backgrounds (extensions.background.idle.timeout). */
const KEEP_ALIVE_MS = 15_000;

export interface DraftsStartOptions {
  api: BrowserApi;
  ready: Promise<{ keyring: Keyring; unlockedKey(fingerprint: string, reason: 'decrypt'): Promise<Awaited<ReturnType<Keyring['secretKey']>>> }>;
  settings: () => Promise<Settings>;
  choices: Map<number, MessageChoice>;
  /** Each compose tab's last status (the compose button's), so the popup's drafts line costs no second computation. */
  composeStatuses: Map<number, { encrypt: boolean; encryptRequired: boolean }>;
  /** The read path's HTML policy, so an HTML draft reopens as HTML. */
  sanitizeHtml?: (html: string) => string;
}

/** What the compose API offers beyond the background's BrowserApi (setting the subject, attachments back). */
interface ComposeExtras {
  setComposeDetails(tabId: number, details: Partial<ComposeDetailsView>): Promise<void>;
}

export function startDrafts(options: DraftsStartOptions): Promise<DraftService | undefined> {
  const experiment = draftsExperiment();
  if (experiment === undefined) return Promise.resolve(undefined);
  const { api, choices } = options;
  const extras = (globalThis as unknown as { browser: { compose: ComposeExtras } }).browser.compose;
  const t = (name: string, substitutions?: string[]) => api.i18n.getMessage(name, substitutions);
  const service = options.ready.then((keys) => {
    const drafts = new DraftService({
      experiment,
      keyring: keys.keyring,
      // The send path's own decision (decideProtection), without redrawing the compose button: a badge
      // or title change while its popup opens can keep the popup from opening.
      protection: async (tabId) => {
        try {
          const details = await api.compose.getComposeDetails(tabId);
          const related = await relatesToEncrypted(details, (messageId) => api.messages.getRaw(messageId)).catch(() => false);
          return await decideProtection({ keyring: keys.keyring, settings: await options.settings(), details, choice: choices.get(tabId), relatesToEncrypted: related });
        } catch {
          // When Sigill cannot tell (an address-book list it cannot expand, ...), the draft is encrypted:
          // to the sender's own key that loses nothing, and it never leaves a plaintext copy by mistake.
          return { encrypt: true, encryptRequired: false };
        }
      },
      compose: {
        getComposeDetails: (tabId) => api.compose.getComposeDetails(tabId),
        setComposeDetails: (tabId, details) => extras.setComposeDetails(tabId, details),
        listAttachments: (tabId) => api.compose.listAttachments(tabId),
        removeAttachment: (tabId, attachmentId) => api.compose.removeAttachment(tabId, attachmentId),
        addAttachment: (tabId, attachment) => api.compose.addAttachment(tabId, attachment),
      },
      getRaw: (messageId) => api.messages.getRaw(messageId),
      unlockedKey: (fingerprint) => keys.unlockedKey(fingerprint, 'decrypt'),
      lastKnown: (tabId) => {
        const status = options.composeStatuses.get(tabId);
        return status === undefined ? undefined : { encrypt: status.encrypt || status.encryptRequired };
      },
      markEncrypted: (tabId) => choices.set(tabId, { ...choices.get(tabId), encrypt: true }),
      notify: async (title, message) => {
        await api.notifications.create(`sigill-drafts-${Date.now()}`, { type: 'basic', title, message, iconUrl: api.runtime.getURL('icons/sigill-96.png') });
      },
      translate: (name, substitutions) => t(name, substitutions),
      ...(options.sanitizeHtml === undefined ? {} : { sanitizeHtml: options.sanitizeHtml }),
    });
    drafts.start();
    return drafts;
  });
  service.catch((error: unknown) => console.error('sigill: encrypted drafts could not be set up', error));
  // Thunderbird suspends an idle Manifest V3 background after 30 s, and the draft arm's listeners go
  // with it: a draft saved then would be refused (fail closed, but the user's draft is not saved). While
  // a compose window is watched, one cheap call into the parent process every 15 s counts as activity.
  setInterval(() => {
    void service.then((drafts) => {
      if (drafts.watching() > 0) void api.runtime.getPlatformInfo().catch(() => undefined);
    });
  }, KEEP_ALIVE_MS);
  const opened = (tabId: number | undefined): void => {
    if (tabId === undefined) return;
    void service.then((drafts) => drafts?.composeOpened(tabId)).catch((error: unknown) => console.error('sigill: a draft could not be opened', error));
  };
  // A composer's first onComposeStateChanged comes once it is ready (as the read path uses it); tabs.onCreated
  // would come while Thunderbird is still building the window, too early to ask it anything.
  api.compose.onComposeStateChanged.addListener((tab) => opened(tab.id));
  const tabs = (globalThis as unknown as { browser: { tabs: TabsExtras } }).browser.tabs;
  tabs.onRemoved.addListener((tabId) => {
    options.composeStatuses.delete(tabId);
    void service.then((drafts) => drafts.closed(tabId)).catch(() => undefined);
  });
  // Compose windows already open when Sigill starts (an update, a restart of the add-on).
  void tabs.query({ type: 'messageCompose' }).then((open) => open.forEach((tab) => opened(tab.id)), () => undefined);
  api.runtime.onMessage.addListener((message, sender) => {
    if (typeof message !== 'object' || message === null || !('sigillDrafts' in message)) return undefined;
    return service.then((drafts) => drafts.handleMessage(message, sender, api.runtime.getURL('')));
  });
  return service;
}

interface TabsExtras {
  onRemoved: { addListener(listener: (tabId: number) => void): void };
  query(query: { type: string }): Promise<Array<{ id?: number }>>;
}
