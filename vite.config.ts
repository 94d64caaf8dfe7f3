/**
 * Builds the MailExtension: every entry point under extension/ into dist/extension (ES modules, no
 * minification so reviewers can read what ships), copies manifest.json, _locales and icons, then
 * `npm run build` packs dist/sigill.xpi with web-ext (see package.json).
 */
import { cpSync, mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

const root = import.meta.dirname;
const outDir = resolve(root, 'dist/extension');

/** Entry points, named by their path in the built extension (without .js). */
export const entries: Record<string, string> = {
  'background/background': 'extension/background/background.ts',
  'options/options': 'extension/options/options.ts',
  'prompt/prompt': 'extension/prompt/prompt.ts',
  'compose/compose': 'extension/compose/compose.ts',
  // A message display script is a classic script (no imports at run time): display.ts imports types only.
  'display/display': 'extension/display/display.ts',
  'display/popup': 'extension/display/popup.ts',
};

/** Pages and their styles, copied as they are next to their scripts. */
const pageFiles = /\.(html|css)$/;

function copyStaticFiles(): Plugin {
  return {
    name: 'sigill-static-files',
    writeBundle() {
      mkdirSync(outDir, { recursive: true });
      cpSync(resolve(root, 'manifest.json'), resolve(outDir, 'manifest.json'));
      cpSync(resolve(root, 'extension/_locales'), resolve(outDir, '_locales'), { recursive: true });
      cpSync(resolve(root, 'extension/icons'), resolve(outDir, 'icons'), { recursive: true, filter: (src) => !src.endsWith('.sh') });
      // The Experiment (privileged, loaded by Thunderbird as it is): schema and implementation, no build.
      cpSync(resolve(root, 'extension/experiments'), resolve(outDir, 'experiments'), { recursive: true, filter: (src) => statSync(src).isDirectory() || /\.(json|js)$/.test(src) });
      for (const page of ['options', 'prompt', 'shared', 'compose', 'display']) {
        cpSync(resolve(root, 'extension', page), resolve(outDir, page), { recursive: true, filter: (src) => statSync(src).isDirectory() || pageFiles.test(src) });
      }
    },
  };
}

export default defineConfig({
  publicDir: false,
  build: {
    outDir,
    emptyOutDir: true,
    minify: false,
    target: 'firefox128',
    sourcemap: false,
    modulePreload: false,
    rollupOptions: {
      input: Object.fromEntries(Object.entries(entries).map(([name, file]) => [name, resolve(root, file)])),
      output: {
        format: 'es',
        entryFileNames: '[name].js',
        chunkFileNames: 'shared/[name]-[hash].js',
        assetFileNames: 'assets/[name]-[hash][extname]',
      },
    },
  },
  plugins: [copyStaticFiles()],
});
