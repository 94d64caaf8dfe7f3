/**
 * A stand-in for Thunderbird's WebExtension APIs in Node (they cannot run outside Thunderbird), shaped
 * as `BrowserApi` from extension/platform/browser.ts, the one module the extension reaches them through.
 * storage.local is a real in-memory store, runtime messages go to the registered listeners with the
 * sender's page URL, windows are recorded, i18n reads the real _locales files. Real Thunderbird runs
 * the same code in test/e2e.
 */
import { readFileSync } from 'node:fs';
import { MemoryStorage } from '../../../src/core/index.ts';
import type { AccountInfo, BrowserApi, MessageListener } from '../../../extension/platform/browser.ts';
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
  /** The compose button's badge per tab, and the tabs opened. */
  badges: Map<number, { text?: string; color?: string; title?: string }>;
  tabsOpened: string[];
  /** Raw messages by id (messages.getRaw). */
  rawMessages: Map<number, string>;
}

export function nodeBrowser(options: { accounts?: AccountInfo[]; locale?: string } = {}): NodeBrowser {
  const storageBackend = new MemoryStorage();
  const listeners: MessageListener[] = [];
  const removedListeners: Array<(windowId: number) => void> = [];
  const openWindows = new Map<number, string>();
  const messages = localeMessages(options.locale ?? 'en');
  let nextWindowId = 1;
  const composer = nodeComposer();
  const notificationsShown: NodeBrowser['notificationsShown'] = [];
  const badges: NodeBrowser['badges'] = new Map();
  const tabsOpened: string[] = [];
  const rawMessages = new Map<number, string>();

  async function dispatch(message: unknown, url: string): Promise<unknown> {
    // JSON round trip: runtime messages are structured clones, never shared objects.
    const copy = JSON.parse(JSON.stringify(message)) as unknown;
    for (const listener of listeners) {
      const answer = listener(copy, { url, id: 'sigill@sigill.dev' });
      if (answer !== undefined) return JSON.parse(JSON.stringify(await answer)) as unknown;
    }
    return undefined;
  }

  const api: NodeBrowser = {
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
    notificationsShown,
    badges,
    tabsOpened,
    rawMessages,
    messages: {
      getRaw: async (messageId) => {
        const raw = rawMessages.get(messageId);
        if (raw === undefined) throw new Error(`no message ${messageId}`);
        return new File([raw], `${messageId}.eml`);
      },
    },
    composeAction: {
      setBadgeText: async ({ tabId, text }) => void badges.set(tabId, { ...badges.get(tabId), text }),
      setBadgeBackgroundColor: async ({ tabId, color }) => void badges.set(tabId, { ...badges.get(tabId), color }),
      setTitle: async ({ tabId, title }) => void badges.set(tabId, { ...badges.get(tabId), title }),
    },
    tabs: {
      query: async () => [],
      create: async ({ url }) => void tabsOpened.push(url),
    },
    notifications: {
      create: async (id, { title, message }) => {
        notificationsShown.push({ id, title, message });
        return id;
      },
    },
    sendFrom: (path, message) => dispatch(message, `${EXTENSION_ORIGIN}${path}`),
    closeWindowByUser: (windowId) => {
      if (openWindows.delete(windowId)) for (const listener of removedListeners) listener(windowId);
    },
  };
  return api;
}
