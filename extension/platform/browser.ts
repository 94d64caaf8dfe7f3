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
  /** Where this identity saves drafts (Thunderbird 128+; needs accountsRead). */
  draftsFolder?: { accountId: string; path?: string; name?: string } | null;
}

export interface AccountInfo {
  id: string;
  name: string;
  /** 'pop3', 'imap', 'none' (Local Folders) ... */
  type?: string;
  identities: IdentityInfo[];
}

/** An attachment of the message being composed (`compose.ComposeAttachment`). */
export interface ComposeAttachmentInfo {
  id: number;
  name?: string;
  size?: number;
}

/** New content and/or name for a compose attachment (`compose.FileAttachment`). */
export interface ComposeFileAttachment {
  file?: File;
  name?: string;
}

/** A recipient as the compose API gives it: an address string, or a contact / mailing list reference. */
export type ComposeRecipientView = string | { id: string; type: string };

/** Thunderbird's own encryption for one message (Thunderbird 128+; missing from the typings). */
export interface EncryptionTechnology {
  name: string;
  encryptBody: boolean;
  encryptSubject: boolean;
  signMessage: boolean;
}

/** The fields of `compose.ComposeDetails` Sigill reads or sets. */
export interface ComposeDetailsView {
  from?: ComposeRecipientView;
  to?: ComposeRecipientView | ComposeRecipientView[] | null;
  cc?: ComposeRecipientView | ComposeRecipientView[] | null;
  bcc?: ComposeRecipientView | ComposeRecipientView[] | null;
  subject?: string;
  isPlainText?: boolean;
  /** 'auto' | 'plaintext' | 'html' | 'both': how an HTML message goes out. */
  deliveryFormat?: string;
  plainTextBody?: string;
  body?: string;
  identityId?: string;
  relatedMessageId?: number | null;
  type?: string;
  selectedEncryptionTechnology?: EncryptionTechnology | null;
}

/** What `compose.onAfterSend` tells (compose.SendInfo, narrowed). */
export interface AfterSendInfo {
  mode?: string;
  error?: string | null;
  /** Set for a `sendNow` that the server accepted. */
  headerMessageId?: string | null;
}

export type BeforeSendListener = (tab: { id?: number }, details: ComposeDetailsView) => Promise<{ cancel?: boolean; details?: ComposeDetailsView }>;

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

/** How `messages.getRaw` hands over the message (its `data_format`). */
export type RawFormat = 'File' | 'BinaryString';

/** The read path's Thunderbird APIs (messages, display, display action, scripting, downloads, tabs). */
export interface ReadBrowserApi {
  messages: {
    /**
     * The message as stored, never decrypted by Thunderbird's own OpenPGP (`decrypt: false`): a File (MV3's default), or
     * with `format: 'BinaryString'` a string of one char per octet (see read.ts, `#raw`, for why and when).
     */
    getRaw(messageId: number, options?: { format?: RawFormat }): Promise<Blob | string>;
    /** The message's header as Thunderbird's database has it: `size` is the stored message's size in octets. */
    get(messageId: number): Promise<{ size?: number }>;
  };
  messageDisplay: {
    getDisplayedMessages(tabId: number): Promise<MessageInfo[]>;
    onMessagesDisplayed: { addListener(listener: (tab: { id?: number }, messages: MessageInfo[]) => void): void };
  };
  mailTabs: {
    /** Whether the mail tab shows its message pane (a selected message is then loaded into it). */
    get(tabId: number): Promise<{ messagePaneVisible?: boolean }>;
    /** A selection in a mail tab's message list changed: fires before Thunderbird loads the message into the pane. */
    onSelectedMessagesChanged: { addListener(listener: (tab: { id?: number }, messages: MessageInfo[]) => void): void };
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
    /** In memory while Thunderbird runs; survives the suspension of an idle background. */
    session: {
      get(keys: string[]): Promise<Record<string, unknown>>;
      set(items: Record<string, unknown>): Promise<void>;
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
  permissions: {
    contains(permissions: { origins?: string[]; permissions?: string[] }): Promise<boolean>;
    /** Only from a user action (a click handler) of a page; may show Thunderbird's permission prompt. */
    request(permissions: { origins?: string[]; permissions?: string[] }): Promise<boolean>;
  };
  compose: {
    onBeforeSend: { addListener(listener: BeforeSendListener): void };
    /** Fires when the recipients make the message sendable or not (Sigill redraws the badge then). */
    onComposeStateChanged: { addListener(listener: (tab: { id?: number }) => void): void };
    getComposeDetails(tabId: number): Promise<ComposeDetailsView>;
    /** Puts a body back into the composer (after a failed delivery of an inline send). */
    setComposeDetails(tabId: number, details: ComposeDetailsView): Promise<unknown>;
    /** After a send: `error` is set when it failed (the SMTP server refused it, the connection broke, ...). */
    onAfterSend: { addListener(listener: (tab: { id?: number }, info: AfterSendInfo) => void | Promise<void>): void };
    listAttachments(tabId: number): Promise<ComposeAttachmentInfo[]>;
    getAttachmentFile(attachmentId: number): Promise<File>;
    updateAttachment(tabId: number, attachmentId: number, attachment: ComposeFileAttachment): Promise<ComposeAttachmentInfo>;
    addAttachment(tabId: number, attachment: ComposeFileAttachment): Promise<ComposeAttachmentInfo>;
    removeAttachment(tabId: number, attachmentId: number): Promise<unknown>;
  };
  notifications: {
    create(id: string, options: { type: 'basic'; title: string; message: string; iconUrl?: string }): Promise<string>;
  };
  composeAction: {
    setBadgeText(details: { tabId: number; text: string }): Promise<void>;
    setBadgeBackgroundColor(details: { tabId: number; color: string }): Promise<void>;
    setTitle(details: { tabId: number; title: string }): Promise<void>;
  };
  tabs: {
    query(query: { active?: boolean; currentWindow?: boolean }): Promise<Array<{ id?: number; type?: string }>>;
    create(properties: { url: string }): Promise<unknown>;
    sendMessage(tabId: number, message: unknown): Promise<unknown>;
  };
}

type ThunderbirdBrowser = typeof globalThis.browser;

/**
 * The MV3 shapes the bundled types (written for MV2) lack: `scripting.messageDisplay` (Thunderbird 128+),
 * `getRaw`'s `decrypt` option, and `getDisplayedMessages` answering a MessageList in MV3.
 */
interface Mv3Extras {
  scripting: { messageDisplay: ReadBrowserApi['scriptingMessageDisplay'] };
  messages: { getRaw(messageId: number, options: { decrypt: boolean; data_format: RawFormat }): Promise<Blob | string> };
  messageDisplay: { getDisplayedMessages(tabId: number): Promise<MessageInfo[] | { messages: MessageInfo[] }> };
}

function narrowRead(thunderbird: ThunderbirdBrowser): ReadBrowserApi {
  // Named `browser` so that the build test sees which namespaces (and so permissions) are used.
  const browser = thunderbird as ThunderbirdBrowser & Pick<Mv3Extras, 'scripting'>;
  return {
    messages: {
      getRaw: (messageId, options) =>
        (browser.messages as unknown as Mv3Extras['messages']).getRaw(messageId, { decrypt: false, data_format: options?.format ?? 'File' }),
      get: async (messageId) => {
        const header = (await browser.messages.get(messageId)) as { size?: number } | null;
        return header ?? {};
      },
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
    mailTabs: {
      get: (tabId) => browser.mailTabs.get(tabId),
      onSelectedMessagesChanged: {
        addListener: (listener) =>
          browser.mailTabs.onSelectedMessagesChanged.addListener((tab, selected) => {
            // A MessageList; only its first page is given here, and Sigill reads only a selection of one message.
            const list = selected as unknown as MessageInfo[] | { messages: MessageInfo[] };
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
      session: {
        get: (keys) => browser.storage.session.get(keys) as Promise<Record<string, unknown>>,
        set: (items) => browser.storage.session.set(items),
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
    permissions: {
      contains: (permissions) => browser.permissions.contains(permissions as Parameters<typeof browser.permissions.contains>[0]),
      request: (permissions) => browser.permissions.request(permissions as Parameters<typeof browser.permissions.request>[0]),
    },
    compose: {
      onBeforeSend: {
        // The typings' ComposeDetails lacks selectedEncryptionTechnology; ours is the subset Sigill uses.
        addListener: (listener) => browser.compose.onBeforeSend.addListener(listener as unknown as Parameters<typeof browser.compose.onBeforeSend.addListener>[0]),
      },
      onComposeStateChanged: { addListener: (listener) => browser.compose.onComposeStateChanged.addListener(listener) },
      getComposeDetails: async (tabId) => (await browser.compose.getComposeDetails(tabId)) as ComposeDetailsView,
      setComposeDetails: (tabId, details) => browser.compose.setComposeDetails(tabId, details as Parameters<typeof browser.compose.setComposeDetails>[1]),
      onAfterSend: { addListener: (listener) => browser.compose.onAfterSend.addListener((tab, info) => listener(tab, info as AfterSendInfo)) },
      listAttachments: (tabId) => browser.compose.listAttachments(tabId),
      getAttachmentFile: (attachmentId) => browser.compose.getAttachmentFile(attachmentId),
      updateAttachment: (tabId, attachmentId, attachment) => browser.compose.updateAttachment(tabId, attachmentId, attachment),
      addAttachment: (tabId, attachment) => browser.compose.addAttachment(tabId, attachment),
      removeAttachment: (tabId, attachmentId) => browser.compose.removeAttachment(tabId, attachmentId) as Promise<unknown>,
    },
    notifications: {
      create: (id, options) => browser.notifications.create(id, options),
    },
    composeAction: {
      setBadgeText: (details) => browser.composeAction.setBadgeText(details),
      setBadgeBackgroundColor: (details) => browser.composeAction.setBadgeBackgroundColor(details),
      setTitle: (details) => browser.composeAction.setTitle(details),
    },
    tabs: {
      ...narrowRead(browser).tabs,
      query: async (query) => (await browser.tabs.query(query)) as Array<{ id?: number; type?: string }>,
      create: (properties) => browser.tabs.create(properties),
    },
  };
}

let api: BrowserApi | undefined;

/** Thunderbird's APIs for this extension page or background (created on first use). */
export function browserApi(): BrowserApi {
  api ??= narrow(polyfill as ThunderbirdBrowser);
  return api;
}
