/**
 * Builds the PGP/MIME probe into dist/e2e/pgp-mime-probe/ (test only; dist/sigill.xpi never holds it):
 * Sigill's PGP/MIME Experiment (the very files the product ships) and the extension side
 * (extension/experiments/pgpmime/api.ts over the core), with the product's build settings and CSP.
 * `npx vite build --config test/e2e/pgp-mime-probe/vite.config.ts`.
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig, type Plugin, type UserConfig } from 'vite';
import productConfig from '../../../vite.config.ts';

const root = resolve(import.meta.dirname, '../../..');
export const pgpMimeProbeOutDir = resolve(root, 'dist/e2e/pgp-mime-probe');

function staticFiles(): Plugin {
  return {
    name: 'sigill-pgp-mime-probe-files',
    writeBundle() {
      const probe = JSON.parse(readFileSync(resolve(import.meta.dirname, 'manifest.json'), 'utf8')) as Record<string, unknown>;
      const product = JSON.parse(readFileSync(resolve(root, 'manifest.json'), 'utf8')) as Record<string, unknown>;
      mkdirSync(pgpMimeProbeOutDir, { recursive: true });
      writeFileSync(resolve(pgpMimeProbeOutDir, 'manifest.json'), `${JSON.stringify({ ...probe, content_security_policy: product.content_security_policy }, null, 2)}\n`);
      for (const file of ['schema.json', 'implementation.js']) {
        mkdirSync(resolve(pgpMimeProbeOutDir, 'experiments/pgpmime'), { recursive: true });
        cpSync(resolve(root, 'extension/experiments/pgpmime', file), resolve(pgpMimeProbeOutDir, 'experiments/pgpmime', file));
      }
    },
  };
}

const product = productConfig as UserConfig;
export default defineConfig({
  ...product,
  plugins: [staticFiles()],
  build: {
    ...product.build,
    outDir: pgpMimeProbeOutDir,
    emptyOutDir: true,
    rollupOptions: {
      ...product.build?.rollupOptions,
      input: { background: resolve(import.meta.dirname, 'background.ts') },
    },
  },
});
