/**
 * The core's speed inside Thunderbird against Node, in one run:
 *
 *   npx tsx bench/core-in-thunderbird.ts [--size 10M] [--primitives-only]
 *
 * SIZE of text (base64 of pseudo-random bytes, the shape of a mail attachment) is signed and encrypted by
 * GnuPG (SEIPDv1, v4 keys: alice to bob) and by `sigill sop` in Node (SEIPDv2, erin's v6 key; also
 * unsigned, to tell decryption from the hashing a signature needs). Two
 * Thunderbirds, each with the test-only core probe (test/e2e/core-probe, the same core and
 * extension/platform modules as Sigill's background), decrypt and verify both and sign and encrypt the
 * text (v4): one with Debian's default prefs, where JavaScript runs without the baseline JIT
 * (/etc/thunderbird/pref/thunderbird.js), and one with `javascript.options.baselinejit` on; each with
 * Sigill's primitives (extension/platform: OpenSSL's AES-CFB as WebAssembly, WebAssembly hashes) and
 * with the JavaScript defaults. Node runs the same operations through src/core/index.ts, with the Node
 * platform's OpenSSL CFB for SEIPDv1 (reading and writing) and with the pure-JavaScript defaults. Every
 * decryption's plaintext is checked by SHA-256.
 * With Sigill's primitives, the peak resident memory of the extension process (where the probe runs, as
 * Sigill's background does) is printed per operation too (bench/thunderbird-memory.ts samples it).
 *
 * Figures and ratios are printed, never asserted; everything started is stopped at the end.
 */
import { createHash, randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { fixturePassphrase, fixturePath, loadCertificate, loadSecretKey, readFixture, type Persona } from '../keys-fixtures/index.ts';
import { decrypt, encrypt, memorySink, readAll } from '../src/core/index.ts';
import { nodeCfb, nodeCfbEncryptor } from '../src/platform/node/index.ts';
import type { ProbePlatform, ProbeRequest, ProbeResponse, ProbeResults } from '../test/e2e/core-probe/protocol.ts';
import { e2eTools, World, type Client } from '../test/e2e/harness/index.ts';
import { createGpgHome, ok, runSop, sigillSop } from '../test/support/sop.ts';
import { tempDir } from '../test/support/temp.ts';
import { missingTools } from '../test/support/tools.ts';
import { measureMemory } from './thunderbird-memory.ts';
import { option, parseSize } from './args.ts';

const MiB = 1024 * 1024;

const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

interface Message {
  label: string;
  armored: string;
  recipient: Persona;
  /** Who signed it; none for an unsigned message (then only decryption is measured). */
  signer?: Persona;
}

interface Row {
  operation: string;
  /** Milliseconds per runtime; undefined when not measured there. */
  times: Record<string, number | undefined>;
}

function probe<K extends ProbeRequest['kind']>(client: Client, request: Extract<ProbeRequest, { kind: K }>): Promise<ProbeResults[K]> {
  return (client.call('probe', request, 900_000) as Promise<ProbeResponse<K>>).then((response) => {
    if (!response.ok) throw new Error(`probe in ${client.user.name}'s Thunderbird: ${response.code ?? ''} ${response.message}`);
    return response.result;
  });
}

/**
 * Resident memory (MiB) of the extension process ("WebExtensions", where the probe runs as Sigill's
 * background would) before and at its peak, per operation, in the order of the rows; filled by inThunderbird.
 */
type MemoryPeaks = Array<{ before: number; peak: number }>;

/** Runs one probe request while sampling the Thunderbird's processes; records the extension process's peak. */
async function sampled<T>(client: Client, memory: MemoryPeaks | undefined, request: () => Promise<T>): Promise<T> {
  let result: T | undefined;
  const peaks = await measureMemory(client.thunderbird.process.child.pid ?? 0, async () => {
    result = await request();
  });
  const extension = peaks.roles.WebExtensions;
  memory?.push({ before: (extension?.beforeKb ?? 0) / 1024, peak: (extension?.peakKb ?? 0) / 1024 });
  return result as T;
}

async function inThunderbird(client: Client, messages: Message[], text: string, platform: ProbePlatform, memory?: MemoryPeaks): Promise<number[]> {
  const times: number[] = [];
  for (const message of messages) {
    const result = await sampled(client, memory, () => probe(client, {
      kind: 'decrypt',
      platform,
      message: message.armored,
      secretKey: readFixture(message.recipient, 'sec'),
      passphrase: fixturePassphrase(message.recipient),
      verificationKeys: message.signer === undefined ? [] : [readFixture(message.signer, 'pub')],
      returnPlaintext: false,
    }));
    if (result.plaintextSha256 !== sha256(text)) throw new Error(`${message.label}: wrong plaintext in Thunderbird`);
    const expected = message.signer === undefined ? '' : 'good';
    if (result.verifications.map((verification) => verification.status).join() !== expected) throw new Error(`${message.label}: signature not ${expected || 'absent'} in Thunderbird`);
    times.push(result.decryptMs);
  }
  // Armored (as mail is sent) and binary: the difference is the armor's share.
  for (const armor of [true, false]) {
    const encrypted = await sampled(client, memory, () =>
      probe(client, {
        kind: 'encrypt',
        platform,
        plaintext: text,
        recipients: [readFixture('bob', 'pub')],
        signingKey: readFixture('alice', 'sec'),
        passphrase: fixturePassphrase('alice'),
        armor,
      }),
    );
    times.push(encrypted.encryptMs);
  }
  return times;
}

/** Node with the Node platform's OpenSSL primitives (`openssl`), or with the core's JavaScript defaults. */
async function inNode(messages: Message[], text: string, openssl: boolean): Promise<number[]> {
  const cfb = openssl ? nodeCfb : undefined;
  const times: number[] = [];
  for (const message of messages) {
    const sink = memorySink();
    const secretKey = await loadSecretKey(message.recipient, { unlocked: true });
    const started = performance.now();
    const result = await decrypt({
      input: message.armored,
      sink,
      decryptionKeys: [secretKey],
      verificationKeys: message.signer === undefined ? [] : [await loadCertificate(message.signer)],
      ...(cfb === undefined ? {} : { cfb }),
    });
    times.push(performance.now() - started);
    if (sha256(sink.bytes()) !== sha256(text)) throw new Error(`${message.label}: wrong plaintext in Node`);
    const expected = message.signer === undefined ? '' : 'good';
    if (result.verifications.map((verification) => verification.status).join() !== expected) throw new Error(`${message.label}: signature not ${expected || 'absent'} in Node`);
  }
  const signingKey = await loadSecretKey('alice', { unlocked: true });
  for (const armor of [true, false]) {
    const started = performance.now();
    await readAll(await encrypt({ input: text, recipients: [await loadCertificate('bob')], signingKeys: [signingKey], armor, ...(openssl ? { cfb: nodeCfbEncryptor } : {}) }));
    times.push(performance.now() - started);
  }
  return times;
}

function print(rows: Row[], size: number): void {
  const columns = Object.keys(rows[0]?.times ?? {});
  const cell = (ms: number | undefined): string => (ms === undefined ? '—' : `${(ms / 1000).toFixed(2)} s`);
  console.log(`\n${`operation, ${(size / MiB).toFixed(1)} MiB`.padEnd(44)}${columns.map((column) => column.padEnd(22)).join('')}`);
  for (const row of rows) console.log(`${row.operation.padEnd(44)}${columns.map((column) => cell(row.times[column]).padEnd(22)).join('')}`);
  const ratio = (a: string, b: string): string =>
    rows.map((row) => {
      const [x, y] = [row.times[a], row.times[b]];
      return `${row.operation}: ${x === undefined || y === undefined ? '—' : `${(x / y).toFixed(1)}×`}`;
    }).join('; ');
  console.log(`\nThunderbird Debian default / baseline JIT on, Sigill's primitives: ${ratio(columns[0]!, columns[1]!)}`);
  console.log(`Thunderbird Debian default, pure JS / Sigill's primitives (the speed-up): ${ratio(columns[2]!, columns[0]!)}`);
  console.log(`Thunderbird baseline JIT on, pure JS / Sigill's primitives: ${ratio(columns[3]!, columns[1]!)}`);
  console.log(`Thunderbird Debian default, Sigill's primitives / Node (OpenSSL CFB): ${ratio(columns[0]!, columns[4]!)}`);
}

async function main(): Promise<void> {
  const size = parseSize(option('size', '10M'));
  const missing = missingTools(e2eTools([{ command: 'gpg', debianPackage: 'gnupg' }]));
  if (missing.length > 0) {
    console.log(`SKIPPED: needs ${missing.map((tool) => `${tool.command} (apt-get install ${tool.debianPackage})`).join(', ')}`);
    return;
  }
  console.log(`core in Thunderbird vs Node: ${(size / MiB).toFixed(1)} MiB of text, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const text = randomBytes(Math.ceil((size * 3) / 4)).toString('base64').slice(0, size);

  const gpg = await createGpgHome();
  const scratch = await tempDir('sigill-bench-tb-');
  let world: World | undefined;
  try {
    ok(await gpg.importKey(fixturePath('alice', 'sec'), await scratch.file('alice.pass', fixturePassphrase('alice'))));
    ok(await gpg.importKey(fixturePath('bob', 'pub')));
    const erinKey = await scratch.file('erin.sec.asc', readFixture('erin', 'unprotected'));
    const messages: Message[] = [
      {
        label: 'gpg SEIPDv1 (v4)',
        armored: ok(await gpg.gpg(['--passphrase', fixturePassphrase('alice'), '--local-user', 'alice@sigill.test', '--recipient', 'bob@sigill.test', '--armor', '--sign', '--encrypt'], { stdin: text })).stdout.toString(),
        recipient: 'bob',
        signer: 'alice',
      },
      {
        // GnuPG compresses by default (ZLIB/ZIP, which OpenPGP.js inflates in JavaScript): without it,
        // the difference to the row above is the decompression's share.
        label: 'gpg SEIPDv1 (v4) uncompressed',
        armored: ok(await gpg.gpg(['--passphrase', fixturePassphrase('alice'), '--local-user', 'alice@sigill.test', '--recipient', 'bob@sigill.test', '--compress-algo', 'none', '--armor', '--sign', '--encrypt'], { stdin: text })).stdout.toString(),
        recipient: 'bob',
        signer: 'alice',
      },
      {
        label: 'sop SEIPDv2 (v6)',
        armored: ok(await runSop(sigillSop, ['encrypt', '--sign-with', erinKey, fixturePath('erin', 'pub')], { stdin: text })).stdout.toString(),
        recipient: 'erin',
        signer: 'erin',
      },
      {
        // Unsigned: separates the cost of decryption from that of hashing the data for the signature.
        label: 'sop SEIPDv2 (v6) unsigned',
        armored: ok(await runSop(sigillSop, ['encrypt', fixturePath('erin', 'pub')], { stdin: text })).stdout.toString(),
        recipient: 'erin',
      },
    ];

    world = await World.start('bench-core-in-thunderbird', { relay: false });
    // The probe is an MV3 event page: idle for 30 s (the other Thunderbird's turn, on a loaded machine) it is
    // suspended, and waking it for a large request failed ("Receiving end does not exist"). Five minutes,
    // the longest Thunderbird allows, keeps it up between this bench's requests.
    const awake = { 'extensions.background.idle.timeout': 300_000 };
    const standard = await world.launch('alice', { coreProbe: true, sigill: false, prefs: awake });
    const jit = await world.launch('bob', { coreProbe: true, sigill: false, prefs: { ...awake, 'javascript.options.baselinejit': true } });
    // Where the time goes: the bulk primitives alone, on random data of the same size.
    const primitives = { 'TB Debian': await probe(standard, { kind: 'primitives', size }), 'TB JIT': await probe(jit, { kind: 'primitives', size }) };
    console.log(`\nprimitives alone, ${(size / MiB).toFixed(1)} MiB (extension/platform; WebCrypto and native base64 for reference):`);
    for (const [runtime, times] of Object.entries(primitives)) {
      console.log(`  ${runtime.padEnd(10)} ${Object.entries(times).map(([name, ms]) => `${name} ${(ms / 1000).toFixed(3)} s`).join(', ')}`);
    }
    if (process.argv.includes('--primitives-only')) return;
    const memory: Record<string, MemoryPeaks> = { 'TB Debian (Sigill)': [], 'TB JIT (Sigill)': [] };
    const runtimes: Record<string, number[]> = {
      'TB Debian (Sigill)': await inThunderbird(standard, messages, text, 'compiled', memory['TB Debian (Sigill)']),
      'TB JIT (Sigill)': await inThunderbird(jit, messages, text, 'compiled', memory['TB JIT (Sigill)']),
      'TB Debian (pure JS)': await inThunderbird(standard, messages, text, 'pure-js'),
      'TB JIT (pure JS)': await inThunderbird(jit, messages, text, 'pure-js'),
      // A first Node run only warms up V8's JIT, as the Thunderbird runs above had their own start.
      'Node (OpenSSL CFB)': await inNode(messages, text, true).then(() => inNode(messages, text, true)),
      'Node (pure-JS CFB)': await inNode(messages, text, false),
    };
    const operations = [...messages.map((message) => `${message.signer === undefined ? 'decrypt' : 'decrypt + verify'} ${message.label}`), 'sign + encrypt (v4)', 'sign + encrypt (v4), binary'];
    print(
      operations.map((operation, index) => ({
        operation,
        times: Object.fromEntries(Object.entries(runtimes).map(([runtime, times]) => [runtime, times[index]])),
      })),
      size,
    );
    // The text itself travels to the probe in the request (a structured clone of SIZE characters), so the
    // figures include it once or twice; the plaintext of a decryption stays in the probe's bounded memory sink.
    console.log(`\nresident memory of the extension process (WebExtensions), before → peak during each operation, Sigill's primitives:`);
    for (const [runtime, peaks] of Object.entries(memory)) {
      const cell = (entry: { before: number; peak: number } | undefined): string => (entry === undefined ? '—' : `${entry.before.toFixed(0)} → ${entry.peak.toFixed(0)} MiB`);
      console.log(`  ${runtime.padEnd(20)} ${operations.map((operation, index) => `${operation}: ${cell(peaks[index])}`).join('; ')}`);
    }
  } finally {
    const left = await world?.stop();
    if (left !== undefined && left.length > 0) console.log(`WARNING: processes left running: ${left.join(' ')}`);
    await gpg.dispose();
    await scratch.dispose();
  }
}

await main();
