/**
 * Background script: event wiring only. The compose and display hooks arrive with their issues;
 * for now it announces itself so the end-to-end harness can see that Sigill loaded.
 */
const manifest = browser.runtime.getManifest();
console.info(`sigill: background started (version ${manifest.version})`);
