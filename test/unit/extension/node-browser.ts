/**
 * A stand-in for Thunderbird's WebExtension APIs in Node (they cannot run outside Thunderbird), shaped
 * as `BrowserApi` from extension/platform/browser.ts, the one module the extension reaches them through.
 * storage.local is a real in-memory store, runtime messages go to the registered listeners with the
 * sender's page URL, windows are recorded, i18n reads the real _locales files. Real Thunderbird runs
 * the same code in test/e2e.
 */
import { readFileSync } from 'node:fs';
import { MemoryStorage } from '../../../src/core/index.ts';
import type { AccountInfo, BrowserApi, DownloadRequest, MessageListener } from '../../../extension/platform/browser.ts';
import { nodeComposer, type NodeComposer } from './node-compose.ts';

export const EXTENSION_ORIGIN = 'moz-extension://00000000-0000-4000-8000-000000000001/';

interface LocaleMessage {
  message: string;
  placeholders?: Record<string, { content: string }>;
}

export function localeMessages(locale: string): Record<string, LocaleMessage> {
  return JSON.parse(readFileSync(new URL(`../../../extension/_locales/${locale}/messages.json`, import.meta.url), 'utf8')) as Record<string, LocaleMessage>;
}

export interface NodeBrowser extends BrowserApi {
  storageBackend: MemoryStorage;
  /** How many calls Sigill made that Thunderbird counts as background activity. */
  activityCalls: number;
  openWindows: Map<number, string>;
  /** Sends `message` as the page at `path` would (`options/options.html` ...). */
  sendFrom(path: string, message: unknown): Promise<unknown>;
  closeWindowByUser(windowId: number): void;
  /** Origins the user granted (optional host permissions); `permissions.request` grants when `grantOnRequest`. */
  grantedOrigins: Set<string>;
  grantOnRequest: boolean;
  /** Compose windows (node-compose.ts) and the notifications shown. */
  composer: NodeComposer;
  notificationsShown: Array<{ id: string; title: string; message: string }>;
  /** The tabs opened (tabs.create). */
  tabsOpened: string[];
  /** Raw messages by id (what messages.getRaw gives as a File), and the message each tab shows. */
  rawMessages: Map<number, Uint8Array | string>;
  displayedIn: Map<number, number>;
  /** How many times getRaw was asked. */
  rawReads: number;
  downloaded: DownloadRequest[];
  /** The compose button's and the message display button's badge per tab. */
  badges: Map<number, { text?: string; color?: string; title?: string }>;
  registeredDisplayScripts: Array<{ id: string; js: string[]; css?: string[] }>;
  tabMessages: Array<{ tabId: number; message: unknown }>;
  composeDetails: Map<number, { type?: string; relatedMessageId?: number; isPlainText?: boolean; plainTextBody?: string; body?: string }>;
  /** Opens a composer tab (fires compose.onComposeStateChanged twice, as Thunderbird does when it opens), as Reply or Forward does. */
  openCompose(tabId: number, details: { type: string; relatedMessageId?: number; isPlainText: boolean }): void;
  /** Shows a message in a tab, as a click in the message list does (fires onMessagesDisplayed). */
  display(tabId: number, messageId: number): void;
  /**
   * Selects a message in a mail tab's list (fires mailTabs.onSelectedMessagesChanged), before it is displayed:
   * Thunderbird loads it into the pane afterwards (`display`). `paneHidden`: the tab's message pane is closed.
   */
  select(tabId: number, messageIds: number[], options?: { paneHidden?: boolean }): void;
  /** Sends `message` as the message display script in `tabId` would. */
  sendFromDisplay(tabId: number, message: unknown): Promise<unknown>;
}

export function nodeBrowser(options: { accounts?: AccountInfo[]; locale?: string } = {}): NodeBrowser {
  const storageBackend = new MemoryStorage();
  // storage.session: kept by Thunderbird across a background's suspension (shared by every startBackground on this api).
  const sessionBackend = new MemoryStorage();
  const listeners: MessageListener[] = [];
  const removedListeners: Array<(windowId: number) => void> = [];
  const openWindows = new Map<number, string>();
  const messages = localeMessages(options.locale ?? 'en');
  let nextWindowId = 1;
  const createdListeners: Array<(tab: { id?: number; type?: string }) => void> = [];
  const displayedListeners: Array<(tab: { id?: number }, messages: Array<{ id: number }>) => void> = [];
  const selectedListeners: Array<(tab: { id?: number }, messages: Array<{ id: number }>) => void> = [];
  const hiddenPanes = new Set<number>();
  const composer = nodeComposer();

  async function dispatch(message: unknown, url: string, tab?: { id: number }): Promise<unknown> {
    // JSON round trip: runtime messages are structured clones, never shared objects.
    const copy = JSON.parse(JSON.stringify(message)) as unknown;
    for (const listener of listeners) {
      const answer = listener(copy, { url, id: 'sigill@sigill.dev', ...(tab === undefined ? {} : { tab }) });
      if (answer !== undefined) return JSON.parse(JSON.stringify(await answer)) as unknown;
    }
    return undefined;
  }

  const api: NodeBrowser = {
    rawMessages: new Map(),
    displayedIn: new Map(),
    rawReads: 0,
    downloaded: [],
    badges: new Map(),
    registeredDisplayScripts: [],
    tabMessages: [],
    composeDetails: new Map(),
    openCompose: (tabId, details) => {
      api.composeDetails.set(tabId, { ...details });
      for (const listener of [...createdListeners, ...createdListeners]) listener({ id: tabId, type: 'messageCompose' });
    },
    replyCompose: {
      getComposeDetails: async (tabId) => ({ ...api.composeDetails.get(tabId) }),
      setComposeDetails: async (tabId, details) => void api.composeDetails.set(tabId, { ...api.composeDetails.get(tabId), ...details }),
      onComposeStateChanged: { addListener: (listener) => void createdListeners.push(listener) },
    },
    display: (tabId, messageId) => {
      api.displayedIn.set(tabId, messageId);
      for (const listener of displayedListeners) listener({ id: tabId }, [{ id: messageId }]);
    },
    select: (tabId, messageIds, { paneHidden = false } = {}) => {
      if (paneHidden) hiddenPanes.add(tabId);
      else hiddenPanes.delete(tabId);
      for (const listener of selectedListeners) listener({ id: tabId }, messageIds.map((id) => ({ id })));
    },
    mailTabs: {
      get: async (tabId) => ({ messagePaneVisible: !hiddenPanes.has(tabId) }),
      onSelectedMessagesChanged: { addListener: (listener) => void selectedListeners.push(listener) },
    },
    sendFromDisplay: (tabId, message) => dispatch(message, 'mailbox:///message', { id: tabId }),
    messages: {
      getRaw: async (messageId, options) => {
        api.rawReads += 1;
        const raw = api.rawMessages.get(messageId);
        if (raw === undefined) throw new Error(`no message ${messageId}`);
        const bytes = typeof raw === 'string' ? new TextEncoder().encode(raw) : raw;
        // BinaryString: one char per octet, as Thunderbird streams the stored message.
        if (options?.format === 'BinaryString') return Buffer.from(bytes).toString('latin1');
        return new File([bytes as Uint8Array<ArrayBuffer>], `${messageId}.eml`);
      },
      get: async (messageId) => {
        const raw = api.rawMessages.get(messageId);
        if (raw === undefined) throw new Error(`no message ${messageId}`);
        return { size: typeof raw === 'string' ? new TextEncoder().encode(raw).length : raw.length };
      },
    },
    messageDisplay: {
      getDisplayedMessages: async (tabId) => {
        const id = api.displayedIn.get(tabId);
        return id === undefined ? [] : [{ id }];
      },
      onMessagesDisplayed: { addListener: (listener) => void displayedListeners.push(listener) },
    },
    messageDisplayAction: {
      setBadgeText: async ({ tabId, text }) => void api.badges.set(tabId, { ...api.badges.get(tabId), text }),
      setBadgeBackgroundColor: async ({ tabId, color }) => void api.badges.set(tabId, { ...api.badges.get(tabId), color }),
      setTitle: async ({ tabId, title }) => void api.badges.set(tabId, { ...api.badges.get(tabId), title }),
    },
    scriptingMessageDisplay: {
      getRegisteredScripts: async () => api.registeredDisplayScripts.map(({ id }) => ({ id })),
      registerScripts: async (scripts) => void api.registeredDisplayScripts.push(...scripts),
    },
    downloads: {
      download: async (request) => api.downloaded.push(request),
    },
    tabs: {
      sendMessage: async (tabId, message) => void api.tabMessages.push({ tabId, message }),
      query: async () => [...api.displayedIn.keys()].map((id) => ({ id })),
      create: async ({ url }) => void api.tabsOpened.push(url),
    },
    grantedOrigins: new Set(),
    grantOnRequest: true,
    permissions: {
      contains: async ({ origins = [] }) => origins.every((origin) => api.grantedOrigins.has(origin)),
      request: async ({ origins = [] }) => {
        if (!api.grantOnRequest) return false;
        for (const origin of origins) api.grantedOrigins.add(origin);
        return true;
      },
    },
    composer,
    compose: composer.compose,
    notificationsShown: [],
    tabsOpened: [],
    composeAction: {
      setBadgeText: async ({ tabId, text }) => void api.badges.set(tabId, { ...api.badges.get(tabId), text }),
      setBadgeBackgroundColor: async ({ tabId, color }) => void api.badges.set(tabId, { ...api.badges.get(tabId), color }),
      setTitle: async ({ tabId, title }) => void api.badges.set(tabId, { ...api.badges.get(tabId), title }),
    },
    notifications: {
      create: async (id, { title, message }) => {
        api.notificationsShown.push({ id, title, message });
        return id;
      },
    },
    storageBackend,
    activityCalls: 0,
    openWindows,
    runtime: {
      id: 'sigill@sigill.dev',
      getURL: (path) => `${EXTENSION_ORIGIN}${path.replace(/^\//, '')}`,
      getManifest: () => ({ version: '0.0.0-test' }),
      sendMessage: (message) => dispatch(message, `${EXTENSION_ORIGIN}options/options.html`),
      onMessage: { addListener: (listener) => void listeners.push(listener) },
      openOptionsPage: async () => undefined,
      getPlatformInfo: async () => {
        api.activityCalls += 1;
        return { os: 'linux', arch: 'x86-64' };
      },
    },
    storage: {
      local: {
        get: (keys) => storageBackend.get(keys),
        set: (items) => storageBackend.set(items),
        remove: (keys) => storageBackend.remove(keys),
      },
      session: {
        get: (keys) => sessionBackend.get(keys),
        set: (items) => sessionBackend.set(items),
      },
    },
    accounts: { list: async () => options.accounts ?? [] },
    windows: {
      create: async ({ url }) => {
        const id = nextWindowId++;
        openWindows.set(id, url);
        return { id };
      },
      remove: async (windowId) => {
        if (openWindows.delete(windowId)) for (const listener of removedListeners) listener(windowId);
      },
      onRemoved: { addListener: (listener) => void removedListeners.push(listener) },
    },
    i18n: {
      getMessage: (name, substitutions) => {
        const entry = messages[name];
        if (entry === undefined) return '';
        const values = substitutions === undefined ? [] : Array.isArray(substitutions) ? substitutions : [substitutions];
        let text = entry.message;
        for (const [placeholder, { content }] of Object.entries(entry.placeholders ?? {})) {
          const value = /^\$(\d)$/.exec(content)?.[1];
          text = text.replaceAll(`$${placeholder.toUpperCase()}$`, value === undefined ? content : (values[Number(value) - 1] ?? ''));
        }
        return text;
      },
      getUILanguage: () => options.locale ?? 'en',
    },
    sendFrom: (path, message) => dispatch(message, `${EXTENSION_ORIGIN}${path}`),
    closeWindowByUser: (windowId) => {
      if (openWindows.delete(windowId)) for (const listener of removedListeners) listener(windowId);
    },
  };
  return api;
}
