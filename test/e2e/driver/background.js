// @ts-check
// Test-only driver (never shipped): runs in each test profile's Thunderbird, takes commands from the
// harness's HTTP sink (long polling) and posts results back. config.json (written by the harness next
// to this file in the profile) holds {sink, profile}. Add a command = declare it in commands.ts (its
// arguments and result), then implement it in `commands` below: the type check holds both to the map.
/* global messenger, fetch, setTimeout, crypto, File, atob */

/** @typedef {import('./commands.ts').DriverImplementation} DriverImplementation */
/** @typedef {import('../core-probe/protocol.ts').ProbeResponse} ProbeResponse */

/** The core probe extension (test/e2e/core-probe), when the profile has it. */
const coreProbeId = 'sigill-core-probe@sigill.test';

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * @template T
 * @param {Promise<T>} promise
 * @param {number} ms
 * @param {string} what
 * @returns {Promise<T>}
 */
function withTimeout(promise, ms, what) {
  return Promise.race([
    promise,
    sleep(ms).then(() => {
      throw new Error(`${what}: no answer within ${ms} ms`);
    }),
  ]);
}

/** @param {string} accountId */
async function inboxMessages(accountId) {
  const account = await messenger.accounts.get(accountId, true);
  const inbox = account?.rootFolder?.subFolders?.find((folder) => folder.specialUse?.includes('inbox'));
  if (!inbox?.id) throw new Error(`account ${accountId} has no inbox`);
  const found = [];
  let page = await messenger.messages.list(inbox.id);
  for (;;) {
    found.push(...page.messages);
    if (!page.id) return found;
    page = await messenger.messages.continueList(page.id);
  }
}

async function mailAccounts() {
  return (await messenger.accounts.list(false)).filter((account) => account.type !== 'none');
}

/**
 * @param {messenger.messages.MessagePart} part
 * @returns {string}
 */
function textOf(part) {
  if (part.body !== undefined && (part.contentType ?? '').startsWith('text/')) return part.body;
  return (part.parts ?? []).map(textOf).join('');
}

/** @type {DriverImplementation} */
const commands = {
  async startupState() {
    return JSON.parse(await messenger.sigillTest.startupState());
  },

  async info() {
    return { browser: await messenger.runtime.getBrowserInfo(), accounts: await mailAccounts() };
  },

  /** Composes a plain-text message and sends it now; `openpgp` switches Thunderbird's own OpenPGP on. */
  async send({ to, subject, body, openpgp, attachments = [], timeoutMs = 60_000 }) {
    const files = attachments.map(({ name, base64 }) => ({ file: new File([Uint8Array.from(atob(base64), (char) => char.charCodeAt(0))], name) }));
    const tab = await messenger.compose.beginNew({ to, subject, plainTextBody: body, isPlainText: true, ...(files.length > 0 ? { attachments: files } : {}) });
    const tabId = tab.id;
    if (tabId === undefined) throw new Error('compose.beginNew opened no tab');
    if (openpgp) {
      await messenger.compose.setComposeDetails(tabId, {
        selectedEncryptionTechnology: {
          name: 'OpenPGP',
          encryptBody: Boolean(openpgp.encrypt),
          encryptSubject: Boolean(openpgp.encryptSubject),
          signMessage: Boolean(openpgp.sign),
        },
      });
    }
    const sent = await withTimeout(messenger.compose.sendMessage(tabId, { mode: 'sendNow' }), timeoutMs, 'compose.sendMessage');
    if (sent.headerMessageId === undefined) throw new Error(`compose.sendMessage (${sent.mode}) reported no Message-ID`);
    return { mode: sent.mode, headerMessageId: sent.headerMessageId };
  },

  /** Fetches mail until a message with this Message-ID (or subject) is in an inbox; returns its header. */
  async receive({ headerMessageId, subject, timeoutMs = 60_000 }) {
    /** @param {messenger.messages.MessageHeader} message */
    const wanted = (message) =>
      headerMessageId ? message.headerMessageId === headerMessageId : message.subject === subject;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const account of await mailAccounts()) {
        // One fetch may take as long as the whole receive allows (a 38 MB message over POP3 under load took over 30 s).
        const status = await withTimeout(messenger.sigillTest.getNewMessages(account.id), Math.max(30_000, deadline - Date.now()), 'getNewMessages');
        const found = (await inboxMessages(account.id)).find(wanted);
        if (found) return found;
        if (status !== 0) console.warn(`sigill-e2e: getNewMessages(${account.id}) ended with status ${status}`);
      }
      if (Date.now() > deadline) throw new Error(`no message ${headerMessageId ?? subject} within ${timeoutMs} ms`);
      await sleep(1000);
    }
  },

  /** The message as stored in the profile, as a binary string (MV2). */
  async getRaw({ messageId }) {
    const raw = await messenger.messages.getRaw(messageId);
    if (typeof raw !== 'string') throw new Error('messages.getRaw gave a File: the driver is MV2, where it gives a binary string');
    return raw;
  },

  /** The add-on manager's view of an add-on (is it installed and active?). */
  async addonInfo({ addonId }) {
    return messenger.sigillTest.addonInfo(addonId);
  },

  /** Shows an add-on's page in the Add-ons Manager (for a screenshot). */
  async openAddonsManager({ addonId }) {
    await messenger.sigillTest.openAddonsManager(addonId);
    return null;
  },

  /** A full GC in the parent process, and one requested of every child process. */
  async collectGarbage() {
    await messenger.sigillTest.collectGarbage();
    return null;
  },

  /** An about:memory report of the extension process (or the parent), summed. */
  async memoryReport({ processKind }) {
    return JSON.parse(await messenger.sigillTest.memoryReport(processKind));
  },

  /** The main window drawn into a PNG data URL (the screenshot used with --headless). */
  async screenshot() {
    return messenger.sigillTest.screenshot();
  },

  /** Opens a message in a tab (so message display scripts run). */
  async open({ messageId }) {
    const tab = await messenger.messageDisplay.open({ messageId, location: 'tab' });
    if (tab.id === undefined) throw new Error(`messageDisplay.open(${messageId}) opened no tab`);
    return { tabId: tab.id };
  },

  /**
   * Selects a message in the first mail tab's message list, as a click there does (the tab is brought to the
   * front and shows the message's folder); the message pane of that tab then shows it. `untilLoaded`: resolves
   * only when Thunderbird has loaded the message into the pane (messageDisplay.onMessagesDisplayed).
   */
  async select({ messageId, untilLoaded = false }) {
    const [mailTab] = await messenger.mailTabs.query({});
    if (mailTab?.id === undefined) throw new Error('no mail tab');
    const message = await messenger.messages.get(messageId);
    if (message.folder?.id === undefined) throw new Error(`message ${messageId} has no folder`);
    await messenger.tabs.update(mailTab.id, { active: true });
    // A MailFolder (the MV2 form this driver uses; MailFolderId in MV3).
    if (mailTab.displayedFolder?.id !== message.folder.id) await messenger.mailTabs.update(mailTab.id, { displayedFolder: message.folder });
    // Thunderbird fires onMessagesDisplayed when the pane has loaded the message (its MsgsLoaded event).
    const loaded = new Promise((resolve) => {
      /** @param {{ id?: number }} tab @param {unknown} displayed */
      const listener = (tab, displayed) => {
        const list = /** @type {{ messages?: Array<{ id: number }> } | Array<{ id: number }>} */ (displayed);
        const messages = Array.isArray(list) ? list : (list.messages ?? []);
        if (tab.id !== mailTab.id || !messages.some((shown) => shown.id === messageId)) return;
        messenger.messageDisplay.onMessagesDisplayed.removeListener(listener);
        resolve(null);
      };
      messenger.messageDisplay.onMessagesDisplayed.addListener(listener);
    });
    await messenger.mailTabs.setSelectedMessages(mailTab.id, [messageId]);
    if (untilLoaded) await withTimeout(loaded, 300_000, 'the selected message loaded into the pane');
    return { tabId: mailTab.id };
  },

  async closeTab({ tabId }) {
    await messenger.tabs.remove(tabId);
    return null;
  },

  /** Opens a page of an add-on (e.g. Sigill's options/options.html) in a tab. */
  async openAddonPage({ addonId, path }) {
    await messenger.sigillTest.openAddonPage(addonId, path);
    return null;
  },

  async closeAddonPage({ addonId, path }) {
    await messenger.sigillTest.closeAddonPage(addonId, path);
    return null;
  },

  /** One operation in an add-on's open page: query, queryAll, click, type, select, setFiles, dataset, url. */
  async pageAction({ addonId, path, action, timeoutMs = 30_000 }) {
    return JSON.parse(await messenger.sigillTest.pageAction(addonId, path, JSON.stringify(action), timeoutMs));
  },

  async readExtensionStorage({ addonId }) {
    return JSON.parse(await messenger.sigillTest.readExtensionStorage(addonId));
  },

  async writeExtensionStorage({ addonId, items }) {
    await messenger.sigillTest.writeExtensionStorage(addonId, JSON.stringify(items));
    return null;
  },

  async restartAddon({ addonId }) {
    await messenger.sigillTest.restartAddon(addonId);
    return null;
  },

  async setPref({ name, value }) {
    await messenger.sigillTest.setPref(name, value);
    return null;
  },

  async beginReply({ messageId, forward = false }) {
    const tab = forward ? await messenger.compose.beginForward(messageId, 'forwardInline') : await messenger.compose.beginReply(messageId, 'replyToSender');
    if (tab.id === undefined) throw new Error('the composer opened no tab');
    return { tabId: tab.id };
  },

  async composeBody({ tabId }) {
    const details = await messenger.compose.getComposeDetails(tabId);
    return { isPlainText: Boolean(details.isPlainText), plainTextBody: details.plainTextBody ?? '', body: details.body ?? '' };
  },

  async pgpMimeDecryptor({ mode }) {
    await messenger.sigillTest.pgpMimeDecryptor(mode);
    return null;
  },

  async pgpMimeDecryptorStats() {
    return JSON.parse(await messenger.sigillTest.pgpMimeDecryptorStats());
  },

  async messagePane() {
    return JSON.parse(await messenger.sigillTest.messagePane());
  },

  async messageDisplayActionButton({ addonId }) {
    return JSON.parse(await messenger.sigillTest.messageDisplayActionButton(addonId));
  },

  async clickMessageDisplayAction({ addonId }) {
    await messenger.sigillTest.clickMessageDisplayAction(addonId);
    return null;
  },

  /** The message as Thunderbird's MIME parser gives it (decrypted by its own OpenPGP unless decrypt:false). */
  async getFull({ messageId, decrypt = true }) {
    const full = await messenger.messages.getFull(messageId, { decrypt });
    const header = await messenger.messages.get(messageId);
    return { subject: header.subject, headers: full.headers ?? {}, decryptionStatus: full.decryptionStatus, text: textOf(full), part: full };
  },

  /** Opens a compose window with the message; attachments are fetched from loopback URLs (the test's file server). */
  async composeBegin({ to, cc = [], bcc = [], subject, body, html = false, attachments = [], openpgp }) {
    const files = [];
    for (const { name, url } of attachments) {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`attachment ${name}: HTTP ${response.status}`);
      files.push({ file: new File([await response.blob()], name) });
    }
    const content = html ? { body, isPlainText: false } : { plainTextBody: body, isPlainText: true };
    const tab = await messenger.compose.beginNew({ to, cc, bcc, subject, ...content, attachments: files });
    if (tab.id === undefined) throw new Error('compose.beginNew opened no tab');
    if (openpgp) {
      await messenger.compose.setComposeDetails(tab.id, {
        selectedEncryptionTechnology: { name: 'OpenPGP', encryptBody: openpgp.encrypt, encryptSubject: openpgp.encryptSubject, signMessage: openpgp.sign },
      });
    }
    return { tabId: tab.id };
  },

  async composeSnapshot({ tabId }) {
    const details = await messenger.compose.getComposeDetails(tabId);
    const attachments = [];
    for (const attachment of await messenger.compose.listAttachments(tabId)) {
      const file = await messenger.compose.getAttachmentFile(attachment.id);
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await file.arrayBuffer()));
      attachments.push({ name: attachment.name ?? '', size: file.size, sha256: [...digest].map((byte) => byte.toString(16).padStart(2, '0')).join('') });
    }
    return {
      details: {
        to: details.to,
        cc: details.cc,
        bcc: details.bcc,
        subject: details.subject ?? '',
        isPlainText: Boolean(details.isPlainText),
        plainTextBody: details.plainTextBody ?? '',
        body: details.body ?? '',
      },
      attachments,
    };
  },

  async composeSave({ tabId, mode = 'draft', timeoutMs = 60_000 }) {
    try {
      const saved = await withTimeout(messenger.compose.saveMessage(tabId, { mode }), timeoutMs, 'compose.saveMessage');
      return { ok: true, messages: saved.messages.map((message) => ({ id: message.id, headerMessageId: message.headerMessageId, folder: message.folder?.path ?? '' })) };
    } catch (error) {
      return { ok: false, error: String(error) };
    }
  },

  async editDraft({ messageId }) {
    /** @type {Promise<{ id?: number }>} */
    const opened = new Promise((resolve) => {
      /** @param {{ id?: number, type?: string }} tab */
      const listener = (tab) => {
        if (tab.type !== 'messageCompose') return;
        messenger.tabs.onCreated.removeListener(listener);
        resolve(tab);
      };
      messenger.tabs.onCreated.addListener(listener);
    });
    await messenger.sigillTest.editDraft(messageId);
    const tab = await withTimeout(opened, 30_000, 'the draft composer');
    if (tab.id === undefined) throw new Error('the draft composer has no tab');
    return { tabId: tab.id };
  },

  async composeClose({ tabId }) {
    await messenger.tabs.remove(tabId);
    return null;
  },

  async composeOrigin({ tabId }) {
    const details = await messenger.compose.getComposeDetails(tabId);
    return { type: String(details.type), relatedMessageId: details.relatedMessageId ?? null };
  },

  async composeSend({ tabId, timeoutMs = 120_000 }) {
    try {
      const sent = await withTimeout(messenger.compose.sendMessage(tabId, { mode: 'sendNow' }), timeoutMs, 'compose.sendMessage');
      return { ok: true, mode: sent.mode, headerMessageId: sent.headerMessageId ?? '' };
    } catch (error) {
      return { ok: false, error: String(error) };
    }
  },

  async messageSecurity() {
    return JSON.parse(await messenger.sigillTest.messageSecurity());
  },

  async acceptAlert({ timeoutMs = 60_000 }) {
    return messenger.sigillTest.acceptAlert(timeoutMs);
  },

  async clickComposeAction({ addonId }) {
    await messenger.sigillTest.clickComposeAction(addonId);
    return null;
  },

  /** Forwards a request to the core probe; waits for it to listen (it may start after the driver). */
  async probe(request) {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        return /** @type {ProbeResponse} */ (await messenger.runtime.sendMessage(coreProbeId, request));
      } catch (error) {
        if (!/Receiving end does not exist/.test(String(error)) || Date.now() > deadline) throw error;
        await sleep(250);
      }
    }
  },
};

/**
 * @param {'event' | 'result'} kind
 * @param {Record<string, unknown>} body
 */
async function post(kind, body) {
  await fetch(`${config.sink}/${kind}/${encodeURIComponent(config.profile)}`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain' },
    body: JSON.stringify(body),
  });
}

/** @type {{ sink: string; profile: string }} */
let config;

async function serve() {
  for (;;) {
    let command;
    try {
      const response = await fetch(`${config.sink}/command/${encodeURIComponent(config.profile)}`);
      if (response.status !== 200) continue;
      command = await response.json();
    } catch {
      await sleep(1000); // the sink is gone or restarting
      continue;
    }
    run(command); // commands run concurrently: a slow send does not block a receive
  }
}

/** @param {{ id: number; name: string; args: unknown }} command */
async function run({ id, name, args }) {
  try {
    if (!Object.hasOwn(commands, name)) throw new Error(`unknown command ${name}`);
    // The harness typed `args` against the same map (Client.call); here they arrive as JSON.
    const command = /** @type {(args: unknown) => Promise<unknown>} */ (commands[/** @type {keyof DriverImplementation} */ (name)]);
    await post('result', { id, ok: true, value: await command(args) });
  } catch (error) {
    await post('result', { id, ok: false, error: String(error instanceof Error && error.stack ? `${error.message}\n${error.stack}` : error) });
  }
}

async function main() {
  config = await (await fetch(messenger.runtime.getURL('config.json'))).json();
  await post('event', { type: 'ready', browser: await messenger.runtime.getBrowserInfo() });
  messenger.messages.onNewMailReceived.addListener((folder, messages) => {
    post('event', { type: 'newMail', folder: folder.path, subjects: messages.messages.map((m) => m.subject) });
  });
  await serve();
}

main();
