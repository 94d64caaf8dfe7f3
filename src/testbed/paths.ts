/** Where things are: the repository, the built .xpi, the Thunderbird binary and its libraries. */
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const xpiPath = join(repoRoot, 'dist', 'sigill.xpi');
export const sigillId = 'sigill@sigill.dev';
export const nssHelper = join(repoRoot, 'src', 'testbed', 'nss_sdr.py');
export const sqliteHelper = join(repoRoot, 'src', 'testbed', 'openpgp_sqlite.py');

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
