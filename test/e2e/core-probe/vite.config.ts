/**
 * Builds the core probe into dist/e2e/core-probe/ (test only; dist/sigill.xpi never holds it) with the
 * product's own build settings (vite.config.ts): same target, same module format, no minification.
 * `npx vite build --config test/e2e/core-probe/vite.config.ts`, or `buildCoreProbe()` of the harness.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig, type Plugin, type UserConfig } from 'vite';
import productConfig from '../../../vite.config.ts';

const root = resolve(import.meta.dirname, '../../..');
export const coreProbeOutDir = resolve(root, 'dist/e2e/core-probe');

/**
 * The probe's manifest with Sigill's content security policy, so the probe runs under exactly the rules
 * the product's background runs under (e.g. whether OpenPGP.js may instantiate its Argon2 WebAssembly).
 */
function writeManifest(): Plugin {
  return {
    name: 'sigill-core-probe-manifest',
    writeBundle() {
      const probe = JSON.parse(readFileSync(resolve(import.meta.dirname, 'manifest.json'), 'utf8')) as Record<string, unknown>;
      const product = JSON.parse(readFileSync(resolve(root, 'manifest.json'), 'utf8')) as Record<string, unknown>;
      mkdirSync(coreProbeOutDir, { recursive: true });
      const manifest = { ...probe, content_security_policy: product.content_security_policy };
      writeFileSync(resolve(coreProbeOutDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    },
  };
}

// The product's settings, with the probe's one entry point and output folder instead of Sigill's
// (and without the product's static files).
const product = productConfig as UserConfig;
export default defineConfig({
  ...product,
  plugins: [writeManifest()],
  build: {
    ...product.build,
    outDir: coreProbeOutDir,
    emptyOutDir: true,
    rollupOptions: {
      ...product.build?.rollupOptions,
      input: { background: resolve(import.meta.dirname, 'background.ts') },
    },
  },
});
