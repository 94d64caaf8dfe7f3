/**
 * Background script: event wiring only. The compose and display hooks arrive with their issues; for
 * now it loads the core (through its one entry point, as every extension module does) and announces
 * itself, naming the engine, so the end-to-end harness can see that Sigill and its core loaded.
 */
import { openpgpEngine } from '../../src/core/index.ts';

const manifest = browser.runtime.getManifest();
console.info(`sigill: background started (version ${manifest.version}, ${openpgpEngine})`);
