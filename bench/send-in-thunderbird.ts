/**
 * Sending a message with a 10 MB attachment in real Thunderbird, in one run:
 *
 *   npx tsx bench/send-in-thunderbird.ts [--size 10M] [--repeat 3]
 *
 * Times compose.sendMessage until it resolves (after the relay's 250 and the Sent copy) for: no
 * encryption (carol, no OpenPGP), Sigill in its default format, PGP/MIME (alice → bob), Sigill inline
 * (alice → dave, whom alice's settings mark as reading only inline), both encrypted and signed with the
 * key unlocked beforehand by a warm-up send through the passphrase prompt, and Thunderbird's own OpenPGP
 * (carol → dave, PGP/MIME, encrypted and signed). Prints each Sigill format's added time against
 * Thunderbird's own (the goal is a ratio ≤ 1.0) and the peak resident memory of alice's Thunderbird
 * processes during each Sigill send. Twice: with Debian's default prefs (no baseline JIT) and with
 * `javascript.options.baselinejit` on. For PGP/MIME it also prints the background's share (from Sigill's
 * console line: reading the entity, signing, encrypting, armoring and handing the result back); the rest
 * of the time is Thunderbird's. `--repeat N` sends each message N times and prints the medians (the
 * machine is shared: single figures are noisy).
 * Figures are printed, never asserted; everything started is stopped at the end.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fixturePassphrase } from '../keys-fixtures/index.ts';
import type { ComposeArgs } from '../test/e2e/driver/commands.ts';
import { e2eTools, World, type Client } from '../test/e2e/harness/index.ts';
import { SigillPage } from '../test/e2e/harness/sigill.ts';
import { missingTools } from '../test/support/tools.ts';
import { measureMemory } from './thunderbird-memory.ts';

const MiB = 1024 * 1024;
const sizeArg = process.argv.find((arg) => arg.startsWith('--size='))?.slice(7) ?? process.argv[process.argv.indexOf('--size') + 1];
const size = /^\d+M$/i.test(sizeArg ?? '') ? Number.parseInt(sizeArg!, 10) * MiB : 10 * MiB;
const attachment = randomBytes(size);
const repeatArg = process.argv.find((arg) => arg.startsWith('--repeat='))?.slice(9) ?? process.argv[process.argv.indexOf('--repeat') + 1];
const repeat = /^[1-9]$/.test(repeatArg ?? '') ? Number(repeatArg) : 1;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** The median of `repeat` runs. */
async function repeated(run: () => Promise<number>): Promise<number> {
  const times: number[] = [];
  for (let index = 0; index < repeat; index++) times.push(await run());
  return median(times);
}

async function timedSend(client: Client, args: ComposeArgs, during?: () => Promise<void>): Promise<number> {
  const { tabId } = await client.call('composeBegin', args, 300_000);
  const started = performance.now();
  const sending = client.call('composeSend', { tabId, timeoutMs: 900_000 }, 960_000);
  await during?.();
  const result = await sending;
  if (!result.ok) throw new Error(`send failed: ${result.error}`);
  return performance.now() - started;
}

interface SampledSend {
  ms: number;
  beforeMiB: number;
  peakMiB: number;
  /** Growth of the parent process and of the extension process (Sigill's background), each at its own peak. */
  parentMiB: number;
  extensionMiB: number;
}

/** Runs a send (`repeat` times) while sampling the resident memory of the client's Thunderbird processes: the median time, the first "before" and the highest peaks. */
async function sampledSend(client: Client, args: ComposeArgs): Promise<SampledSend> {
  const runs: SampledSend[] = [];
  for (let index = 0; index < repeat; index++) runs.push(await sampledSendOnce(client, args));
  const highest = (pick: (run: SampledSend) => number): number => Math.max(...runs.map(pick));
  return { ms: median(runs.map((run) => run.ms)), beforeMiB: runs[0]?.beforeMiB ?? Number.NaN, peakMiB: highest((run) => run.peakMiB), parentMiB: highest((run) => run.parentMiB), extensionMiB: highest((run) => run.extensionMiB) };
}

async function sampledSendOnce(client: Client, args: ComposeArgs): Promise<SampledSend> {
  let ms = 0;
  const peaks = await measureMemory(client.thunderbird.process.child.pid ?? 0, async () => {
    ms = await timedSend(client, args);
  });
  const growth = (role: string): number => {
    const entry = peaks.roles[role];
    return entry ? (entry.peakKb - entry.beforeKb) / 1024 : Number.NaN;
  };
  return { ms, beforeMiB: peaks.beforeTotalKb / 1024, peakMiB: peaks.peakTotalKb / 1024, parentMiB: growth('parent'), extensionMiB: growth('WebExtensions') };
}

async function runWorld(label: string, prefs: Record<string, string | number | boolean>, base: string): Promise<Record<string, number>> {
  // The relay takes the largest message: PGP/MIME armor of the base64 attachment is about 1.9 × its size.
  const world = await World.start(`bench-send-${label}`, { relayMessageSize: Math.max(64 * MiB, 2 * size + 16 * MiB) });
  try {
    const keys = world.openPgpKeys(['carol', 'dave']);
    const quiet = { ...prefs, 'mailnews.message_warning_size': 512 * MiB };
    const [alice, carol] = await Promise.all([
      world.launch('alice', { sigill: { ownKey: 'alice', correspondents: ['bob', 'dave'], settings: { unlockMinutes: 60, inlineOnlyCorrespondents: ['dave@sigill.test'] } }, prefs: quiet }),
      world.launch('carol', { sigill: false, openpgp: { own: keys.carol!, correspondents: [keys.dave!] }, prefs: quiet }),
    ]);
    const files = [{ name: 'attachment.bin', url: `${base}/attachment.bin` }];
    // Warm-up: unlocks alice's key through the prompt (kept for the unlock time), so the timed send does not wait for a person.
    await timedSend(alice, { to: ['bob@sigill.test'], subject: 'warm-up', body: 'warm-up' }, async () => {
      const prompt = await SigillPage.prompt(alice);
      await prompt.type('#passphrase', fixturePassphrase('alice'), ['Enter']);
    });
    const plain = await repeated(() => timedSend(carol, { to: ['dave@sigill.test'], subject: 'plain', body: 'plain', attachments: files }));
    const builtin = await repeated(() => timedSend(carol, { to: ['dave@sigill.test'], subject: 'builtin', body: 'builtin', attachments: files, openpgp: { encrypt: true, encryptSubject: true, sign: true } }));
    const pgpMime = await sampledSend(alice, { to: ['bob@sigill.test'], subject: 'sigill pgp/mime', body: 'sigill', attachments: files });
    // The background's share of it: the last `repeat` "sigill: PGP/MIME encrypted: … in N ms" lines (api.ts).
    const wrapLines = [...alice.console().matchAll(/sigill: PGP\/MIME encrypted: (\d+) bytes from Thunderbird, (\d+) bytes back in (\d+) ms/g)].slice(-repeat);
    const wrapped = wrapLines.at(-1);
    const inline = await sampledSend(alice, { to: ['dave@sigill.test'], subject: 'sigill inline', body: 'sigill', attachments: files });
    // Did each Sigill send go in the format it was meant to? (A bench of the wrong path would mislead.)
    const armed = alice.console().match(/sigill: send: PGP\/MIME armed/g)?.length ?? 0;
    if (armed < 1 + repeat) throw new Error(`expected the warm-up and the PGP/MIME sends to be armed for PGP/MIME, saw ${armed}`);
    return {
      plain,
      builtin,
      pgpMime: pgpMime.ms,
      inline: inline.ms,
      pgpMimeWrapMs: median(wrapLines.map((line) => Number(line[3]))),
      pgpMimeEntityBytes: Number(wrapped?.[1] ?? Number.NaN),
      pgpMimeWrappedBytes: Number(wrapped?.[2] ?? Number.NaN),
      pgpMimeBeforeMiB: pgpMime.beforeMiB,
      pgpMimePeakMiB: pgpMime.peakMiB,
      pgpMimeParentMiB: pgpMime.parentMiB,
      pgpMimeExtensionMiB: pgpMime.extensionMiB,
      inlineParentMiB: inline.parentMiB,
      inlineExtensionMiB: inline.extensionMiB,
      inlineBeforeMiB: inline.beforeMiB,
      inlinePeakMiB: inline.peakMiB,
    };
  } finally {
    await world.stop();
  }
}

async function main(): Promise<void> {
  const missing = missingTools(e2eTools([{ command: 'gpg', debianPackage: 'gnupg' }]));
  if (missing.length > 0) {
    console.log(`SKIPPED: install ${missing.map((tool) => tool.debianPackage).join(' ')}`);
    return;
  }
  const server: Server = createServer((_request, response) => response.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(attachment));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    console.log(`send with a ${size / MiB} MiB attachment: compose.sendMessage → resolved (relay's 250 and the Sent copy)${repeat > 1 ? `, median of ${repeat}` : ''}`);
    for (const [label, prefs] of [
      ['debian-default', {}],
      ['baseline-jit', { 'javascript.options.baselinejit': true }],
    ] as const) {
      const r = await runWorld(label, prefs, base);
      const added = (x: number) => x - (r.plain ?? 0);
      const seconds = (x: number) => `${(x / 1000).toFixed(1)} s`;
      const ratio = (x: number) => (added(x) / Math.max(1, added(r.builtin!))).toFixed(2);
      console.log(`\n${label}:`);
      console.log(`  no encryption                           ${seconds(r.plain!)}`);
      console.log(`  Thunderbird's own OpenPGP (PGP/MIME)    ${seconds(r.builtin!)}  (adds ${seconds(added(r.builtin!))})`);
      console.log(`  Sigill PGP/MIME (default)               ${seconds(r.pgpMime!)}  (adds ${seconds(added(r.pgpMime!))}; ratio to Thunderbird's own ${ratio(r.pgpMime!)}, goal ≤ 1.0)`);
      console.log(`    of which Sigill's background (read the entity, sign, encrypt, armor, hand back): ${seconds(r.pgpMimeWrapMs!)}, ${(r.pgpMimeEntityBytes! / MiB).toFixed(1)} MiB from Thunderbird → ${(r.pgpMimeWrappedBytes! / MiB).toFixed(1)} MiB; the rest is Thunderbird's`);
      console.log(`  Sigill inline                           ${seconds(r.inline!)}  (adds ${seconds(added(r.inline!))}; ratio to Thunderbird's own ${ratio(r.inline!)})`);
      console.log(`  Sigill PGP/MIME / Sigill inline: ${(r.pgpMime! / r.inline!).toFixed(2)}`);
      console.log(`  alice's Thunderbird processes, resident memory: PGP/MIME ${r.pgpMimeBeforeMiB!.toFixed(0)} MiB before, peak ${r.pgpMimePeakMiB!.toFixed(0)} MiB; inline ${r.inlineBeforeMiB!.toFixed(0)} MiB before, peak ${r.inlinePeakMiB!.toFixed(0)} MiB`);
      console.log(`    growth at each process's peak: PGP/MIME parent +${r.pgpMimeParentMiB!.toFixed(0)} MiB, extension process (Sigill's background) +${r.pgpMimeExtensionMiB!.toFixed(0)} MiB; inline parent +${r.inlineParentMiB!.toFixed(0)} MiB, extension process +${r.inlineExtensionMiB!.toFixed(0)} MiB`);
    }
  } finally {
    server.close();
  }
}

await main();
