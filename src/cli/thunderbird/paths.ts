/** Where things are: the repository, the built .xpi, the Thunderbird binary, the artifacts of a run. */
import { mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const xpiPath = join(repoRoot, 'dist', 'sigill.xpi');
export const sigillId = 'sigill@sigill.dev';
export const driverDir = join(repoRoot, 'test', 'e2e', 'driver');
export const driverId = 'sigill-e2e-driver@sigill.test';
export const nssHelper = join(repoRoot, 'test', 'e2e', 'harness', 'nss_sdr.py');
export const sqliteHelper = join(repoRoot, 'test', 'e2e', 'harness', 'openpgp_sqlite.py');

/** The Thunderbird binary: `SIGILL_THUNDERBIRD` (e.g. an unpacked 140 ESR), else Debian's. */
export function thunderbirdBinary(): string {
  return process.env.SIGILL_THUNDERBIRD ?? '/usr/lib/thunderbird/thunderbird';
}

/** The directory holding Thunderbird's own libraries (libnss3.so), next to the real binary. */
export function thunderbirdLibDir(binary = thunderbirdBinary()): string {
  return dirname(realpathSync(binary));
}

export function thunderbirdVersion(binary = thunderbirdBinary()): string {
  try {
    const ini = readFileSync(join(thunderbirdLibDir(binary), 'application.ini'), 'utf8');
    return /^Version=(.+)$/m.exec(ini)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * The run id names artifacts/e2e/<run>/. The global setup sets SIGILL_E2E_RUN once for all files;
 * without it, every file falls back to the time it was loaded.
 */
export const runId = process.env.SIGILL_E2E_RUN ?? new Date().toISOString().replace(/[:.]/g, '-');

export function artifactsDir(scenario: string): string {
  const dir = join(repoRoot, 'artifacts', 'e2e', runId, scenario);
  mkdirSync(dir, { recursive: true });
  return dir;
}

