// Sigill's second privileged part: spares Thunderbird a decryption attempt of its own that can only fail.
//
// For every `multipart/encrypted` part it parses, Thunderbird's MIME parser asks the JavaScript object
// registered as "@mozilla.org/mime/pgp-mime-js-decrypt;1" (its own OpenPGP, PgpMimeHandler.sys.mjs) to
// decrypt it: that object receives the part line by line and keeps it in a string, then hands the whole
// armor to RNP (RNP.decrypt turns the string into a ctypes byte array one character at a time). For a
// message with a 10 MiB attachment that is seconds of Thunderbird's own JavaScript before the message shows
// (docs/reading-mail.md, "Thunderbird's own load"), and when Thunderbird's OpenPGP holds no secret key the
// result is always "The secret key that is required to decrypt this message is not available".
//
// This Experiment registers a decryptor in front of Thunderbird's: for each part it asks whether
// Thunderbird's own OpenPGP could decrypt anything at all (a secret key in its keyring, or external GnuPG
// allowed). If it could, or if that cannot be told, Thunderbird's own decryptor gets the part exactly as
// before. Only when it provably cannot is the part taken and dropped: Thunderbird then shows no decrypted
// content (as after its failed attempt) and no "secret key not available" bar, and Sigill's display shows
// what Sigill decrypted. Nothing is decrypted or shown here; Thunderbird's own decryptor is put back when
// Sigill stops (disabled, removed or updated).
/* global ChromeUtils, Components, Ci, ExtensionCommon, Services */
'use strict';

const DECRYPTOR = '@mozilla.org/mime/pgp-mime-js-decrypt;1';
const SIGILL_DECRYPTOR_CID = Components.ID('{ac418df9-dd61-497f-aaba-f8de04576191}');

/** The installed factory and the CID of Thunderbird's own decryptor, to put back. */
let installed = null;
/** Parts handed to Thunderbird's own decryptor, and parts it was spared. */
const counts = { delegated: 0, spared: 0 };

function registrar() {
  return Components.manager.QueryInterface(Ci.nsIComponentRegistrar);
}

/**
 * Whether Thunderbird's own OpenPGP could decrypt a message: true when its keyring holds a secret key or it
 * may use external GnuPG (whose keys cannot be seen from here), and true when that cannot be told.
 */
function thunderbirdMayDecrypt() {
  try {
    if (Services.prefs.getBoolPref('mail.openpgp.allow_external_gnupg', false)) return true;
    const { EnigmailKeyRing } = ChromeUtils.importESModule('chrome://openpgp/content/modules/keyRing.sys.mjs');
    return EnigmailKeyRing.getAllKeys().keyList.some((key) => key.secretAvailable);
  } catch {
    return true;
  }
}

/** Whether the part is PGP/MIME `multipart/encrypted` (RFC 3156 §4); false when that cannot be told. */
function isEncryptedPart(request) {
  try {
    return /^multipart\/encrypted\b/i.test(request.QueryInterface(Ci.nsIPgpMimeProxy).contentType);
  } catch {
    return false;
  }
}

/** One part for the contract: Thunderbird's own handler gets it, unless it is encrypted and Thunderbird's OpenPGP cannot decrypt at all. */
class Decryptor {
  QueryInterface = ChromeUtils.generateQI(['nsIStreamListener']);

  constructor(createShipped) {
    this.createShipped = createShipped;
    this.shipped = null;
  }

  onStartRequest(request) {
    // The same contract also verifies multipart/signed (OpenPGP and S/MIME) and passes their content on:
    // only an encrypted part, which Thunderbird could not decrypt anyway, is ever spared.
    if (isEncryptedPart(request) && !thunderbirdMayDecrypt()) {
      counts.spared += 1;
      return;
    }
    counts.delegated += 1;
    this.shipped = this.createShipped();
    this.shipped.onStartRequest(request);
  }

  onDataAvailable(request, stream, offset, count) {
    this.shipped?.onDataAvailable(request, stream, offset, count);
  }

  onStopRequest(request, status) {
    this.shipped?.onStopRequest(request, status);
  }
}

function install() {
  if (installed) return { installed: true };
  const shippedCid = registrar().contractIDToCID(DECRYPTOR);
  const factory = registrar().getClassObject(shippedCid, Ci.nsIFactory);
  const createShipped = () => factory.createInstance(Ci.nsIStreamListener);
  const ours = {
    QueryInterface: ChromeUtils.generateQI(['nsIFactory']),
    createInstance: (iid) => new Decryptor(createShipped).QueryInterface(iid),
  };
  registrar().registerFactory(SIGILL_DECRYPTOR_CID, 'Sigill: spares Thunderbird a decryption it cannot do', DECRYPTOR, ours);
  installed = { factory: ours, shippedCid };
  return { installed: true };
}

function uninstall() {
  if (!installed) return;
  registrar().unregisterFactory(SIGILL_DECRYPTOR_CID, installed.factory);
  // Maps the contract back to Thunderbird's own class (registered by its CID, still there).
  registrar().registerFactory(installed.shippedCid, null, DECRYPTOR, null);
  installed = null;
}

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- Thunderbird looks the API class up by this global name
var sigillBuiltinDecryption = class extends ExtensionCommon.ExtensionAPI {
  onShutdown() {
    uninstall();
  }

  getAPI() {
    return {
      sigillBuiltinDecryption: {
        async spareWhenKeyless() {
          try {
            return install();
          } catch (error) {
            return { installed: false, reason: String(error?.message ?? error) };
          }
        },
        async counts() {
          return { ...counts, installed: installed !== null, thunderbirdMayDecrypt: thunderbirdMayDecrypt() };
        },
      },
    };
  }
};
