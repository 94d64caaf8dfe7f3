// Sigill's one privileged part: puts Sigill where Thunderbird wraps the finished MIME body of a message
// it sends (an nsIMsgComposeSecure on the compose fields, the hook Thunderbird's own OpenPGP and S/MIME
// use), so that the message can leave as RFC 3156 PGP/MIME. It only moves bytes: Thunderbird's blocks go
// to a temporary file handed to Sigill's background, and the background's replacement is written where
// Thunderbird expects it. No crypto and no policy here; every failure fails the send (never plaintext).
// docs/architecture.md, "PGP/MIME: the privileged part", explains the design.
/* global ChromeUtils, Components, Ci, Cc, ExtensionCommon, Services */
'use strict';

const { MailServices } = ChromeUtils.importESModule('resource:///modules/MailServices.sys.mjs');

// nsIMsgCompDeliverMode: only real sends go through Sigill; drafts and templates are left alone.
const SEND_MODES = new Set([Ci.nsIMsgCompDeliverMode.Now, Ci.nsIMsgCompDeliverMode.Later, Ci.nsIMsgCompDeliverMode.Background]);
// Drafts and templates of a message Sigill encrypts (the "draft arm", watchDrafts below).
const DRAFT_MODES = new Map([
  [Ci.nsIMsgCompDeliverMode.SaveAsDraft, 'draft'],
  [Ci.nsIMsgCompDeliverMode.AutoSaveAsDraft, 'autoSave'],
  [Ci.nsIMsgCompDeliverMode.SaveAsTemplate, 'template'],
]);
/** A draft save waits at most this long for the background's decision, then is not saved. */
const MAX_DRAFT_DECISION_MS = 60 * 1000;
/** A send waits at most this long for the background, then fails (a hung send would lock the window). */
const MAX_WAIT_MS = 15 * 60 * 1000;

/** The first Thunderbird whose extension messaging carries a main-process File to the background (140 ESR cannot). */
const FIRST_WORKING_VERSION = '153.0';

let nextHandle = 1;
/** handle → the ComposeSecure waiting for its replacement. */
const pending = new Map();

function failure(message) {
  return Components.Exception(`Sigill PGP/MIME: ${message}`, Components.results.NS_ERROR_FAILURE);
}

/** Why this Thunderbird cannot work with the Experiment, or undefined when it can. */
function unavailableReason() {
  // Tests of the inline fallback set this in their profile; nothing in Sigill's interface sets it.
  if (Services.prefs.getBoolPref('sigill.test.pgpMimeUnavailable', false)) return 'switched off for a test (sigill.test.pgpMimeUnavailable)';
  if (!Ci.nsIMsgComposeSecure) return 'nsIMsgComposeSecure is missing';
  if (typeof Services.tm?.spinEventLoopUntilOrQuit !== 'function') return 'the thread manager cannot wait for the background';
  if (typeof fileClass()?.createFromNsIFile !== 'function') return 'files cannot be handed to the background';
  // Thunderbird 140 cannot pass a file made in the main process to the background ("Failed to serialize
  // message 'RunListener::Conduits'": every PGP/MIME send failed there); 153 can. Versions before 153 (the
  // ones between are untested) send inline with the notice: never plaintext, never a send that cannot work.
  if (Services.vc.compare(Services.appinfo.version, FIRST_WORKING_VERSION) < 0) return `Thunderbird ${Services.appinfo.version} cannot hand the message file to the background (needs ${FIRST_WORKING_VERSION} or later)`;
  return undefined;
}

/** DOM File with its chrome-only createFromNsIFile (not a global of Experiment scripts by default). */
function fileClass() {
  if (typeof globalThis.File?.createFromNsIFile !== 'function') Components.utils.importGlobalProperties(['File']);
  return globalThis.File;
}

function binaryString(bytes) {
  let text = '';
  for (let offset = 0; offset < bytes.length; offset += 0x8000) text += String.fromCharCode.apply(null, bytes.subarray(offset, offset + 0x8000));
  return text;
}

/**
 * The nsIMsgComposeSecure of one armed send. Thunderbird (MimeMessage.sys.mjs) writes the top-level
 * header fields itself, then calls beginCryptoEncapsulation, hands the entity over in blocks
 * (mimeCryptoWriteBlock) and calls finishCryptoEncapsulation synchronously, closing the message file
 * right after: so the replacement must be complete when finishCryptoEncapsulation returns. It waits for
 * the background with a nested event loop (as Thunderbird's own modal prompts do during a send).
 */
class ComposeSecure {
  constructor({ tabId, format, subject, fields, fire, refusal, draft = false }) {
    this.QueryInterface = ChromeUtils.generateQI(['nsIMsgComposeSecure']);
    this.tabId = tabId;
    this.format = format;
    this.subject = subject;
    this.fields = fields;
    /** When set, this send must not happen: beginCryptoEncapsulation fails with it. */
    this.refusal = refusal;
    /** A draft or template (watchDrafts): encapsulated too, and the real subject goes back on the fields after. */
    this.draft = draft;
    this.previous = fields.composeSecure;
    this.fire = fire;
    // Read by MimeMessage.sys.mjs while it lays the message out.
    this.wrappedJSObject = this;
    this.requireEncryptMessage = format.encrypt;
    this.signMessage = format.sign;
    this.signFormat = 'multipart';
    this.file = undefined;
    this.fileStream = undefined;
    /** nsIBinaryOutputStream over Thunderbird's message stream, made at the first write (not closed: Thunderbird closes its stream). */
    this.binaryOut = undefined;
  }

  requiresCryptoEncapsulation() {
    return true;
  }

  beginCryptoEncapsulation(outStream, recipients, compFields, headers, identity, sendReport, isDraft) {
    if (this.refusal) {
      this.restore(this.fields);
      throw failure(this.refusal);
    }
    if (isDraft && !this.draft) throw failure('drafts are not encapsulated by Sigill');
    this.outStream = outStream;
    this.headers = headers ?? '';
    // Thunderbird's blocks go to a private temporary file (not memory: attachments can be large).
    const file = Services.dirsvc.get('TmpD', Ci.nsIFile);
    file.append('sigill-pgpmime.eml');
    file.createUnique(Ci.nsIFile.NORMAL_FILE_TYPE, 0o600);
    Cc['@mozilla.org/uriloader/external-helper-app-service;1'].getService(Ci.nsPIExternalAppLauncher).deleteTemporaryFileOnExit(file);
    const stream = Cc['@mozilla.org/network/file-output-stream;1'].createInstance(Ci.nsIFileOutputStream);
    stream.init(file, -1, 0o600, 0);
    this.file = file;
    this.fileStream = stream;
  }

  mimeCryptoWriteBlock(buffer, length) {
    if (!this.fileStream) throw failure('a block came before the encapsulation began');
    let written = 0;
    while (written < length) written += this.fileStream.write(buffer.substring(written, length), length - written);
  }

  abortCryptoEncapsulation() {
    this.cleanUp();
  }

  finishCryptoEncapsulation(abort) {
    try {
      if (abort) return;
      this.fileStream.close();
      this.fileStream = undefined;
      this.encapsulate();
    } finally {
      this.cleanUp();
    }
  }

  /** Gives the compose fields back what they had (S/MIME's object), so a later send is not ours. */
  restore(fields) {
    if (fields.composeSecure === this || fields.composeSecure?.wrappedJSObject === this) fields.composeSecure = this.previous;
    // A draft's window stays open: its fields get the real subject back.
    if (this.draft && fields.subject !== this.subject) fields.subject = this.subject;
  }

  encapsulate() {
    const handle = nextHandle++;
    const state = { done: false, error: undefined, written: 0, secure: this };
    pending.set(handle, state);
    const finish = (error) => {
      if (state.done) return;
      state.error = error;
      state.done = true;
    };
    try {
      fileClass().createFromNsIFile(this.file, { type: 'message/rfc822' })
        .then((entity) =>
          this.fire({
            handle,
            tabId: this.tabId,
            encrypt: this.format.encrypt,
            sign: this.format.sign,
            ...(this.draft ? { draft: true } : {}),
            headers: this.headers,
            subject: this.subject,
            ...(this.format.encrypt ? { outerSubject: this.format.outerSubject ?? '...' } : {}),
            entity,
          }),
        )
        .then(
          (answer) => finish(answer === state.written && state.written > 0 ? undefined : `the background answered ${String(answer)} for ${state.written} bytes written`),
          (error) => finish(String(error?.message ?? error)),
        );
      const deadline = Date.now() + MAX_WAIT_MS;
      Services.tm.spinEventLoopUntilOrQuit('Sigill PGP/MIME encapsulation', () => state.done || Date.now() > deadline);
      if (!state.done) finish(Services.startup.shuttingDown ? 'Thunderbird is shutting down' : 'the background did not answer in time');
    } finally {
      pending.delete(handle);
    }
    if (state.error !== undefined) throw failure(state.error);
  }

  write(bytes) {
    // The bytes as they are (XPConnect copies a Uint8Array into the byte array natively), not through
    // a binary string: no second copy of every piece in the main process, no conversion loop.
    if (this.binaryOut === undefined) {
      this.binaryOut = Cc['@mozilla.org/binaryoutputstream;1'].createInstance(Ci.nsIBinaryOutputStream);
      this.binaryOut.setOutputStream(this.outStream);
    }
    if (typeof this.binaryOut.writeByteArray === 'function') {
      this.binaryOut.writeByteArray(bytes);
      return;
    }
    const text = binaryString(bytes);
    let written = 0;
    while (written < text.length) written += this.outStream.write(text.substring(written), text.length - written);
  }

  cleanUp() {
    try {
      this.fileStream?.close();
    } catch {
      // already closed
    }
    this.fileStream = undefined;
    try {
      if (this.file?.exists()) this.file.remove(false);
    } catch (error) {
      console.error('Sigill PGP/MIME: could not remove the temporary file', error);
    }
    this.file = undefined;
    this.restore(this.fields);
  }
}

const restorers = new WeakSet();

/**
 * A send that failed before the encapsulation began leaves a ComposeSecure on the compose fields; the
 * window's next send must not reuse it unasked. Registered before any arming listener, so it runs first.
 */
function ensureRestorer(window) {
  if (restorers.has(window)) return;
  restorers.add(window);
  window.addEventListener(
    'compose-send-message',
    () => {
      const fields = window.gMsgCompose?.compFields;
      const current = fields?.composeSecure?.wrappedJSObject;
      if (current instanceof ComposeSecure) current.restore(fields);
    },
    true,
  );
}

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- Thunderbird looks the API class up by this global name
var sigillPgpMime = class extends ExtensionCommon.ExtensionAPI {
  constructor(extension) {
    super(extension);
    /** tabId → { window, format, onSend, onClose } */
    this.armed = new Map();
    this.listeners = new Set();
    /** tabId → { window, onSave, onClose } for watchDrafts. */
    this.draftWatches = new Map();
    this.draftDecisionListeners = new Set();
    this.draftListeners = new Set();
  }

  onShutdown() {
    for (const tabId of [...this.armed.keys()]) this.disarm(tabId);
    for (const tabId of [...this.draftWatches.keys()]) this.unwatchDrafts(tabId);
    for (const state of pending.values()) {
      state.error = 'Sigill was stopped';
      state.done = true;
    }
  }

  disarm(tabId) {
    const armed = this.armed.get(tabId);
    if (!armed) return;
    armed.window.removeEventListener('compose-send-message', armed.onSend, true);
    armed.window.removeEventListener('unload', armed.onClose);
    this.armed.delete(tabId);
  }

  /** The one listener of the background (the send path); several would be ambiguous. */
  fire(request) {
    const [listener] = this.listeners;
    if (!listener || this.listeners.size !== 1) return Promise.reject(new Error(`${this.listeners.size} listeners for onEncapsulate, expected 1`));
    return listener.async(request);
  }

  unwatchDrafts(tabId) {
    const watch = this.draftWatches.get(tabId);
    if (!watch) return;
    watch.window.removeEventListener('compose-send-message', watch.onSave, true);
    watch.window.removeEventListener('unload', watch.onClose);
    this.draftWatches.delete(tabId);
  }

  /** The one listener of an event of the draft arm (drafts.ts); none or several fail the save. */
  fireOne(listeners, name, request) {
    const [listener] = listeners;
    if (!listener || listeners.size !== 1) return Promise.reject(new Error(`${listeners.size} listeners for ${name}, expected 1`));
    return listener.async(request);
  }

  /**
   * The draft arm: a draft or template of this compose window is about to be saved. Asks the
   * background (onDraftSave) whether it must be encrypted, waiting in a nested event loop as the send
   * does; 'encrypt' puts a draft ComposeSecure on the fields (its bytes go to onEncapsulateDraft),
   * 'plain' leaves the save alone, anything else (refusal, error, no answer) cancels the save: an
   * encrypted message's draft is never saved in plaintext.
   */
  draftSave(tabId, window, event) {
    const mode = DRAFT_MODES.get(event.detail?.msgType);
    if (mode === undefined) return; // a real send: the send arm's business
    // Thunderbird's own OpenPGP or S/MIME encrypts this message (and its drafts) itself.
    if (window.gSendEncrypted) return;
    const fields = window.gMsgCompose?.compFields;
    const identity = window.gCurrentIdentity;
    const request = {
      tabId,
      mode,
      // MimeMessage.sys.mjs encapsulates a draft (not a template) only when the identity allows it.
      autoEncryptDrafts: mode === 'template' || Boolean(identity?.getBoolAttribute('autoEncryptDrafts')),
    };
    const state = { done: false, decision: undefined };
    this.fireOne(this.draftDecisionListeners, 'onDraftSave', request).then(
      (decision) => Object.assign(state, { done: true, decision: String(decision) }),
      (error) => Object.assign(state, { done: true, decision: `error: ${error?.message ?? error}` }),
    );
    const deadline = Date.now() + MAX_DRAFT_DECISION_MS;
    Services.tm.spinEventLoopUntilOrQuit('Sigill draft decision', () => state.done || Date.now() > deadline);
    if (state.decision === 'plain') return;
    if (state.decision !== 'encrypt' || !fields) {
      console.warn(`Sigill PGP/MIME: the draft was not saved (${state.decision ?? 'no answer from Sigill'})`);
      event.preventDefault();
      return;
    }
    const format = { encrypt: true, sign: false, outerSubject: '...' };
    const subject = fields.subject;
    fields.subject = format.outerSubject;
    fields.composeSecure = new ComposeSecure({ tabId, format, subject, fields, draft: true, fire: (encapsulation) => this.fireOne(this.draftListeners, 'onEncapsulateDraft', encapsulation) });
  }

  getAPI(context) {
    const api = { disarm: (tabId) => this.disarm(tabId), fire: (request) => this.fire(request), armed: this.armed, listeners: this.listeners };
    // The draft arm's state, reached from the API object's methods (arrow functions keep `this`).
    const drafts = {
      watches: this.draftWatches,
      decisionListeners: this.draftDecisionListeners,
      listeners: this.draftListeners,
      unwatch: (tabId) => this.unwatchDrafts(tabId),
      save: (tabId, window, event) => this.draftSave(tabId, window, event),
    };
    const { tabManager } = context.extension;
    return {
      sigillPgpMime: {
        async availability() {
          try {
            const reason = unavailableReason();
            return reason === undefined ? { available: true } : { available: false, reason };
          } catch (error) {
            return { available: false, reason: `checking failed: ${error?.message ?? error}` };
          }
        },

        async armNextSend(tabId, format) {
          const reason = unavailableReason();
          if (reason !== undefined) throw new ExtensionCommon.ExtensionError(`PGP/MIME is not available: ${reason}`);
          const window = tabManager.get(tabId)?.nativeTab;
          if (!window || window.document?.documentElement?.getAttribute('windowtype') !== 'msgcompose' || !window.gMsgCompose?.compFields) {
            throw new ExtensionCommon.ExtensionError(`tab ${tabId} is not a compose window`);
          }
          if (!('composeSecure' in window.gMsgCompose.compFields)) throw new ExtensionCommon.ExtensionError('the compose fields have no composeSecure');
          api.disarm(tabId);
          ensureRestorer(window);
          // Fired by MsgComposeCommands.js just before gMsgCompose.sendMsg, after Thunderbird's own
          // OpenPGP and S/MIME have set up the compose fields: the last word on how the body is wrapped.
          const onSend = (event) => {
            const msgType = event.detail?.msgType;
            if (!SEND_MODES.has(msgType)) return; // a draft or template: not this send
            api.disarm(tabId);
            const fields = window.gMsgCompose.compFields;
            if (window.gSendEncrypted || window.gSendSigned) {
              // Thunderbird's own OpenPGP or S/MIME is on for this message too: two engines would wrap
              // the same body. The send fails with this reason (Thunderbird shows it), nothing goes out.
              fields.composeSecure = new ComposeSecure({ tabId, format, subject: '', fields, fire: () => Promise.reject(new Error('refused')), refusal: "Thunderbird's own encryption or signing is also on for this message; switch it off to send with Sigill" });
              return;
            }
            const subject = fields.subject;
            if (format.encrypt) fields.subject = format.outerSubject ?? '...';
            // RFC 3156 §5: a signed part must be 7-bit; Thunderbird then uses quoted-printable or base64.
            if (format.sign && !format.encrypt) fields.forceMsgEncoding = true;
            fields.composeSecure = new ComposeSecure({ tabId, format, subject, fields, fire: (request) => api.fire(request) });
          };
          // A window closed without sending is forgotten.
          const onClose = () => api.disarm(tabId);
          window.addEventListener('compose-send-message', onSend, true);
          window.addEventListener('unload', onClose);
          api.armed.set(tabId, { window, format, onSend, onClose });
          return true;
        },

        async disarm(tabId) {
          api.disarm(tabId);
        },

        async watchDrafts(tabId) {
          const reason = unavailableReason();
          if (reason !== undefined) throw new ExtensionCommon.ExtensionError(`PGP/MIME is not available: ${reason}`);
          const window = tabManager.get(tabId)?.nativeTab;
          if (!window || window.document?.documentElement?.getAttribute('windowtype') !== 'msgcompose' || !window.gMsgCompose?.compFields) {
            throw new ExtensionCommon.ExtensionError(`tab ${tabId} is not a compose window`);
          }
          if (drafts.watches.has(tabId)) return true;
          ensureRestorer(window);
          const onSave = (event) => drafts.save(tabId, window, event);
          const onClose = () => drafts.unwatch(tabId);
          window.addEventListener('compose-send-message', onSave, true);
          window.addEventListener('unload', onClose);
          drafts.watches.set(tabId, { window, onSave, onClose });
          return true;
        },

        async unwatchDrafts(tabId) {
          drafts.unwatch(tabId);
        },

        async draftMessage(tabId) {
          // A draft opened for editing carries its stored message's URI as draftId (replaced at the next
          // save); compose.getComposeDetails gives no relatedMessageId for it.
          const window = tabManager.get(tabId)?.nativeTab;
          const uri = window?.gMsgCompose?.compFields?.draftId;
          if (!uri) return null;
          const header = MailServices.messageServiceFromURI(uri).messageURIToMsgHdr(uri);
          return header ? (context.extension.messageManager.convert(header)?.id ?? null) : null;
        },

        async draftFolder(identityId) {
          const identity = MailServices.accounts.getIdentity(identityId);
          if (!identity) throw new ExtensionCommon.ExtensionError(`no identity ${identityId}`);
          const uri = identity.draftsFolderURI || '';
          // The folder may not exist yet (created at the first save): its URI names the server.
          let server;
          try {
            server = uri ? MailServices.accounts.findServerByURI(Services.io.newURI(uri)) : null;
          } catch {
            server = null; // not a folder URI Thunderbird knows
          }
          const local = MailServices.accounts.localFoldersServer;
          if (!server && local && uri.startsWith(`${local.rootFolder.URI}/`)) server = local;
          // No folder set (a profile made without the wizard): Thunderbird then saves into the identity's
          // account's own Drafts (POP3 accounts keep them in Local Folders).
          if (!server && !uri) {
            const own = MailServices.accounts.getServersForIdentity(identity)[0];
            server = own && ['none', 'pop3', 'rss'].includes(own.type) ? local : (own ?? null);
          }
          return {
            uri,
            // mailbox: URIs are Local Folders and POP3 accounts' folders, on this computer.
            local: server ? ['none', 'pop3', 'rss'].includes(server.type) : uri.startsWith('mailbox:'),
            serverName: server?.prettyName ?? '',
            autoEncryptDrafts: Boolean(identity.getBoolAttribute('autoEncryptDrafts')),
          };
        },

        async keepDraftsLocal(identityId) {
          // What Account Settings → Copies & Folders → "Keep message drafts in: Other → Local Folders" sets.
          const identity = MailServices.accounts.getIdentity(identityId);
          if (!identity) throw new ExtensionCommon.ExtensionError(`no identity ${identityId}`);
          // Thunderbird creates the folder at the first save, as for any POP3 account's default.
          const uri = `${MailServices.accounts.localFoldersServer.rootFolder.URI}/Drafts`;
          identity.draftsFolderPickerMode = '1';
          identity.draftsFolderURI = uri;
          return uri;
        },

        async write(handle, bytes) {
          const state = pending.get(handle);
          if (!state || state.done) throw new ExtensionCommon.ExtensionError(`no encapsulation ${handle} is waiting`);
          if (!(bytes instanceof Uint8Array) && !ArrayBuffer.isView(bytes)) throw new ExtensionCommon.ExtensionError('write() takes a Uint8Array');
          const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
          try {
            state.secure.write(view);
            state.written += view.length;
          } catch (error) {
            state.error = `writing the message: ${error?.message ?? error}`;
            state.done = true;
            throw new ExtensionCommon.ExtensionError(state.error);
          }
        },

        async fail(handle, reason) {
          const state = pending.get(handle);
          if (!state || state.done) return;
          state.error = reason || 'failed';
          state.done = true;
        },

        onDraftSave: new ExtensionCommon.EventManager({
          context,
          name: 'sigillPgpMime.onDraftSave',
          register(fire) {
            drafts.decisionListeners.add(fire);
            return () => drafts.decisionListeners.delete(fire);
          },
        }).api(),

        onEncapsulateDraft: new ExtensionCommon.EventManager({
          context,
          name: 'sigillPgpMime.onEncapsulateDraft',
          register(fire) {
            drafts.listeners.add(fire);
            return () => drafts.listeners.delete(fire);
          },
        }).api(),

        onEncapsulate: new ExtensionCommon.EventManager({
          context,
          name: 'sigillPgpMime.onEncapsulate',
          register(fire) {
            api.listeners.add(fire);
            return () => api.listeners.delete(fire);
          },
        }).api(),
      },
    };
  }
};
