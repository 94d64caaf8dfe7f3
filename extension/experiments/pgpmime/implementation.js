// Sigill's one privileged part: puts Sigill where Thunderbird wraps the finished MIME body of a message
// it sends (an nsIMsgComposeSecure on the compose fields, the hook Thunderbird's own OpenPGP and S/MIME
// use), so that the message can leave as RFC 3156 PGP/MIME. It only moves bytes: Thunderbird's blocks go
// to a temporary file handed to Sigill's background, and the background's replacement is written where
// Thunderbird expects it. No crypto and no policy here; every failure fails the send (never plaintext).
// docs/architecture.md, "PGP/MIME: the privileged part", explains the design.
/* global ChromeUtils, Components, Ci, Cc, ExtensionCommon, Services */
'use strict';

// nsIMsgCompDeliverMode: only real sends go through Sigill; drafts and templates are left alone.
const SEND_MODES = new Set([Ci.nsIMsgCompDeliverMode.Now, Ci.nsIMsgCompDeliverMode.Later, Ci.nsIMsgCompDeliverMode.Background]);
/** A send waits at most this long for the background, then fails (a hung send would lock the window). */
const MAX_WAIT_MS = 15 * 60 * 1000;

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
  constructor({ tabId, format, subject, fields, fire, refusal }) {
    this.QueryInterface = ChromeUtils.generateQI(['nsIMsgComposeSecure']);
    this.tabId = tabId;
    this.format = format;
    this.subject = subject;
    this.fields = fields;
    /** When set, this send must not happen: beginCryptoEncapsulation fails with it. */
    this.refusal = refusal;
    this.previous = fields.composeSecure;
    this.fire = fire;
    // Read by MimeMessage.sys.mjs while it lays the message out.
    this.wrappedJSObject = this;
    this.requireEncryptMessage = format.encrypt;
    this.signMessage = format.sign;
    this.signFormat = 'multipart';
    this.file = undefined;
    this.fileStream = undefined;
  }

  requiresCryptoEncapsulation() {
    return true;
  }

  beginCryptoEncapsulation(outStream, recipients, compFields, headers, identity, sendReport, isDraft) {
    if (this.refusal) {
      this.restore(this.fields);
      throw failure(this.refusal);
    }
    if (isDraft) throw failure('drafts are not encapsulated by Sigill');
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
  }

  onShutdown() {
    for (const tabId of [...this.armed.keys()]) this.disarm(tabId);
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

  getAPI(context) {
    const api = { disarm: (tabId) => this.disarm(tabId), fire: (request) => this.fire(request), armed: this.armed, listeners: this.listeners };
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
