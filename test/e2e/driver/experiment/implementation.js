// Test-only Experiment API (never shipped). There is no WebExtension API to fetch mail now, nor to look
// at another add-on's state: these call Thunderbird's own services, the way its buttons do.
/* global ChromeUtils, Ci, Components, Cu, ExtensionCommon, Services, WebExtensionPolicy */

// Operating extension pages (Sigill's options page and passphrase prompt) as a person would: a window
// actor inside the extension process (page-child.sys.mjs) clicks, types with real key events and reads.
const PAGE_ACTOR = 'SigillTestPage';
const RESOURCE_HOST = 'sigill-e2e-driver';
let pageActorRegistered = false;

function ensurePageActor(extension) {
  if (pageActorRegistered) return;
  const resources = Services.io.getProtocolHandler('resource').QueryInterface(Ci.nsISubstitutingProtocolHandler);
  resources.setSubstitutionWithFlags(RESOURCE_HOST, Services.io.newURI('experiment/', null, extension.rootURI), resources.ALLOW_CONTENT_ACCESS);
  ChromeUtils.registerWindowActor(PAGE_ACTOR, {
    parent: { esModuleURI: `resource://${RESOURCE_HOST}/page-parent.sys.mjs` },
    child: { esModuleURI: `resource://${RESOURCE_HOST}/page-child.sys.mjs` },
    matches: ['moz-extension://*/*'],
    allFrames: true,
  });
  pageActorRegistered = true;
}

function addonURL(addonId, path) {
  const policy = WebExtensionPolicy.getByID(addonId);
  if (!policy) throw new Error(`add-on ${addonId} is not running`);
  return policy.getURL(path);
}

/**
 * The bench's coarse kinds of the extension process's memory, from an about:memory path (explicit/...):
 * the order matters, the first that matches wins.
 */
function memoryCategory(path) {
  if (/wasm/.test(path)) return 'WebAssembly';
  // SpiderMonkey counts an ArrayBuffer's contents as its class's elements (malloc-heap or non-heap, mapped).
  if (/class\((Shared)?ArrayBuffer\)\/objects\/(malloc-heap|non-heap)/.test(path)) return 'ArrayBuffer contents';
  if (/memory-file-data|memory-blob|\/blob/i.test(path)) return 'Blob memory';
  if (/\/strings\/.*malloc-heap/.test(path)) return 'string characters (malloc)';
  if (/gc-heap/.test(path)) return 'JS GC heap (objects, strings, shapes, ...)';
  if (/\/js-|^explicit\/js-non-window/.test(path)) return 'JS malloc (slots, elements, tables, ...)';
  return path.split('/').slice(0, 2).join('/');
}

/** An about:memory path without the addresses and URLs in parentheses, so like paths add up. */
function shortMemoryPath(path) {
  return path
    .split('/')
    .map((part) => part.replace(/\((?:0x[0-9a-f]+|[^)]{40,})\)?.*$/, '(…)'))
    .join('/');
}

/** Timers for the privileged side (an Experiment's scope has no setTimeout of its own). */
function lazyTimer() {
  return ChromeUtils.importESModule('resource://gre/modules/Timer.sys.mjs');
}

/**
 * Every <browser> of every window: tabs of the main window and extension popup windows alike, and those
 * inside Thunderbird's own chrome pages (about:3pane, about:message: the message display action's popup).
 */
function* allBrowsers() {
  function* within(document, depth) {
    for (const browser of document.querySelectorAll('browser')) {
      yield browser;
      const inner = depth < 3 && !browser.isRemoteBrowser ? browser.contentDocument : null;
      if (inner && /^about:(3pane|message)/.test(inner.location?.href ?? '')) yield* within(inner, depth + 1);
    }
  }
  for (const window of Services.wm.getEnumerator(null)) yield* within(window.document, 0);
}

/** The about:message window of the selected tab (a message tab, or the 3-pane tab's message pane). */
function currentAboutMessage() {
  const window = Services.wm.getMostRecentWindow('mail:3pane');
  const tab = window?.document.getElementById('tabmail')?.currentTabInfo;
  const content = tab?.chromeBrowser?.contentWindow;
  if (!content) throw new Error('no selected mail tab');
  if (content.location.href.startsWith('about:message')) return content;
  const inner = content.messageBrowser?.contentWindow;
  if (inner?.location.href.startsWith('about:message')) return inner;
  throw new Error(`the selected tab shows no message (${content.location.href})`);
}

async function pageBrowser(urlPrefix, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const browser of allBrowsers()) {
      // The loaded document, not just the address: a tab restored from the last session may not have loaded yet.
      const url = browser.browsingContext?.currentWindowGlobal?.documentURI?.spec ?? '';
      if (url.startsWith(urlPrefix)) return browser;
    }
    if (Date.now() > deadline) throw new Error(`no page ${urlPrefix} is open`);
    const { setTimeout } = ChromeUtils.importESModule('resource://gre/modules/Timer.sys.mjs');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Why the main window is not ready for a scenario yet, or 'ready': its document loaded, its delayed start-up
 * done (messenger.js `gMailInit.delayedStartupFinished`: accounts, OpenPGP, the last session's tabs) and the
 * first tab's about:3pane loaded (when mailTabs.js sends "mail-startup-done"). A compose window opened before
 * that finds no `tabmail` in the main window (MsgComposeCommands.js) and its send may never settle.
 */
function mainWindowState() {
  const window = Services.wm.getMostRecentWindow('mail:3pane');
  if (!window) return 'no main window yet';
  if (window.document.readyState !== 'complete') return `main window document ${window.document.readyState}`;
  if (window.gMailInit?.delayedStartupFinished !== true) return 'main window delayed start-up running';
  const tabmail = window.document.getElementById('tabmail');
  const first = tabmail?.tabInfo?.[0];
  if (!tabmail?.currentTabInfo || !first) return 'no tabs yet';
  if (first.mode?.name !== 'mail3PaneTab') return `first tab is ${first.mode?.name}`;
  const about3Pane = first.chromeBrowser?.contentDocument;
  if (!about3Pane?.location?.href.startsWith('about:3pane') || about3Pane.readyState !== 'complete') return 'first mail tab loading';
  return 'ready';
}

async function extensionStorage(addonId) {
  const { ExtensionStorageIDB } = ChromeUtils.importESModule('resource://gre/modules/ExtensionStorageIDB.sys.mjs');
  const policy = WebExtensionPolicy.getByID(addonId);
  if (!policy) throw new Error(`add-on ${addonId} is not running`);
  const extension = policy.extension;
  await ExtensionStorageIDB.selectBackend({ extension });
  return ExtensionStorageIDB.open(ExtensionStorageIDB.getStoragePrincipal(extension), extension.hasPermission('unlimitedStorage'));
}

/**
 * Thunderbird's PGP/MIME decryptor under test (bench/thunderbird-load.ts): libmime's `multipart/encrypted`
 * class (nsPgpMimeProxy.cpp) creates the JavaScript object registered as PGP_MIME_DECRYPTOR for every
 * encrypted part it parses and hands it each line of the part (MimeMessage_parse_line passes its body one
 * line at a time) through `onDataAvailable`. The modes, each for the messages opened after it is set:
 * 'shipped' Thunderbird's own (PgpMimeHandler.sys.mjs), 'counted' the same wrapped to count the calls and the
 * time spent inside them, 'noop' a decryptor that takes the lines and does nothing (what crossing into
 * JavaScript per line costs), 'absent' none at all (creating it fails: libmime parses the part and shows its
 * "needs an add-on" text, no JavaScript per line).
 */
const PGP_MIME_DECRYPTOR = '@mozilla.org/mime/pgp-mime-js-decrypt;1';
const TEST_DECRYPTOR_CID = Components.ID('{5b0e7a1c-4f1d-4d8e-9d3a-2f6c1e0a7b11}');
const decryptorStats = { parts: 0, calls: 0, bytes: 0, startMs: 0, dataMs: 0, stopMs: 0, callers: [], uris: [] };
/** Milliseconds with sub-millisecond resolution (Cu.now is gone; ChromeUtils.now replaced it). */
const preciseNow = () => (typeof ChromeUtils.now === 'function' ? ChromeUtils.now() : Date.now());
let shippedDecryptorCid = null;
let testDecryptorFactory = null;

function registrar() {
  return Components.manager.QueryInterface(Ci.nsIComponentRegistrar);
}

function restoreShippedDecryptor() {
  if (testDecryptorFactory === null) return;
  registrar().unregisterFactory(TEST_DECRYPTOR_CID, testDecryptorFactory);
  registrar().registerFactory(shippedDecryptorCid, null, PGP_MIME_DECRYPTOR, null);
  testDecryptorFactory = null;
}

function setPgpMimeDecryptor(mode) {
  shippedDecryptorCid ??= registrar().contractIDToCID(PGP_MIME_DECRYPTOR);
  restoreShippedDecryptor();
  Object.assign(decryptorStats, { parts: 0, calls: 0, bytes: 0, startMs: 0, dataMs: 0, stopMs: 0, callers: [], uris: [] });
  if (mode === 'shipped') return;
  const { PgpMimeHandler } = ChromeUtils.importESModule('resource:///modules/PgpMimeHandler.sys.mjs');
  const timed = (field, run) => {
    const started = preciseNow();
    try {
      return run();
    } finally {
      decryptorStats[field] += preciseNow() - started;
    }
  };
  // The URL libmime parses the message for (its query says why: display, headers, a part ...).
  const noteUri = (request) => {
    const uri = request.QueryInterface(Ci.nsIPgpMimeProxy).messageURI?.spec ?? '';
    decryptorStats.uris.push(uri.replace(/^[^?]*/, ''));
  };
  const make = () => {
    decryptorStats.parts += 1;
    // Who asked libmime to parse the message (the JavaScript frames above it, when a script did).
    decryptorStats.callers.push(new Error().stack?.split('\n').slice(2, 8).join(' < ') ?? '');
    if (mode === 'absent') throw Components.Exception('test: no PGP/MIME decryptor', Components.results.NS_ERROR_FACTORY_NOT_REGISTERED);
    if (mode === 'noop') {
      return {
        QueryInterface: ChromeUtils.generateQI(['nsIStreamListener']),
        onStartRequest: noteUri,
        onDataAvailable(_request, _stream, _offset, count) {
          decryptorStats.calls += 1;
          decryptorStats.bytes += count;
        },
        onStopRequest() {},
      };
    }
    const inner = new PgpMimeHandler();
    return {
      QueryInterface: ChromeUtils.generateQI(['nsIStreamListener']),
      onStartRequest: (request) => {
        noteUri(request);
        timed('startMs', () => inner.onStartRequest(request));
      },
      onDataAvailable: (request, stream, offset, count) => {
        decryptorStats.calls += 1;
        decryptorStats.bytes += count;
        timed('dataMs', () => inner.onDataAvailable(request, stream, offset, count));
      },
      onStopRequest: (request, status) => timed('stopMs', () => inner.onStopRequest(request, status)),
    };
  };
  testDecryptorFactory = {
    QueryInterface: ChromeUtils.generateQI(['nsIFactory']),
    createInstance: (iid) => make().QueryInterface(iid),
  };
  registrar().registerFactory(TEST_DECRYPTOR_CID, 'Sigill e2e test PGP/MIME decryptor', PGP_MIME_DECRYPTOR, testDecryptorFactory);
}

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- Thunderbird looks the API class up by this global name
var sigillTest = class extends ExtensionCommon.ExtensionAPI {
  onShutdown() {
    restoreShippedDecryptor();
    if (!pageActorRegistered) return;
    ChromeUtils.unregisterWindowActor(PAGE_ACTOR);
    Services.io.getProtocolHandler('resource').QueryInterface(Ci.nsISubstitutingProtocolHandler).setSubstitution(RESOURCE_HOST, null);
    pageActorRegistered = false;
  }

  getAPI(context) {
    return {
      sigillTest: {
        /** Opens one of an add-on's pages in a tab of the main window (as its options button does). */
        async openAddonPage(addonId, path) {
          ensurePageActor(context.extension);
          const url = addonURL(addonId, path);
          const { setTimeout } = ChromeUtils.importESModule('resource://gre/modules/Timer.sys.mjs');
          // Right after a (re)start tabmail may still be restoring the last session's tabs.
          let window;
          for (let tries = 0; tries < 300; tries++) {
            window = Services.wm.getMostRecentWindow('mail:3pane');
            if (window?.document.getElementById('tabmail')?.tabModes?.contentTab && window.document.readyState === 'complete') break;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          const tabmail = window.document.getElementById('tabmail');
          // A tab restored from the last session is selected rather than opened twice.
          const open = tabmail.tabInfo.find((tab) => tab.browser?.currentURI?.spec === url);
          if (open) tabmail.switchToTab(open);
          else tabmail.openTab('contentTab', { url });
        },

        /** Closes the add-on's pages whose URL starts with `path` (tabs of the main window). */
        async closeAddonPage(addonId, path) {
          const prefix = addonURL(addonId, path);
          for (const window of Services.wm.getEnumerator('mail:3pane')) {
            const tabmail = window.document.getElementById('tabmail');
            for (const tab of [...tabmail.tabInfo]) {
              if (tab.browser?.currentURI?.spec.startsWith(prefix)) tabmail.closeTab(tab);
            }
          }
        },

        /** Runs one page operation (see page-child.sys.mjs) in the open page of the add-on whose URL starts with `path`. */
        async pageAction(addonId, path, actionJson, timeoutMs) {
          ensurePageActor(context.extension);
          const browser = await pageBrowser(addonURL(addonId, path), timeoutMs);
          const actor = browser.browsingContext.currentWindowGlobal.getActor(PAGE_ACTOR);
          try {
            return JSON.stringify((await actor.sendQuery('act', JSON.parse(actionJson))) ?? null);
          } catch (error) {
            // Anything but an ExtensionError reaches the driver as "An unexpected error occurred".
            const { ExtensionUtils } = ChromeUtils.importESModule('resource://gre/modules/ExtensionUtils.sys.mjs');
            throw new ExtensionUtils.ExtensionError(`page ${browser.currentURI.spec}: ${error?.message ?? error}`);
          }
        },

        /** {mainWindow: 'ready' or what it is still doing, tempDir: Gecko's TmpD} as JSON. */
        async startupState() {
          return JSON.stringify({ mainWindow: mainWindowState(), tempDir: Services.dirsvc.get('TmpD', Ci.nsIFile).path });
        },

        /** The add-on's storage.local as JSON, read by Gecko's own storage code from the profile. */
        async readExtensionStorage(addonId) {
          const db = await extensionStorage(addonId);
          return JSON.stringify(await db.get(null));
        },

        /** Writes items (a JSON object) into the add-on's storage.local, as storage.local.set would. */
        async writeExtensionStorage(addonId, itemsJson) {
          const { ExtensionStorageIDB } = ChromeUtils.importESModule('resource://gre/modules/ExtensionStorageIDB.sys.mjs');
          const db = await extensionStorage(addonId);
          const changes = await db.set(JSON.parse(itemsJson));
          if (changes) ExtensionStorageIDB.notifyListeners(addonId, changes);
        },

        /** Disables and enables an add-on: its background starts again and reads its storage afresh. */
        async restartAddon(addonId) {
          const { AddonManager } = ChromeUtils.importESModule('resource://gre/modules/AddonManager.sys.mjs');
          const addon = await AddonManager.getAddonByID(addonId);
          if (!addon) throw new Error(`no add-on ${addonId}`);
          await addon.disable();
          await addon.enable();
        },

        /**
         * Collects garbage now in every process: the parent here, the child processes (the extension process
         * among them) through Gecko's "child-gc-request" (each child runs a full GC when it gets it). Used by
         * the memory bench to tell garbage not yet collected from memory held.
         */
        async collectGarbage() {
          Services.obs.notifyObservers(null, 'child-gc-request');
          Cu.forceGC();
        },

        /**
         * An about:memory report of one kind of process (`extension`: the extension process, "extension (pid N)" in its reports; `parent`),
         * summed as the memory bench prints it (JSON text of a MemoryReport, commands.ts). The reporter
         * manager asks every child process and calls back per report; heap-unclassified is computed the way
         * about:memory does it (heap-allocated minus the explicit reports of kind HEAP).
         */
        async memoryReport(processKind) {
          const manager = Components.classes['@mozilla.org/memory-reporter-manager;1'].getService(Ci.nsIMemoryReporterManager);
          const wanted = (process) => (processKind === 'parent' ? process === '' : process.startsWith(`${processKind} (`));
          const report = { processes: [], explicit: 0, heapAllocated: 0, heapUnclassified: 0, resident: 0, categories: {}, other: {}, top: {} };
          let explicitHeap = 0;
          const seen = new Set();
          const started = Date.now();
          await new Promise((resolve) => {
            manager.getReports(
              (process, path, kind, units, amount) => {
                seen.add(process);
                if (!wanted(process)) return;
                if (!report.processes.includes(process)) report.processes.push(process);
                if (units !== Ci.nsIMemoryReporter.UNITS_BYTES) return;
                if (path.startsWith('explicit/')) {
                  report.explicit += amount;
                  if (kind === Ci.nsIMemoryReporter.KIND_HEAP) explicitHeap += amount;
                  const category = memoryCategory(path);
                  report.categories[category] = (report.categories[category] ?? 0) + amount;
                  const short = shortMemoryPath(path);
                  report.top[short] = (report.top[short] ?? 0) + amount;
                } else if (path === 'heap-allocated') report.heapAllocated = amount;
                else if (path === 'resident') report.resident = amount;
                else if (path !== 'vsize' && path !== 'wasm-guard-pages' && (!path.includes('/') || path.startsWith('js-main-runtime-gc-heap-committed/') || path.startsWith('js-main-runtime/'))) {
                  const short = shortMemoryPath(path);
                  report.other[short] = (report.other[short] ?? 0) + amount;
                }
              },
              null,
              () => resolve(),
              null,
              false,
            );
          });
          report.heapUnclassified = report.heapAllocated - explicitHeap;
          report.categories['heap-unclassified'] = report.heapUnclassified;
          report.ms = Date.now() - started;
          report.seen = [...seen];
          // Only the largest paths: the rest is in the categories.
          report.top = Object.fromEntries(Object.entries(report.top).sort((a, b) => b[1] - a[1]).slice(0, 30));
          report.other = Object.fromEntries(Object.entries(report.other).filter(([, amount]) => amount >= 1024 * 1024));
          return JSON.stringify(report);
        },

        /** Sets a preference (test set-up: dark colour scheme for screenshots, the download folder). */
        /** The crypto status Thunderbird's own OpenPGP draws in the open message's header (about:message). */
        async messageSecurity() {
          const window = Services.wm.getMostRecentWindow('mail:3pane');
          const tabmail = window?.document.getElementById('tabmail');
          const about = tabmail?.currentAboutMessage;
          if (!about) throw new Error('no message is displayed');
          const document = about.document;
          const icon = (id) => {
            const element = document.getElementById(id);
            return { hidden: element?.hidden ?? true, src: element?.getAttribute('src') ?? '' };
          };
          return JSON.stringify({ tech: document.getElementById('cryptoBox')?.getAttribute('tech') ?? '', encrypted: icon('encryptedHdrIcon'), signed: icon('signedHdrIcon') });
        },

        /** Clicks an add-on's compose action button (mouse down and up at its centre), as a person would. */
        async clickComposeAction(addonId) {
          ensurePageActor(context.extension);
          const { ExtensionUtils } = ChromeUtils.importESModule('resource://gre/modules/ExtensionUtils.sys.mjs');
          // ExtensionCommon's makeWidgetId: the toolbar button's id is derived from the add-on id.
          const widgetId = addonId.toLowerCase().replace(/[^a-z0-9_-]/g, '_');
          const window = Services.wm.getMostRecentWindow('msgcompose');
          if (!window) throw new Error('no compose window is open');
          const button = window.document.querySelector(`toolbarbutton[id^="${widgetId}"]`);
          if (!button) {
            const ids = [...window.document.querySelectorAll('toolbarbutton[id]')].map((element) => element.id).join(', ');
            throw new ExtensionUtils.ExtensionError(`the compose window has no button of ${addonId} (buttons: ${ids})`);
          }
          window.focus();
          const rect = button.getBoundingClientRect();
          const [x, y] = [rect.left + rect.width / 2, rect.top + rect.height / 2];
          try {
            // Window.synthesizeMouseEvent (what EventUtils uses on newer Gecko): real widget-level events;
            // Thunderbird 140 has only nsIDOMWindowUtils.sendMouseEvent for the same.
            for (const type of ['mousedown', 'mouseup']) {
              if (typeof window.synthesizeMouseEvent === 'function') window.synthesizeMouseEvent(type, x, y, { button: 0, buttons: type === 'mousedown' ? 1 : 0, clickCount: 1 }, {});
              else window.windowUtils.sendMouseEvent(type, x, y, 0, 1, 0);
            }
          } catch (error) {
            throw new ExtensionUtils.ExtensionError(`clicking ${button.id}: ${error}`);
          }
        },

        /** Clicks OK in a modal alert: a prompt window, or a window-modal prompt inside any window's dialog frame. */
        async acceptAlert(timeoutMs) {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            for (const window of Services.wm.getEnumerator(null)) {
              const documents = [window.document, ...[...window.document.querySelectorAll('browser, iframe')].map((frame) => frame.contentDocument).filter(Boolean)];
              for (const document of documents) {
                if (document.location?.href !== 'chrome://global/content/commonDialog.xhtml') continue;
                const dialog = document.querySelector('dialog');
                const text = document.getElementById('infoBody')?.textContent ?? '';
                dialog.getButton('accept').click();
                return text;
              }
            }
            if (Date.now() > deadline) throw new Error(`no alert appeared within ${timeoutMs} ms`);
            await new Promise((resolve) => lazyTimer().setTimeout(resolve, 200));
          }
        },

        /** Opens a stored draft for editing, as a double click in the Drafts folder does (MailUtils → OpenComposeWindow, type Draft). */
        async editDraft(messageId) {
          const { MailServices } = ChromeUtils.importESModule('resource:///modules/MailServices.sys.mjs');
          const header = context.extension.messageManager.get(messageId);
          if (!header) throw new Error(`no message ${messageId}`);
          const uri = header.folder.getUriForMsg(header);
          const window = Services.wm.getMostRecentWindow('mail:3pane');
          MailServices.compose.OpenComposeWindow(null, header, uri, Ci.nsIMsgCompType.Draft, Ci.nsIMsgCompFormat.Default, null, null, window?.msgWindow ?? null);
        },

        async setPref(name, value) {
          if (typeof value === 'boolean') Services.prefs.setBoolPref(name, value);
          else if (typeof value === 'number') Services.prefs.setIntPref(name, value);
          else Services.prefs.setStringPref(name, String(value));
        },

        /** What the message pane of the selected tab shows (after display scripts ran). */
        /** Which PGP/MIME decryptor libmime gets from now on (see setPgpMimeDecryptor); its counters start at zero. */
        async pgpMimeDecryptor(mode) {
          setPgpMimeDecryptor(mode);
        },

        /** JSON text of the counters since the last pgpMimeDecryptor: parts, calls, bytes, ms inside each method. */
        async pgpMimeDecryptorStats() {
          return JSON.stringify(decryptorStats);
        },

        async messagePane() {
          const aboutMessage = currentAboutMessage();
          const browser = aboutMessage.document.getElementById('messagepane');
          const document = browser?.contentDocument;
          if (!document?.body) throw new Error('the message pane has no document (yet)');
          return JSON.stringify({
            url: document.location.href,
            sigill: document.documentElement.dataset.sigill ?? null,
            text: document.body.innerText,
            html: document.body.innerHTML.slice(0, 200_000),
          });
        },

        /** An add-on's message display action button above the message: its label (the title) and badge. */
        async messageDisplayActionButton(addonId) {
          const aboutMessage = currentAboutMessage();
          const widgetId = addonId.toLowerCase().replace(/[^a-z0-9_-]/g, '_');
          const button = aboutMessage.document.getElementById(`${widgetId}-messageDisplayAction-toolbarbutton`);
          if (!button) throw new Error(`no message display action button of ${addonId}`);
          return JSON.stringify({ label: button.getAttribute('label') ?? '', badge: button.getAttribute('badge') ?? '' });
        },

        /** Clicks an add-on's message display action button (above the message), as a person does. */
        async clickMessageDisplayAction(addonId) {
          ensurePageActor(context.extension);
          const aboutMessage = currentAboutMessage();
          const widgetId = addonId.toLowerCase().replace(/[^a-z0-9_-]/g, '_');
          const button = aboutMessage.document.getElementById(`${widgetId}-messageDisplayAction-toolbarbutton`);
          if (!button) throw new Error(`no message display action button of ${addonId}`);
          // A panel opens only in the active window; after another window (Sigill's passphrase prompt)
          // closed, no window manager under Xvfb hands the focus back, so the main window takes it.
          const mainWindow = Services.wm.getMostRecentWindow('mail:3pane');
          if (Services.focus.activeWindow !== mainWindow) {
            mainWindow.focus();
            for (let tries = 0; tries < 50 && Services.focus.activeWindow !== mainWindow; tries++) {
              await new Promise((resolve) => mainWindow.setTimeout(resolve, 100));
            }
          }
          button.click();
        },

        getNewMessages(accountId) {
          const { MailServices } = ChromeUtils.importESModule('resource:///modules/MailServices.sys.mjs');
          const server = MailServices.accounts.getAccount(accountId).incomingServer;
          const inbox = server.rootFolder.getFolderWithFlags(Ci.nsMsgFolderFlags.Inbox);
          return new Promise((resolve) => {
            server.getNewMessages(inbox, null, {
              QueryInterface: ChromeUtils.generateQI(['nsIUrlListener']),
              OnStartRunningUrl() {},
              OnStopRunningUrl(_url, status) {
                resolve(status);
              },
            });
          });
        },

        async addonInfo(addonId) {
          const { AddonManager } = ChromeUtils.importESModule('resource://gre/modules/AddonManager.sys.mjs');
          const addon = await AddonManager.getAddonByID(addonId);
          if (!addon) return null;
          const { id, name, version, isActive, userDisabled, appDisabled } = addon;
          return { id, name, version, isActive, userDisabled, appDisabled };
        },

        async screenshot() {
          const window = Services.wm.getMostRecentWindow('mail:3pane');
          const canvas = window.document.createElementNS('http://www.w3.org/1999/xhtml', 'canvas');
          canvas.width = window.innerWidth;
          canvas.height = window.innerHeight;
          canvas.getContext('2d').drawWindow(window, 0, 0, canvas.width, canvas.height, 'rgb(255,255,255)');
          return canvas.toDataURL('image/png');
        },

        async openAddonsManager(addonId) {
          const view = `addons://detail/${encodeURIComponent(addonId)}`;
          const window = Services.wm.getMostRecentWindow('mail:3pane');
          // On a loaded machine the driver can ask before tabmail has registered its tab modes
          // ("No such tab mode: contentTab"): wait for the mode the add-ons manager opens in.
          for (let tries = 0; tries < 300 && !window.document.getElementById('tabmail')?.tabModes?.contentTab; tries++) {
            await new Promise((resolve) => window.setTimeout(resolve, 100));
          }
          try {
            await window.openAddonsMgr(view);
            return;
          } catch (error) {
            // 140 ESR opens the tab but then throws (tab.browser is undefined): find the page and load the view.
            for (let tries = 0; tries < 100; tries++) {
              let manager;
              const pong = (subject) => (manager = subject);
              Services.obs.addObserver(pong, 'EM-pong');
              Services.obs.notifyObservers(null, 'EM-ping');
              Services.obs.removeObserver(pong, 'EM-pong');
              if (manager) {
                manager.loadView(view);
                return;
              }
              await new Promise((resolve) => window.setTimeout(resolve, 100));
            }
            throw error;
          }
        },
      },
    };
  }
};
