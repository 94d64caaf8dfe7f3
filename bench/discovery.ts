/**
 * Discovery benchmark: `npx tsx bench/discovery.ts [--repeat 5]`.
 *
 * How long judging a received answer takes (src/core/discovery examineKeyData via attachedKeyCandidates),
 * for an ordinary certificate and for the worst answers the limits allow: one key filling the 256 KiB
 * cap with foreign user IDs and subkeys, and MAX_KEYS_PER_ANSWER ordinary keys in one answer; then whole
 * WKD lookups (advanced method) against the loopback HTTPS test server. Best of --repeat runs; figures
 * and ratios to the ordinary case are printed, never asserted.
 */
import { generateKey as openpgpGenerateKey } from 'openpgp';
import { attachedKeyCandidates, createWkdSource, DEFAULT_MAX_KEY_BYTES, MAX_KEYS_PER_ANSWER } from '../src/core/index.ts';
import { createNodeFetch } from '../src/cli/key/node-fetch.ts';
import { readFixture } from '../keys-fixtures/index.ts';
import { startLoopbackKeyServers } from '../test/support/key-servers.ts';

const repeatArgument = process.argv.indexOf('--repeat');
const repeat = repeatArgument === -1 ? 5 : Number(process.argv[repeatArgument + 1] ?? 5);

async function best(run: () => Promise<unknown>): Promise<number> {
  let fastest = Infinity;
  for (let index = 0; index < repeat; index++) {
    const started = performance.now();
    await run();
    fastest = Math.min(fastest, performance.now() - started);
  }
  return fastest;
}

/** The largest single key under the cap: the address's user ID plus foreign user IDs and subkeys. */
async function worstSingleKey(): Promise<Uint8Array> {
  let count = 64;
  let fitting: Uint8Array | undefined;
  for (;;) {
    const userIDs = [{ name: 'Bob', email: 'bob@sigill.test' }, ...Array.from({ length: count }, (_, index) => ({ name: `Other ${index}`, email: `other${index}@elsewhere.test` }))];
    const { publicKey } = await openpgpGenerateKey({ userIDs, subkeys: Array.from({ length: count }, () => ({})), format: 'binary' });
    if (publicKey.byteLength > DEFAULT_MAX_KEY_BYTES) return fitting ?? publicKey;
    fitting = publicKey;
    count *= 2;
  }
}

const bob = readFixture('bob', 'pub');
const manyKeys = [bob, ...Array.from({ length: MAX_KEYS_PER_ANSWER - 1 }, (_, index) => readFixture((['alice', 'carol', 'dave', 'erin', 'mallory'] as const)[index % 5]!, 'pub'))].join('\n');
const worst = await worstSingleKey();
const judge = (data: string | Uint8Array) => () => attachedKeyCandidates({ data, from: 'bob@sigill.test', maxBytes: DEFAULT_MAX_KEY_BYTES * 4 });

const ordinary = await best(judge(bob));
const rows: [string, number, number][] = [
  ['ordinary certificate (bob)', bob.length, ordinary],
  [`${MAX_KEYS_PER_ANSWER} key blocks in one answer (6 distinct keys)`, manyKeys.length, await best(judge(manyKeys))],
  ['one key at the 256 KiB cap (foreign user IDs, subkeys)', worst.byteLength, await best(judge(worst))],
];

const servers = await startLoopbackKeyServers();
const client = createNodeFetch({ routes: servers.routes, extraCA: [servers.ca.caCert] });
try {
  servers.server.publishWkd('bob@sigill.test', bob, ['advanced']);
  const wkd = createWkdSource({ fetch: client.fetch });
  rows.push(['WKD lookup over loopback HTTPS (advanced)', bob.length, await best(() => wkd.lookup('bob@sigill.test'))]);
  servers.server.reset();
  servers.server.publishWkd('bob@sigill.test', bob, ['direct']);
  rows.push(['WKD lookup, advanced 404 then direct', bob.length, await best(() => wkd.lookup('bob@sigill.test'))]);
} finally {
  await client.close();
  await servers.stop();
}

console.log(`discovery benchmark, best of ${repeat}`);
for (const [name, bytes, ms] of rows) {
  console.log(`${name.padEnd(58)} ${String(bytes).padStart(7)} B ${ms.toFixed(1).padStart(8)} ms  x${(ms / ordinary).toFixed(1)}`);
}
