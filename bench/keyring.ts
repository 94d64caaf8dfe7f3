/**
 * Keyring benchmark: `npx tsx bench/keyring.ts [--keys 10000] [--lookups 10000]`.
 *
 * A keyring of KEYS distinct certificates (v4 Ed25519/Cv25519, generated with OpenPGP.js; every 50th
 * address carries two keys). Generating them takes a while, so the armored certificates are cached in
 * bench/.cache/keyring-certs-KEYS.asc (git-ignored) and re-used by later runs; delete it to regenerate.
 * Measures, over the real keyring code and a real in-memory storage:
 * - import: the certificates in files of 500 keys each (every key parsed and its signatures checked);
 * - load: JSON text of the stored keyring (what storage hands over) → `Keyring.open` with its index;
 * - lookup by address (metadata only), search as you type, and `encryptionKeys` (parses the key lazily);
 * - one decision (`setAcceptance`), which rewrites one metadata shard.
 * Figures are printed, never asserted; the target lookup ≤ 1 ms is reported as met / not met.
 */
import { performance } from 'node:perf_hooks';
import { Keyring, KEYRING_INDEX_KEY, MemoryStorage, type KeyValueStorage } from '../src/core/index.ts';
import { addressOf, benchCertificates } from './keyring-certificates.ts';
import { countOption } from './args.ts';

const keyCount = countOption('keys', 10_000);
const lookupCount = countOption('lookups', 10_000);
const BATCH = 500;

function stats(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((sum, value) => sum + value, 0) / samples.length;
  const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return `mean ${ms(mean)}, median ${ms(p(0.5))}, p99 ${ms(p(0.99))}, max ${ms(sorted.at(-1) ?? 0)}`;
}

const ms = (value: number) => (value < 1 ? `${(value * 1000).toFixed(1)} µs` : `${value.toFixed(2)} ms`);

async function main(): Promise<void> {
  const armored = await benchCertificates(keyCount);

  const storage = new MemoryStorage();
  const keyring = await Keyring.open({ storage });
  let started = performance.now();
  for (let offset = 0; offset < armored.length; offset += BATCH) {
    const report = await keyring.importKeys(armored.slice(offset, offset + BATCH).join('\n'), { acceptance: 'accepted' });
    if (report.failed.length > 0) throw new Error(`import failed: ${JSON.stringify(report.failed[0])}`);
  }
  const importMs = performance.now() - started;
  console.log(`import: ${keyring.size} keys in ${(importMs / 1000).toFixed(2)} s (${ms(importMs / keyring.size)} per key, files of ${BATCH})`);

  const snapshot = storage.snapshot();
  const storedText = JSON.stringify(snapshot);
  // The metadata: the index and its shards (what opening reads; the armored keys stay in storage).
  const metadata = Object.fromEntries(Object.entries(snapshot).filter(([key]) => key === KEYRING_INDEX_KEY || key.startsWith(`${KEYRING_INDEX_KEY}.`)));
  const metadataText = JSON.stringify(metadata);
  console.log(`storage: ${(storedText.length / 1024 / 1024).toFixed(1)} MiB in all, metadata ${(metadataText.length / 1024 / 1024).toFixed(1)} MiB in ${Object.keys(metadata).length - 1} shards`);

  // Opening: storage hands over the metadata (Thunderbird's storage.local a structured clone of it; here
  // JSON.parse of its text stands for that copy), the keyring builds its address index.
  const parseAndOpen: number[] = [];
  const openOnly: number[] = [];
  let loaded: Keyring | undefined;
  for (let run = 0; run < 5; run += 1) {
    started = performance.now();
    const items = JSON.parse(metadataText) as Record<string, unknown>;
    const parsed = performance.now();
    const handing: KeyValueStorage = { get: async () => items, set: async () => undefined, remove: async () => undefined };
    loaded = await Keyring.open({ storage: handing });
    const opened = performance.now();
    parseAndOpen.push(opened - started);
    openOnly.push(opened - parsed);
  }
  if (loaded === undefined || loaded.size !== keyCount) throw new Error('reload lost keys');
  console.log(`load: metadata JSON.parse + open (5 runs): ${stats(parseAndOpen)}`);
  console.log(`load: open alone (parsing the shards' JSON text, building the address index; 5 runs): ${stats(openOnly)}`);

  const lookups: number[] = [];
  let usable = 0;
  for (let run = 0; run < lookupCount; run += 1) {
    const address = addressOf(Math.floor(Math.random() * keyCount));
    started = performance.now();
    const found = keyring.lookup(address);
    lookups.push(performance.now() - started);
    if (found.status === 'usable') usable += 1;
  }
  const lookupStats = stats(lookups);
  const meanLookup = lookups.reduce((sum, value) => sum + value, 0) / lookups.length;
  console.log(`lookup by address (${lookupCount}, ${usable} usable): ${lookupStats} — target ≤ 1 ms: ${meanLookup <= 1 ? 'met' : 'NOT met'}`);
  const missing: number[] = [];
  for (let run = 0; run < 1000; run += 1) {
    started = performance.now();
    keyring.lookup(`nobody${run}@elsewhere.test`);
    missing.push(performance.now() - started);
  }
  console.log(`lookup of an unknown address (1000): ${stats(missing)}`);

  const searches: number[] = [];
  for (const query of ['p', 'pe', 'per', 'pers', 'person', 'person4', 'person42', 'person421', 'nobody', 'bench.sigill']) {
    started = performance.now();
    keyring.search(query, { limit: 200 });
    searches.push(performance.now() - started);
  }
  console.log(`search as you type (10 queries over ${keyCount} keys, first 200 shown): ${stats(searches)}`);

  const parses: number[] = [];
  for (let run = 0; run < 100; run += 1) {
    const address = addressOf(Math.floor(Math.random() * keyCount));
    started = performance.now();
    await keyring.encryptionKeys(address);
    parses.push(performance.now() - started);
  }
  console.log(`encryptionKeys (parse + verify the key lazily, 100): ${stats(parses)}`);

  const decisions: number[] = [];
  const records = keyring.records();
  for (let run = 0; run < 20; run += 1) {
    const record = records[(run * 37) % records.length]!;
    started = performance.now();
    await keyring.setAcceptance(record.fingerprint, run % 2 === 0 ? 'verified' : 'accepted');
    decisions.push(performance.now() - started);
  }
  console.log(`setAcceptance (rewrites one of 256 metadata shards in memory storage, 20): ${stats(decisions)}`);
}

await main();
