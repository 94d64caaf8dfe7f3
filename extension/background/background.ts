/**
 * Background script: event wiring only. The keyring service answers Sigill's pages (options,
 * passphrase prompt); the compose and display hooks arrive with their issues.
 */
import { openpgpEngine } from '../../src/core/index.ts';
import { pgpMimeAvailability } from '../experiments/pgpmime/api.ts';
import { browserApi } from '../platform/browser.ts';
import { startBackground } from './main.ts';

const api = browserApi();
startBackground(api);
console.info(`sigill: background started (version ${api.runtime.getManifest().version}, ${openpgpEngine})`);
// Loads the PGP/MIME Experiment and says whether this Thunderbird can send PGP/MIME (the send path
// falls back to inline with a notice when it cannot).
void pgpMimeAvailability().then((state) => console.info(`sigill: PGP/MIME ${state.available ? 'available' : `not available: ${state.reason ?? 'unknown reason'}`}`));
