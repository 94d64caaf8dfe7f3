/**
 * Background script: event wiring only (main.ts): the keyring service answers Sigill's pages (options,
 * passphrase prompt, compose popup), the send hook encrypts on compose.onBeforeSend, the read path
 * answers the message display script and the status popup.
 */
import DOMPurify from 'dompurify';
import { COLLECT_EVERY_BYTES, htmlSanitizer, openpgpEngine, useGarbageCollector } from '../../src/core/index.ts';
import { spareBuiltinDecryption } from '../experiments/builtin-decryption/api.ts';
import { experimentCollector } from '../experiments/gc/api.ts';
import { pgpMimeAvailability, pgpMimeExperiment } from '../experiments/pgpmime/api.ts';
import { browserApi } from '../platform/browser.ts';
import { startBackground } from './main.ts';

const api = browserApi();
// The background page has a DOM of its own: received HTML is sanitized here, before any display sees it.
const pgpMime = pgpMimeExperiment();
startBackground(api, { sanitizeHtml: htmlSanitizer(DOMPurify(window)), ...(pgpMime === undefined ? {} : { pgpMime }) });
console.info(`sigill: background started (version ${api.runtime.getManifest().version}, ${openpgpEngine})`);
// Loads the PGP/MIME Experiment and says whether this Thunderbird can send PGP/MIME (the send path
// falls back to inline with a notice when it cannot).
void pgpMimeAvailability(pgpMime).then((state) => console.info(`sigill: PGP/MIME ${state.available ? 'available' : `not available: ${state.reason ?? 'unknown reason'}`}`));
// Thunderbird's own OpenPGP, when it holds no secret key, is spared a PGP/MIME decryption that can only fail
// (seconds for a large message before it shows; docs/reading-mail.md, "Thunderbird's own load").
void spareBuiltinDecryption().then((state) =>
  console.info(`sigill: Thunderbird's own PGP/MIME decryption ${state.installed ? 'is skipped while it holds no secret key' : `is left as it is: ${state.reason ?? 'unknown reason'}`}`),
);
// A full garbage collection of this process every 16 MiB a large read streams (the gc Experiment), so the
// short-lived arrays of its chunks never pile up to the size of the message (docs/architecture.md, "Memory in Thunderbird").
const collector = experimentCollector();
useGarbageCollector(collector);
console.info(`sigill: garbage collection during large reads ${collector ? `every ${COLLECT_EVERY_BYTES >> 20} MiB` : 'left to the engine (the gc Experiment is not loaded)'}`);
