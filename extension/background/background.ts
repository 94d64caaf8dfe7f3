/**
 * Background script: event wiring only. The keyring service answers Sigill's pages (options,
 * passphrase prompt); the compose and display hooks arrive with their issues.
 */
import { openpgpEngine } from '../../src/core/index.ts';
import { browserApi } from '../platform/browser.ts';
import { startBackground } from './main.ts';

const api = browserApi();
startBackground(api);
console.info(`sigill: background started (version ${api.runtime.getManifest().version}, ${openpgpEngine})`);
