// The prebuilt bundle of the `sigill` command line (src/cli/main.ts and everything it imports,
// packages included), so `bin/sigill` starts without compiling TypeScript at run time (tsx: ~0.3 s
// and ~35 MiB more per run). Built with esbuild (a dependency of tsx, so present after any install)
// by `npm install` / `npm ci` (the `prepare` script) or on first use, into node_modules/.cache,
// which a fresh install starts without.
//
// One CommonJS file, run by `runBundle` through node:vm with V8's code cache: Node 20 has no
// compile cache for ES modules (module.enableCompileCache needs 22.1), and resolving and compiling
// OpenPGP.js and the sources was about a third of `sigill sop decrypt`'s start-up. The cache
// (main.cjs.cache beside the bundle) is written by the first run that finds none, and again when
// V8 rejects it (another Node version). Sub-commands are still evaluated only when called (esbuild
// keeps each dynamic import lazy), so `sigill sop` never sets up the relay or the demo.
//
// Freshness: the bundle records every source file it was built from with its mtime and size, and
// npm's node_modules/.package-lock.json (rewritten by every install) for the packages;
// `bin/sigill` uses it only if all of them still match, otherwise it rebuilds (about 0.5 s) or,
// if that fails, runs the sources through tsx as before.
//
// `node scripts/cli-bundle.mjs` builds it now; it never fails an install (a missing bundle only
// costs start-up time).
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = join(root, 'node_modules', '.cache', 'sigill-cli');
const pointer = join(cacheDir, 'current.json');
/**
 * One self-contained file per entry: `sop` (the SOP command line alone, a third of the size of the
 * whole CLI, whose relay, demo and HTTP client it never needs) and `main` (everything).
 */
const entries = { main: join(root, 'src', 'cli', 'main.ts'), sop: join(root, 'src', 'cli', 'sop', 'main.ts') };
// Not imported, but read by esbuild (tsconfig) or affecting the result: a change rebuilds too.
const extraInputs = ['tsconfig.json', 'tsconfig.base.json', 'package.json', 'package-lock.json', 'node_modules/.package-lock.json', 'scripts/cli-bundle.mjs'];
// 3: inputs recorded relative to the root whatever the working directory of the build (2 recorded
// them relative to it, so a bundle built elsewhere named no real file and never went stale).
const FORMAT = 3;


/** A file's path, mtime and size; -1, -1 for a file that does not exist (a lock file an install lacks). */
function stamp(relativePath) {
  const stats = statSync(join(root, relativePath), { throwIfNoEntry: false });
  return stats === undefined ? [relativePath, -1, -1] : [relativePath, stats.mtimeMs, stats.size];
}

/** The bundle's directory if it is up to date with every source it was built from, else undefined. */
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
      // A source removed, or a lock file that appeared or went, shows as a changed stamp.
      const [, nowMtime, nowSize] = stamp(path);
      if (nowMtime !== mtimeMs || nowSize !== size) return undefined;
    }
  } catch {
    return undefined; // unreadable
  }
  return join(cacheDir, current.dir);
}

/** The file of one entry ('main' or 'sop') in a bundle directory. */
export function bundleEntry(directory, name) {
  return join(directory, `${name}.cjs`);
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
 * `import.meta.url` in a bundle would name the bundle (in CommonJS it does not exist at all: the
 * banner defines it as the bundle's URL), not the source file; sources use it for paths relative to
 * themselves (package.json, the repository root). Rewrite it to the source file's URL, expressed
 * relative to the bundle so a moved checkout still works.
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

/**
 * The CLI passes node:crypto's AES-CFB to the core (src/platform/node/cfb.ts), so @noble/ciphers'
 * AES, the core's pure-JavaScript default, is rarely run; building its lookup tables at load took
 * about 20 ms of every start-up. In the bundle, a static import of it from our sources gets a stand-in
 * that loads the real module on the first call.
 */
function lazyModulesPlugin() {
  const lazy = { '@noble/ciphers/aes': ['cfb'] };
  return {
    name: 'lazy-modules',
    setup(build) {
      build.onResolve({ filter: /^@noble\/ciphers\/aes$/ }, (args) =>
        args.kind === 'import-statement' && !args.importer.includes(`${sep}node_modules${sep}`) ? { path: args.path, namespace: 'lazy-module' } : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: 'lazy-module' }, (args) => {
        const names = lazy[args.path];
        const contents = [
          'let real;',
          `const load = () => (real ??= require(${JSON.stringify(args.path)}));`,
          ...names.map((name) => `export function ${name}(...args) { return load().${name}(...args); }`),
        ].join('\n');
        return { contents, loader: 'js', resolveDir: root };
      });
    },
  };
}

/** Builds the bundle; returns its directory. Throws if esbuild is unavailable or fails. */
export async function buildBundle() {
  const started = Date.now();
  const esbuild = await loadEsbuild();
  const name = `b-${process.pid}-${started.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const outdir = join(cacheDir, name);
  mkdirSync(cacheDir, { recursive: true });
  try {
    const result = await esbuild.build({
      entryPoints: entries,
      // The metafile's input paths are relative to this: the root, not wherever `sigill` was run from.
      absWorkingDir: root,
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      outdir,
      outExtension: { '.js': '.cjs' },
      banner: { js: 'const __sigillBundleUrl = require("node:url").pathToFileURL(__filename).href;' },
      define: { 'import.meta.url': '__sigillBundleUrl' },
      sourcemap: 'linked',
      metafile: true,
      logLevel: 'silent',
      plugins: [sourceUrlPlugin(outdir), lazyModulesPlugin()],
    });
    // Packages are covered by npm's lock files (extraInputs) rather than by one stat per file.
    const sources = Object.keys(result.metafile.inputs).filter((path) => !path.includes('node_modules/') && !path.startsWith('lazy-module:'));
    const inputs = [...sources, ...extraInputs].map((path) => stamp(relative(root, resolve(root, path))));
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
    return outdir;
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

/**
 * Loads one file of the bundle with V8's code cache and returns its exports; `settle()`, called once
 * the command has run (so the cache holds the functions it compiled too), writes the cache if there
 * was none or V8 rejected it. A cache that cannot be written is simply not kept. `cacheName` keeps
 * one cache per sub-command (`sop decrypt` and `sop encrypt` run different code).
 */
export function runBundle(path, cacheName = 'default') {
  const cachePath = `${path}.${/^[a-z][a-z0-9-]{0,31}$/.test(cacheName) ? cacheName : 'other'}.cache`;
  let cachedData;
  try {
    cachedData = readFileSync(cachePath);
  } catch {
    cachedData = undefined;
  }
  const source = readFileSync(path, 'utf8');
  // The CommonJS wrapper, as require() would add it.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: path,
    cachedData,
    importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(path), module, path, dirname(path));
  const settle = () => {
    if (cachedData !== undefined && !script.cachedDataRejected) return;
    try {
      const temporary = `${cachePath}.${process.pid}.tmp`;
      writeFileSync(temporary, script.createCachedData());
      renameSync(temporary, cachePath);
    } catch {
      /* read-only node_modules: start without the cache */
    }
  };
  return { exports: module.exports, settle };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const directory = await buildBundle();
    console.log(`sigill: CLI bundle built (${relative(root, directory)})`);
  } catch (error) {
    // Never fail `npm install`: bin/sigill runs the sources through tsx without the bundle.
    console.warn(`sigill: CLI bundle not built (${error instanceof Error ? error.message : String(error)}); bin/sigill will use tsx`);
  }
}
