/** The Sigill .xpi under test: dist/sigill.xpi, rebuilt with `npm run build` when missing or stale. */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, xpiPath } from './paths.ts';

const sources = ['manifest.json', 'vite.config.ts', 'extension', 'src/core'];

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((entry) => newestMtime(join(path, entry))));
}

/** Returns the path of an up-to-date .xpi (SIGILL_E2E_XPI overrides, for trying a given build). */
export function ensureXpi(): string {
  const override = process.env.SIGILL_E2E_XPI;
  if (override !== undefined) return override;
  const newestSource = Math.max(...sources.map((source) => newestMtime(join(repoRoot, source))));
  if (!existsSync(xpiPath) || statSync(xpiPath).mtimeMs < newestSource) {
    buildXpi();
  }
  if (!existsSync(xpiPath)) throw new Error(`npm run build made no ${xpiPath}`);
  return xpiPath;
}

/** `npm run build` (vite, then web-ext packs dist/sigill.xpi); its output goes to stderr. */
export function buildXpi(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, stdio: ['ignore', process.stderr, 'inherit'], timeout: 240_000 });
}
