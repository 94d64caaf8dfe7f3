/**
 * The certificates the keyring benchmarks use: COUNT distinct v4 Ed25519/Cv25519 certificates made with
 * OpenPGP.js (user ID `Person N <personN@bench.sigill.test>`; every 50th address carries two keys).
 * Generating 10,000 takes about 20 s, so they are cached in bench/.cache/keyring-certs-COUNT.asc
 * (git-ignored) and re-used; delete the file to regenerate.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { exportKey, generateKey } from '../src/core/index.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const addressOf = (index: number) => `person${index % 50 === 49 ? index - 1 : index}@bench.sigill.test`;

export async function benchCertificates(keyCount: number): Promise<string[]> {
  const cacheDir = join(root, 'bench/.cache');
  const cacheFile = join(cacheDir, `keyring-certs-${keyCount}.asc`);
  if (existsSync(cacheFile)) {
    const cached = readFileSync(cacheFile, 'utf8').split('\n\n\n').filter((block) => block.includes('BEGIN PGP'));
    if (cached.length === keyCount) {
      console.log(`certificates: ${keyCount} from ${cacheFile}`);
      return cached;
    }
  }
  console.log(`certificates: generating ${keyCount} (cached afterwards in ${cacheFile}) ...`);
  const started = performance.now();
  const armored: string[] = [];
  for (let index = 0; index < keyCount; index += 1) {
    const { publicKey } = await generateKey({ userIDs: [`Person ${index} <${addressOf(index)}>`], date: new Date(Date.UTC(2026, 0, 1)) });
    armored.push(exportKey(publicKey, { armor: true }));
    if ((index + 1) % 1000 === 0) console.log(`  ${index + 1} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(cacheFile, armored.join('\n\n\n'));
  return armored;
}

