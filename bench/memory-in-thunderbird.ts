/**
 * Peak memory of Thunderbird's processes while Sigill sends and reads large attachments, in one run:
 *
 *   npx tsx bench/memory-in-thunderbird.ts [--send 50M,200M] [--read 50M] [--prefs default,jit] [--background-idle-ms N]
 *     [--gc-every-ms N] [--timeline] [--encrypted-only] [--pref name=value ...]
 *
 * Every process of the Thunderbird under test is sampled (its process group: the parent process, the
 * extension process where Sigill's background runs, the content, socket and utility processes), every
 * 100 ms, from /proc/<pid>/status (VmRSS). Printed per case: the resident memory of all of them together
 * just before the operation, its peak during it and the difference, and the same for the largest single
 * process (named by its role); VmHWM, the lifetime peak each process's kernel counter keeps, is printed
 * for the parent and the extension process as a cross-check.
 *
 * - send: alice (Sigill, encrypted and signed inline, her key unlocked by a warm-up send through the
 *   passphrase prompt) sends a message with one attachment of SIZE random bytes, from compose.sendMessage
 *   until it resolves (relay's 250 and the Sent copy). The same attachment sent by carol (no Sigill) is
 *   the reference: what Thunderbird itself needs to send it.
 * - read: gpg (carol) encrypts and signs a PGP/MIME message to bob with a text and a SIZE attachment
 *   (SEIPDv1, what most OpenPGP mail is); bob (Sigill) opens it, until the decrypted text is in the
 *   message pane. References: the same size sent in clear, opened by bob; the same encrypted message opened
 *   by carol, who has no Sigill (Thunderbird's own OpenPGP, without a key for it), sampled for 30 s.
 *
 * The driver fetches each attachment from a loopback HTTP server into the compose window before the
 * "before" figure is taken, so its own copy is not counted as Sigill's. Twice by default: with Debian's
 * default prefs (no baseline JIT) and with `javascript.options.baselinejit` on. `--background-idle-ms`
 * sets `extensions.background.idle.timeout` (Thunderbird suspends an idle MV3 background after 30 s by
 * default; up to 300000), to tell whether a failure comes from that suspension. Figures are printed,
 * never asserted; everything started is stopped at the end. `--gc-every-ms N` asks every process of bob's
 * Thunderbird for a full garbage collection every N ms while bob reads the encrypted message (the driver's
 * collectGarbage: Gecko's "child-gc-request"): a peak that drops then was garbage not yet collected, one
 * that stays is memory held. `--timeline` prints the extension process's resident memory through the
 * encrypted read, one figure per second (the highest of its samples), to see which step a peak belongs to.
 * `--encrypted-only` leaves out the two references of the read (to compare builds, with SIGILL_E2E_XPI).
 * `--pref name=value` sets a pref in every Thunderbird of the run (to see what a pref changes).
 * `--memory-report-ms N` takes an about:memory report of the extension process (the driver's memoryReport:
 * nsIMemoryReporterManager, test-only) just before the encrypted read, every N ms during it (each report
 * starts N ms after the last one answered), after it and after a full GC, and prints what the memory consists
 * of before, at the report with the highest resident memory, after and once the garbage is collected: JS GC heap, JS malloc, ArrayBuffer contents,
 * string characters, WebAssembly, Blob memory, heap-unclassified, and the largest paths at that peak.
 * Reporting walks the process's heap and allocates itself, so it perturbs the read a little.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePassphrase } from '../keys-fixtures/index.ts';
import type { MemoryReport } from '../test/e2e/driver/commands.ts';
import { e2eTools, World, type Client } from '../test/e2e/harness/index.ts';
import { Gpg, openMessage, submitRaw } from '../test/e2e/harness/reading.ts';
import { SigillPage } from '../test/e2e/harness/sigill.ts';
import { missingTools } from '../test/support/tools.ts';
import { measureMemory, type Peaks } from './thunderbird-memory.ts';
import { option, parseSize } from './args.ts';
import { mailHeaders, pgpMimeBody, pgpMimeContentType, randomBase64Lines, textWithAttachment } from '../test/support/mail-bodies.ts';

const KiB = 1024;
/** How long the reference (an encrypted message opened without Sigill) is sampled. */
const REFERENCE_MS = 30_000;
const MiB = 1024 * KiB;
const CRLF = '\r\n';

const sizes = (text: string): number[] => (text === '' || text === 'none' ? [] : text.split(',').map(parseSize));
const label = (bytes: number): string => (bytes % (1000 * 1000) === 0 && bytes % MiB !== 0 ? `${bytes / 1e6} MB` : `${(bytes / MiB).toFixed(0)} MiB`);
const mib = (kb: number): string => `${(kb / 1024).toFixed(0)}`;

/** Samples the client's Thunderbird (all its processes) while `operation` runs. */
const measure = (client: Client, operation: () => Promise<void>): Promise<Peaks> => measureMemory(client.thunderbird.process.child.pid ?? 0, operation);

/** The extension process's resident memory, the highest sample of each second (MiB). */
function printTimeline(peaks: Peaks): void {
  const seconds: number[] = [];
  for (const { ms, roles } of peaks.timeline) {
    const second = Math.floor(ms / 1000);
    seconds[second] = Math.max(seconds[second] ?? 0, roles.WebExtensions ?? 0);
  }
  const figures = Array.from(seconds, (kb) => (kb === undefined ? '-' : mib(kb)));
  for (let at = 0; at < figures.length; at += 20) console.log(`  ${''.padEnd(46)} ${`${at} s:`.padStart(8)}   ${figures.slice(at, at + 20).join(' ')}`);
}

function printPeaks(title: string, peaks: Peaks): void {
  const grown = (before: number, peak: number): string => `${mib(before).padStart(5)} → ${mib(peak).padStart(5)} MiB (+${mib(peak - before)})`;
  console.log(`  ${title.padEnd(46)} ${(peaks.ms / 1000).toFixed(1).padStart(6)} s   all processes ${grown(peaks.beforeTotalKb, peaks.peakTotalKb)}`);
  const interesting = Object.entries(peaks.roles)
    .filter(([, entry]) => entry.peakKb - entry.beforeKb > 20 * 1024 || entry.peakKb > 150 * 1024)
    .sort((a, b) => b[1].peakKb - a[1].peakKb);
  for (const [role, entry] of interesting) {
    console.log(`  ${''.padEnd(46)} ${''.padStart(8)}   ${role.padEnd(16)} ${grown(entry.beforeKb, entry.peakKb)}, VmHWM ${mib(entry.hwmKb)} MiB`);
  }
}

/** An about:memory report of the client's extension process, stamped with when it was asked for. */
async function extensionReport(client: Client, startedAt: number): Promise<MemoryReport & { atMs: number }> {
  const atMs = performance.now() - startedAt;
  return { ...(await client.call('memoryReport', { processKind: 'extension' }, 600_000)), atMs };
}

/** Before, at the report with the highest resident memory, after, after a full GC: by kind, then the largest paths at that peak. */
function printReports(before: MemoryReport, during: Array<MemoryReport & { atMs: number }>, after: MemoryReport, collected: MemoryReport): void {
  const peak = during.reduce<(MemoryReport & { atMs: number }) | undefined>((best, report) => (best === undefined || report.resident > best.resident ? report : best), undefined);
  const columns: Array<[string, MemoryReport]> = [['before', before], ...(peak === undefined ? [] : [[`peak report (${(peak.atMs / 1000).toFixed(1)} s)`, peak] as [string, MemoryReport]]), ['after', after], ['after a full GC', collected]];
  const m = (bytes: number | undefined): string => ((bytes ?? 0) / MiB).toFixed(1).padStart(22);
  console.log(`  about:memory of the extension process (${before.processes.join(', ') || `none of ${before.seen.map((name) => JSON.stringify(name)).join(', ')}`}), MiB; ${during.length} reports during the read (${during.map((report) => `${(report.atMs / 1000).toFixed(1)} s: ${(report.resident / MiB).toFixed(0)}`).join(', ')})`);
  console.log(`  ${''.padEnd(44)}${columns.map(([name]) => name.padStart(22)).join('')}`);
  const row = (name: string, pick: (report: MemoryReport) => number | undefined): void => console.log(`  ${name.padEnd(name.length > 44 ? 70 : 44)}${columns.map(([, report]) => m(pick(report))).join('')}`);
  row('resident', (report) => report.resident);
  row('heap-allocated (malloc)', (report) => report.heapAllocated);
  row('explicit', (report) => report.explicit);
  const kinds = new Set(columns.flatMap(([, report]) => Object.keys(report.categories)));
  for (const kind of [...kinds].sort((a, b) => (peak ?? after).categories[b]! - (peak ?? after).categories[a]! || a.localeCompare(b))) row(`  ${kind}`, (report) => report.categories[kind]);
  const others = new Set(columns.flatMap(([, report]) => Object.keys(report.other)));
  for (const name of [...others].sort()) row(name, (report) => report.other[name]);
  console.log(`  the largest explicit paths at the ${peak === undefined ? 'end' : 'peak report'}:`);
  for (const [path, bytes] of Object.entries((peak ?? after).top).slice(0, 20)) console.log(`  ${m(bytes)}  ${path}`);
}

async function composeAndSend(client: Client, base: string, name: string, subject: string, size: number): Promise<Peaks> {
  const { tabId } = await client.call('composeBegin', { to: [client.user.name === 'alice' ? 'bob@sigill.test' : 'dave@sigill.test'], subject, body: subject, attachments: [{ name, url: `${base}/${size}` }] }, 600_000);
  return measure(client, async () => {
    const result = await client.call('composeSend', { tabId, timeoutMs: 1_800_000 }, 1_860_000);
    if (!result.ok) throw new Error(`${client.user.name}: send failed: ${result.error}`);
  });
}

function pgpMime(gpg: Gpg, subject: string, inner: string): string {
  const armored = gpg.run(['--encrypt', '--sign', '--armor', '-r', 'bob@sigill.test', '-u', 'carol@sigill.test'], inner).toString('latin1');
  return `${mailHeaders({ subject, contentType: pgpMimeContentType })}${CRLF}${CRLF}${pgpMimeBody(armored)}`;
}

/**
 * Fetches mail until the message is in the inbox. A large message can take longer to download on a loaded
 * machine than the driver waits for one fetch ("getNewMessages: no answer"): then it fetches again.
 */
async function receiveLarge(client: Client, subject: string): Promise<{ id: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.receive({ subject }, 600_000);
    } catch (error) {
      if (attempt >= 5 || !/no answer/.test(String(error))) throw error;
    }
  }
}

async function untilShown(client: Client, marker: string, sigill: 'shown' | 'untouched'): Promise<void> {
  const deadline = performance.now() + 900_000;
  for (;;) {
    const pane = await client.call('messagePane', {}).catch(() => undefined);
    if (pane?.sigill === sigill && (sigill === 'untouched' || pane.text.includes(marker))) return;
    if (performance.now() > deadline) throw new Error(`${client.user.name}: the message was not shown within 900 s (last: ${pane?.sigill ?? 'nothing'})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function round(name: string, prefs: Record<string, string | number | boolean>, sendSizes: number[], readSizes: number[], base: string, privateTmp: string): Promise<void> {
  const largest = Math.max(0, ...sendSizes, ...readSizes);
  // Room for the armored (4/3) and then base64-encoded (4/3) attachment, plus headers.
  const world = await World.start(`bench-memory-${name}`, { relayMessageSize: Math.ceil(largest * 1.9) + 16 * MiB });
  try {
    // An int pref (below 2^31): no "you are about to send a large message" dialog.
    const idle = option('background-idle-ms', '');
    const quiet = { ...prefs, 'mailnews.message_warning_size': 2047 * MiB, ...(idle === '' ? {} : { 'extensions.background.idle.timeout': Number(idle) }) };
    // Thunderbird's environment is taken from this process's when it starts: TMPDIR is set while they start.
    const outerTmp = process.env.TMPDIR;
    process.env.TMPDIR = privateTmp;
    const [alice, bob, carol] = await Promise.all([
      world.launch('alice', { sigill: { ownKey: 'alice', correspondents: ['bob'], settings: { unlockMinutes: 120 } }, prefs: quiet }),
      world.launch('bob', { sigill: { ownKey: 'bob', correspondents: ['carol'], settings: { unlockMinutes: 120 } }, prefs: quiet }),
      world.launch('carol', { sigill: false, prefs: quiet }),
    ]).finally(() => {
      if (outerTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = outerTmp;
    });
    console.log(`\n${name === 'default' ? "Debian's default prefs (no baseline JIT)" : 'javascript.options.baselinejit on'}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    if (sendSizes.length > 0) {
      // Warm-up: unlocks alice's key through the prompt (a person's time, not measured).
      const { tabId } = await alice.call('composeBegin', { to: ['bob@sigill.test'], subject: 'warm-up', body: 'warm-up' });
      const sending = alice.call('composeSend', { tabId, timeoutMs: 300_000 }, 320_000);
      await (await SigillPage.prompt(alice)).type('#passphrase', fixturePassphrase('alice'), ['Enter']);
      const warm = await sending;
      if (!warm.ok) throw new Error(`warm-up send failed: ${warm.error}`);
    }
    for (const size of sendSizes) {
      printPeaks(`send ${label(size)}, no Sigill (carol)`, await composeAndSend(carol, base, 'data.bin', `plain ${label(size)}`, size));
      printPeaks(`send ${label(size)}, Sigill encrypt + sign (alice)`, await composeAndSend(alice, base, 'data.bin', `sigill ${label(size)}`, size));
    }
    if (readSizes.length > 0) {
      const gpg = Gpg.create(world, { secret: ['carol'], public: ['bob'] });
      const warmMarker = `warm-${randomBytes(4).toString('hex')}`;
      const messages = readSizes.map((size) => {
        const marker = `marker-${randomBytes(6).toString('hex')}`;
        return { size, marker, encrypted: pgpMime(gpg, `read ${label(size)} ${marker}`, textWithAttachment(`See the file. ${marker}`, randomBase64Lines(size))) };
      });
      await submitRaw(world, 'carol', 'bob', pgpMime(gpg, `warm-up ${warmMarker}`, `Content-Type: text/plain${CRLF}${CRLF}${warmMarker}${CRLF}`));
      gpg.stop();
      await openMessage(bob, (await bob.receive({ subject: `warm-up ${warmMarker}` })).id, fixturePassphrase('bob'));
      for (const { size, marker, encrypted } of messages) {
        // The references (skipped with --encrypted-only, when only Sigill's read is compared between builds).
        const references = !process.argv.includes('--encrypted-only');
        if (references) {
          const clearSubject = `clear ${label(size)} ${marker}`;
          await submitRaw(world, 'carol', 'bob', [`From: Carol <carol@sigill.test>`, 'To: Bob <bob@sigill.test>', `Subject: ${clearSubject}`, 'MIME-Version: 1.0', textWithAttachment(`See the file. ${marker}`, randomBase64Lines(size))].join(CRLF));
          const clear = await receiveLarge(bob, clearSubject);
          printPeaks(`read ${label(size)} in clear (bob, Sigill looks)`, await measure(bob, async () => {
            await bob.open(clear.id);
            await untilShown(bob, marker, 'untouched');
          }));
        }
        await submitRaw(world, 'carol', 'bob', encrypted);
        if (references) {
          // The reference: the same message opened where Sigill is not installed (Thunderbird's own OpenPGP has
          // no key for it and shows that it cannot decrypt it). There is no decrypted text to wait for, so
          // memory is sampled for a fixed REFERENCE_MS after opening.
          await submitRaw(world, 'carol', 'carol', encrypted);
          const forCarol = await receiveLarge(carol, `read ${label(size)} ${marker}`);
          printPeaks(`read ${label(size)} PGP/MIME, no Sigill (carol), ${REFERENCE_MS / 1000} s`, await measure(carol, async () => {
            await carol.open(forCarol.id);
            await new Promise((resolve) => setTimeout(resolve, REFERENCE_MS));
          }));
        }
        const header = await receiveLarge(bob, `read ${label(size)} ${marker}`);
        const gcEvery = Number(option('gc-every-ms', '0'));
        const reportEvery = Number(option('memory-report-ms', '0'));
        let readStarted = performance.now();
        const reportBefore = reportEvery > 0 ? await extensionReport(bob, readStarted) : undefined;
        const reports: Array<MemoryReport & { atMs: number }> = [];
        const peaks = await measure(bob, async () => {
          // The reports' times count from here, as the timeline's do.
          readStarted = performance.now();
          let reading = true;
          const collecting = (async () => {
            while (reading && gcEvery > 0) {
              await bob.call('collectGarbage', {});
              await new Promise((resolve) => setTimeout(resolve, gcEvery));
            }
          })();
          const reporting = (async () => {
            while (reading && reportEvery > 0) {
              await new Promise((resolve) => setTimeout(resolve, reportEvery));
              if (reading) reports.push(await extensionReport(bob, readStarted));
            }
          })();
          try {
            await bob.open(header.id);
            await untilShown(bob, marker, 'shown');
          } finally {
            reading = false;
            await Promise.all([collecting, reporting]);
          }
        });
        printPeaks(`read ${label(size)}, gpg SEIPDv1 PGP/MIME (bob)${gcEvery > 0 ? `, GC every ${gcEvery} ms` : ''}`, peaks);
        if (process.argv.includes('--timeline')) printTimeline(peaks);
        if (reportBefore !== undefined) {
          const after = await extensionReport(bob, readStarted);
          // What is still held once the garbage is gone: a full GC (twice, for what the first only finalized), then a report.
          for (let gc = 0; gc < 2; gc++) {
            await bob.call('collectGarbage', {});
            await new Promise((resolve) => setTimeout(resolve, 1000));
          }
          printReports(reportBefore, reports, after, await extensionReport(bob, readStarted));
        }
      }
    }
  } finally {
    const left = await world.stop();
    if (left.length > 0) console.log(`WARNING: processes left running: ${left.join(' ')}`);
  }
}

/** `--pref name=value` (repeatable): a pref for every Thunderbird of the run, to try what a pref changes (numbers and booleans as such). */
function extraPrefs(): Record<string, string | number | boolean> {
  const prefs: Record<string, string | number | boolean> = {};
  process.argv.forEach((arg, index) => {
    const text = arg === '--pref' ? process.argv[index + 1] : arg.startsWith('--pref=') ? arg.slice(7) : undefined;
    if (text === undefined) return;
    const at = text.indexOf('=');
    if (at <= 0) throw new Error(`--pref takes name=value, not ${text}`);
    const value = text.slice(at + 1);
    prefs[text.slice(0, at)] = value === 'true' ? true : value === 'false' ? false : /^-?\d+$/.test(value) ? Number(value) : value;
  });
  return prefs;
}

async function main(): Promise<void> {
  const missing = missingTools(e2eTools([{ command: 'gpg', debianPackage: 'gnupg' }]));
  if (missing.length > 0) {
    console.log(`SKIPPED: needs ${missing.map((tool) => `${tool.command} (apt-get install ${tool.debianPackage})`).join(', ')}`);
    return;
  }
  // Thunderbird writes every File an extension attaches to a temporary file and deletes it by path when it
  // exits (ext-mail.js, getRealFileForFile). With one temporary folder for every Thunderbird on the machine,
  // one that exits can delete a file of the same name another is about to send (seen: "Sending of the
  // message failed", NS_ERROR_FILE_NOT_FOUND): this bench's Thunderbirds get a folder of their own (only
  // they: gpg's agent socket must stay within the short paths Unix sockets allow).
  const privateTmp = mkdtempSync(join(tmpdir(), 'sigill-bench-memory-'));
  const sendSizes = sizes(option('send', '50M,200MB'));
  const readSizes = sizes(option('read', '50M'));
  const rounds = option('prefs', 'default,jit').split(',');
  // Attachments are served by size (random bytes made once per size), so each Thunderbird fetches the same bytes.
  const bodies = new Map<number, Buffer>();
  const server: Server = createServer((request, response) => {
    const size = Number((request.url ?? '/').slice(1));
    let body = bodies.get(size);
    if (body === undefined) bodies.set(size, (body = randomBytes(size)));
    response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.length) }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    console.log(`Thunderbird's processes, resident memory before → peak (MiB), while sending ${sendSizes.map(label).join(', ') || 'nothing'} and reading ${readSizes.map(label).join(', ') || 'nothing'}`);
    for (const name of rounds) {
      if (name !== 'default' && name !== 'jit') throw new Error(`--prefs takes default and/or jit, not ${name}`);
      await round(name, { ...(name === 'jit' ? { 'javascript.options.baselinejit': true } : {}), ...extraPrefs() }, sendSizes, readSizes, base, privateTmp);
    }
  } finally {
    server.close();
    rmSync(privateTmp, { recursive: true, force: true });
  }
}

await main();
