/**
 * The one module through which extension code reaches Thunderbird's WebExtension APIs. Built on
 * `webextension-polyfill` and typed with `@types/thunderbird-webext-browser`; `BrowserApi` lists
 * exactly what Sigill uses, so that Node tests can hand the extension's logic a substitute of this
 * module (and the build test can check the manifest's permissions against the names used here).
 */
import polyfill from 'webextension-polyfill';

export interface MessageSenderInfo {
  /** The page that sent the message (`moz-extension://<uuid>/options/options.html` ...). */
  url?: string;
  /** The extension that sent it. */
  id?: string;
  /** The tab of a content or message display script that sent it (read path). */
  tab?: { id?: number };
}

export type MessageListener = (message: unknown, sender: MessageSenderInfo) => Promise<unknown> | undefined;

export interface IdentityInfo {
  id?: string;
  email?: string;
  name?: string;
}

export interface AccountInfo {
  id: string;
  name: string;
  identities: IdentityInfo[];
}

/** A message as the read path needs it (messages.MessageHeader, narrowed). */
export interface MessageInfo {
  id: number;
  subject?: string;
}

/** What `downloads.download` is given to save a decrypted attachment (a blob: URL made by the background). */
export interface DownloadRequest {
  url: string;
  filename: string;
  conflictAction: 'uniquify';
  saveAs: boolean;
}

/** The read path's Thunderbird APIs (messages, display, display action, scripting, downloads, tabs). */
export interface ReadBrowserApi {
  messages: {
    /** MV3: a File with the message as stored; never decrypted by Thunderbird's own OpenPGP (`decrypt: false`). */
    getRaw(messageId: number): Promise<Blob | string>;
  };
  messageDisplay: {
    getDisplayedMessages(tabId: number): Promise<MessageInfo[]>;
    onMessagesDisplayed: { addListener(listener: (tab: { id?: number }, messages: MessageInfo[]) => void): void };
  };
  messageDisplayAction: {
    setBadgeText(details: { tabId: number; text: string }): Promise<void>;
    setBadgeBackgroundColor(details: { tabId: number; color: string }): Promise<void>;
    setTitle(details: { tabId: number; title: string }): Promise<void>;
  };
  scriptingMessageDisplay: {
    getRegisteredScripts(): Promise<Array<{ id: string }>>;
    registerScripts(scripts: Array<{ id: string; js: string[]; css?: string[] }>): Promise<void>;
  };
  downloads: {
    download(request: DownloadRequest): Promise<number>;
  };
  tabs: {
    sendMessage(tabId: number, message: unknown): Promise<unknown>;
    query(query: { active?: boolean; currentWindow?: boolean }): Promise<Array<{ id?: number }>>;
  };
  /** The composer, for replies and forwards of decrypted mail (compose.getComposeDetails / setComposeDetails). */
  replyCompose: {
    getComposeDetails(tabId: number): Promise<ReplyComposeDetails>;
    setComposeDetails(tabId: number, details: { plainTextBody?: string; body?: string }): Promise<void>;
    /** Fires for composers only, first when one has opened (tabs.onCreated would wake Sigill for every tab and window). */
    onComposeStateChanged: { addListener(listener: (tab: { id?: number; type?: string }) => void): void };
  };
}

/** The composer's details the reply hook reads. */
export interface ReplyComposeDetails {
  type?: string;
  relatedMessageId?: number;
  isPlainText?: boolean;
}

export interface BrowserApi extends ReadBrowserApi {
  runtime: {
    id: string;
    getURL(path: string): string;
    getManifest(): { version: string };
    sendMessage(message: unknown): Promise<unknown>;
    onMessage: { addListener(listener: MessageListener): void };
    openOptionsPage(): Promise<void>;
    /** Any cheap call into the parent process: Thunderbird counts it as activity of the background. */
    getPlatformInfo(): Promise<unknown>;
  };
  storage: {
    local: {
      get(keys: string[]): Promise<Record<string, unknown>>;
      set(items: Record<string, unknown>): Promise<void>;
      remove(keys: string[]): Promise<void>;
    };
  };
  accounts: {
    list(includeFolders?: boolean): Promise<AccountInfo[]>;
  };
  windows: {
    create(createData: { url: string; type: 'popup'; width: number; height: number; allowScriptsToClose?: boolean }): Promise<{ id?: number }>;
    remove(windowId: number): Promise<void>;
    onRemoved: { addListener(listener: (windowId: number) => void): void };
  };
  i18n: {
    getMessage(name: string, substitutions?: string | string[]): string;
    getUILanguage(): string;
  };
}

type ThunderbirdBrowser = typeof globalThis.browser;

/**
 * The MV3 shapes the bundled types (written for MV2) lack: `scripting.messageDisplay` (Thunderbird 128+),
 * `getRaw`'s `decrypt` option, and `getDisplayedMessages` answering a MessageList in MV3.
 */
interface Mv3Extras {
  scripting: { messageDisplay: ReadBrowserApi['scriptingMessageDisplay'] };
  messages: { getRaw(messageId: number, options: { decrypt: boolean; data_format: 'File' }): Promise<Blob | string> };
  messageDisplay: { getDisplayedMessages(tabId: number): Promise<MessageInfo[] | { messages: MessageInfo[] }> };
}

function narrowRead(thunderbird: ThunderbirdBrowser): ReadBrowserApi {
  // Named `browser` so that the build test sees which namespaces (and so permissions) are used.
  const browser = thunderbird as ThunderbirdBrowser & Pick<Mv3Extras, 'scripting'>;
  return {
    messages: {
      getRaw: (messageId) => (browser.messages as unknown as Mv3Extras['messages']).getRaw(messageId, { decrypt: false, data_format: 'File' }),
    },
    messageDisplay: {
      getDisplayedMessages: async (tabId) => {
        const displayed = (await browser.messageDisplay.getDisplayedMessages(tabId)) as unknown as MessageInfo[] | { messages: MessageInfo[] };
        return Array.isArray(displayed) ? displayed : displayed.messages;
      },
      onMessagesDisplayed: {
        addListener: (listener) =>
          browser.messageDisplay.onMessagesDisplayed.addListener((tab, messages) => {
            const list = messages as unknown as MessageInfo[] | { messages: MessageInfo[] };
            listener(tab, Array.isArray(list) ? list : list.messages);
          }),
      },
    },
    messageDisplayAction: {
      setBadgeText: (details) => browser.messageDisplayAction.setBadgeText(details),
      setBadgeBackgroundColor: (details) => browser.messageDisplayAction.setBadgeBackgroundColor(details),
      setTitle: (details) => browser.messageDisplayAction.setTitle(details),
    },
    scriptingMessageDisplay: {
      getRegisteredScripts: () => browser.scripting.messageDisplay.getRegisteredScripts(),
      registerScripts: (scripts) => browser.scripting.messageDisplay.registerScripts(scripts),
    },
    downloads: {
      download: (request) => browser.downloads.download(request),
    },
    tabs: {
      sendMessage: (tabId, message) => browser.tabs.sendMessage(tabId, message) as Promise<unknown>,
      query: async (query) => browser.tabs.query(query),
    },
    replyCompose: {
      getComposeDetails: async (tabId) => (await browser.compose.getComposeDetails(tabId)) as ReplyComposeDetails,
      setComposeDetails: async (tabId, details) => {
        await browser.compose.setComposeDetails(tabId, details);
      },
      onComposeStateChanged: { addListener: (listener) => browser.compose.onComposeStateChanged.addListener((tab) => listener(tab)) },
    },
  };
}

/** Thunderbird's APIs, narrowed to what Sigill uses; each namespace is spelled out for the permission check. */
function narrow(browser: ThunderbirdBrowser): BrowserApi {
  return {
    ...narrowRead(browser),
    runtime: {
      get id() {
        return browser.runtime.id;
      },
      getURL: (path) => browser.runtime.getURL(path),
      getManifest: () => browser.runtime.getManifest(),
      sendMessage: (message) => browser.runtime.sendMessage(message) as Promise<unknown>,
      onMessage: { addListener: (listener) => browser.runtime.onMessage.addListener(listener as Parameters<typeof browser.runtime.onMessage.addListener>[0]) },
      openOptionsPage: () => browser.runtime.openOptionsPage(),
      getPlatformInfo: () => browser.runtime.getPlatformInfo(),
    },
    storage: {
      local: {
        get: (keys) => browser.storage.local.get(keys) as Promise<Record<string, unknown>>,
        set: (items) => browser.storage.local.set(items),
        remove: (keys) => browser.storage.local.remove(keys),
      },
    },
    accounts: {
      list: async (includeFolders) => (await browser.accounts.list(includeFolders)) as AccountInfo[],
    },
    windows: {
      create: (createData) => browser.windows.create(createData),
      remove: (windowId) => browser.windows.remove(windowId),
      onRemoved: { addListener: (listener) => browser.windows.onRemoved.addListener(listener) },
    },
    i18n: {
      getMessage: (name, substitutions) => browser.i18n.getMessage(name, substitutions),
      getUILanguage: () => browser.i18n.getUILanguage(),
    },
  };
}

let api: BrowserApi | undefined;

/** Thunderbird's APIs for this extension page or background (created on first use). */
export function browserApi(): BrowserApi {
  api ??= narrow(polyfill as ThunderbirdBrowser);
  return api;
}
