// The prebuilt bundle of the `sigill` command line (src/cli/main.ts and everything it imports from
// src/), so `bin/sigill` starts without compiling TypeScript at run time (tsx: ~0.3 s and ~35 MiB
// more per run). Built with esbuild (a dependency of tsx, so present after any install) by
// `npm install` / `npm ci` (the `prepare` script) or on first use, into node_modules/.cache, which
// a fresh install starts without.
//
// Freshness: the bundle records every source file it was built from with its mtime and size;
// `bin/sigill` uses it only if all of them still match, otherwise it rebuilds (about 0.2 s) or,
// if that fails, runs the sources through tsx as before. Packages stay external (resolved from
// node_modules at run time), so only our own sources need checking.
//
// `node scripts/cli-bundle.mjs` builds it now; it never fails an install (a missing bundle only
// costs start-up time).
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = join(root, 'node_modules', '.cache', 'sigill-cli');
const pointer = join(cacheDir, 'current.json');
const entry = join(root, 'src', 'cli', 'main.ts');
// Not imported, but read by esbuild (tsconfig) or affecting the result: a change rebuilds too.
const extraInputs = ['tsconfig.json', 'tsconfig.base.json', 'package.json', 'scripts/cli-bundle.mjs'];
const FORMAT = 1;

function stamp(relativePath) {
  const stats = statSync(join(root, relativePath));
  return [relativePath, stats.mtimeMs, stats.size];
}

/** The entry module's URL if the bundle is up to date with every source it was built from, else undefined. */
export function freshBundle() {
  let current;
  try {
    current = JSON.parse(readFileSync(pointer, 'utf8'));
  } catch {
    return undefined;
  }
  if (current?.format !== FORMAT || typeof current.dir !== 'string' || !Array.isArray(current.inputs)) return undefined;
  try {
    for (const [path, mtimeMs, size] of current.inputs) {
      const [, nowMtime, nowSize] = stamp(path);
      if (nowMtime !== mtimeMs || nowSize !== size) return undefined;
    }
  } catch {
    return undefined; // a source was removed
  }
  return pathToFileURL(join(cacheDir, current.dir, 'main.js')).href;
}

async function loadEsbuild() {
  try {
    return await import('esbuild');
  } catch {
    // Not hoisted: esbuild as installed for tsx.
    const { createRequire } = await import('node:module');
    const fromTsx = createRequire(createRequire(join(root, 'package.json')).resolve('tsx'));
    return fromTsx('esbuild');
  }
}

/**
 * esbuild keeps `import.meta.url` as is, which in a bundle names the bundle, not the source file;
 * sources use it for paths relative to themselves (package.json, the repository root). Rewrite it
 * to the source file's URL, expressed relative to the bundle so a moved checkout still works.
 */
function sourceUrlPlugin(outdir) {
  return {
    name: 'source-import-meta-url',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        const contents = readFileSync(args.path, 'utf8');
        if (!contents.includes('import.meta.url')) return { contents, loader: 'ts' };
        const fromBundle = relative(outdir, args.path).split(sep).join('/');
        return { contents: contents.replaceAll('import.meta.url', `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`), loader: 'ts' };
      });
    },
  };
}

/** Builds the bundle; returns the entry module's URL. Throws if esbuild is unavailable or fails. */
export async function buildBundle() {
  const started = Date.now();
  const esbuild = await loadEsbuild();
  const name = `b-${process.pid}-${started.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const outdir = join(cacheDir, name);
  mkdirSync(cacheDir, { recursive: true });
  try {
    const result = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      // Sub-commands stay separate chunks: `sigill sop` never loads the relay or the demo.
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      outdir,
      entryNames: 'main',
      sourcemap: 'linked',
      metafile: true,
      logLevel: 'silent',
      plugins: [sourceUrlPlugin(outdir)],
    });
    const inputs = [...Object.keys(result.metafile.inputs), ...extraInputs].map((path) => stamp(relative(root, resolve(root, path))));
    // A source saved while esbuild was reading it may be in the bundle in its old form with its
    // new mtime: do not record such a bundle as fresh (it is used this once, rebuilt next time).
    if (inputs.every(([, mtimeMs]) => mtimeMs < started - 1)) {
      let previous;
      try {
        previous = JSON.parse(readFileSync(pointer, 'utf8')).dir;
      } catch {
        previous = undefined;
      }
      const temporary = `${pointer}.${process.pid}.tmp`;
      writeFileSync(temporary, JSON.stringify({ format: FORMAT, dir: name, inputs }));
      renameSync(temporary, pointer); // atomic: concurrent runs see the old or the new bundle
      prune([name, previous]);
    }
    return pathToFileURL(join(outdir, 'main.js')).href;
  } catch (error) {
    rmSync(outdir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Removes old bundles (each edit of a source makes one while developing). Kept: the new one, the
 * one it replaces (a `sigill` started a moment ago may still be loading its chunks) and any less
 * than ten minutes old (the same, for bundles built by concurrent runs).
 */
function prune(keep) {
  const minutes = 10 * 60 * 1000;
  for (const entryName of readdirSync(cacheDir)) {
    if (keep.includes(entryName) || !entryName.startsWith('b-')) continue;
    const path = join(cacheDir, entryName);
    try {
      if (Date.now() - statSync(path).mtimeMs > minutes) rmSync(path, { recursive: true, force: true });
    } catch {
      /* raced with another prune */
    }
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const url = await buildBundle();
    console.log(`sigill: CLI bundle built (${relative(root, fileURLToPath(url))})`);
  } catch (error) {
    // Never fail `npm install`: bin/sigill runs the sources through tsx without the bundle.
    console.warn(`sigill: CLI bundle not built (${error instanceof Error ? error.message : String(error)}); bin/sigill will use tsx`);
  }
}
