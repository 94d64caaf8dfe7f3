/**
 * Sending a message with a 10 MB attachment in real Thunderbird, in one run:
 *
 *   npx tsx bench/send-in-thunderbird.ts [--size 10M]
 *
 * Times compose.sendMessage until it resolves (after the relay's 250 and the Sent copy) for: no
 * encryption (carol, no OpenPGP), Sigill (alice → bob, encrypted and signed, key unlocked beforehand by a
 * warm-up send through the passphrase prompt), and Thunderbird's own OpenPGP (carol → dave, PGP/MIME,
 * encrypted and signed). Prints Sigill's added time against Thunderbird's own (the goal is a ratio ≤ 1.0)
 * and the peak resident memory of alice's Thunderbird processes during the Sigill send. Twice: with
 * Debian's default prefs (no baseline JIT) and with `javascript.options.baselinejit` on.
 * Figures are printed, never asserted; everything started is stopped at the end.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fixturePassphrase } from '../keys-fixtures/index.ts';
import type { ComposeArgs } from '../test/e2e/driver/commands.ts';
import { e2eTools, World, type Client } from '../test/e2e/harness/index.ts';
import { SigillPage } from '../test/e2e/harness/sigill.ts';
import { missingTools } from '../test/support/tools.ts';

const MiB = 1024 * 1024;
const sizeArg = process.argv.find((arg) => arg.startsWith('--size='))?.slice(7) ?? process.argv[process.argv.indexOf('--size') + 1];
const size = /^\d+M$/i.test(sizeArg ?? '') ? Number.parseInt(sizeArg!, 10) * MiB : 10 * MiB;
const attachment = randomBytes(size);

/** Resident memory (kB) of every process in Thunderbird's process group (main and content processes). */
function groupRssKb(pgid: number): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue;
      const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${entry}/status`, 'utf8'));
      total += Number(rss?.[1] ?? 0);
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
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

async function runWorld(label: string, prefs: Record<string, string | number | boolean>, base: string): Promise<Record<string, number>> {
  const world = await World.start(`bench-send-${label}`, { relayMessageSize: 64 * MiB });
  try {
    const keys = world.openPgpKeys(['carol', 'dave']);
    const quiet = { ...prefs, 'mailnews.message_warning_size': 512 * MiB };
    const [alice, carol] = await Promise.all([
      world.launch('alice', { sigill: { ownKey: 'alice', correspondents: ['bob'], settings: { unlockMinutes: 60 } }, prefs: quiet }),
      world.launch('carol', { sigill: false, openpgp: { own: keys.carol!, correspondents: [keys.dave!] }, prefs: quiet }),
    ]);
    const files = [{ name: 'attachment.bin', url: `${base}/attachment.bin` }];
    // Warm-up: unlocks alice's key through the prompt (kept for the unlock time), so the timed send does not wait for a person.
    await timedSend(alice, { to: ['bob@sigill.test'], subject: 'warm-up', body: 'warm-up' }, async () => {
      const prompt = await SigillPage.prompt(alice);
      await prompt.type('#passphrase', fixturePassphrase('alice'), ['Enter']);
    });
    const plain = await timedSend(carol, { to: ['dave@sigill.test'], subject: 'plain', body: 'plain', attachments: files });
    const builtin = await timedSend(carol, { to: ['dave@sigill.test'], subject: 'builtin', body: 'builtin', attachments: files, openpgp: { encrypt: true, encryptSubject: true, sign: true } });
    let peakKb = 0;
    const pgid = alice.thunderbird.process.child.pid ?? 0;
    const sampler = setInterval(() => (peakKb = Math.max(peakKb, groupRssKb(pgid))), 200);
    const before = groupRssKb(pgid);
    const sigill = await timedSend(alice, { to: ['bob@sigill.test'], subject: 'sigill', body: 'sigill', attachments: files });
    clearInterval(sampler);
    return { plain, builtin, sigill, rssBeforeMiB: before / 1024, rssPeakMiB: peakKb / 1024 };
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
    console.log(`send with a ${size / MiB} MiB attachment: compose.sendMessage → resolved (relay's 250 and the Sent copy)`);
    for (const [label, prefs] of [
      ['debian-default', {}],
      ['baseline-jit', { 'javascript.options.baselinejit': true }],
    ] as const) {
      const r = await runWorld(label, prefs, base);
      const added = (x: number) => x - (r.plain ?? 0);
      console.log(`\n${label}:`);
      console.log(`  no encryption                      ${(r.plain! / 1000).toFixed(1)} s`);
      console.log(`  Thunderbird's own OpenPGP          ${(r.builtin! / 1000).toFixed(1)} s  (adds ${(added(r.builtin!) / 1000).toFixed(1)} s)`);
      console.log(`  Sigill (inline, encrypted+signed)  ${(r.sigill! / 1000).toFixed(1)} s  (adds ${(added(r.sigill!) / 1000).toFixed(1)} s)`);
      console.log(`  Sigill's added time / Thunderbird's own: ${(added(r.sigill!) / Math.max(1, added(r.builtin!))).toFixed(2)} (goal ≤ 1.0)`);
      console.log(`  alice's Thunderbird processes, resident memory: ${r.rssBeforeMiB!.toFixed(0)} MiB before, peak ${r.rssPeakMiB!.toFixed(0)} MiB during the Sigill send`);
    }
  } finally {
    server.close();
  }
}

await main();
