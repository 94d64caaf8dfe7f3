/**
 * Background script: event wiring only. The keyring service answers Sigill's pages (options,
 * passphrase prompt); the read path answers the message display script and the status popup; the
 * compose hook arrives with its issue.
 */
import DOMPurify from 'dompurify';
import { htmlSanitizer, openpgpEngine } from '../../src/core/index.ts';
import { browserApi } from '../platform/browser.ts';
import { startBackground } from './main.ts';

const api = browserApi();
// The background page has a DOM of its own: received HTML is sanitized here, before any display sees it.
startBackground(api, { sanitizeHtml: htmlSanitizer(DOMPurify(window)) });
console.info(`sigill: background started (version ${api.runtime.getManifest().version}, ${openpgpEngine})`);
