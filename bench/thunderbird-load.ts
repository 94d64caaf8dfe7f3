/**
 * Where Thunderbird's own time goes when it opens a large PGP/MIME message, before any add-on sees it.
 *
 *   npx tsx bench/thunderbird-load.ts [--size 10M] [--repeat 2] [--rounds debian-default,baseline-jit]
 *
 * One Thunderbird without Sigill (bob; its own OpenPGP holds no key, as for a Sigill user) opens messages in a
 * tab; the time is from `messageDisplay.open` until it resolves, which Thunderbird does when the message has
 * loaded into the pane (its `MsgLoaded` event, when `messageDisplay.onMessagesDisplayed` fires and message
 * display scripts run). Every opening is of a fresh copy of the message (nothing cached). The messages:
 *
 * - PGP/MIME as gpg makes it: a short text and a SIZE attachment, encrypted and signed (`multipart/encrypted`,
 *   the armored message as its second part, 64-character lines), and the same with a 10 KiB text;
 * - the same armor rewrapped into lines of 988 characters (the same bytes in 1/15 of the lines; SMTP allows 998);
 * - the same armor as a `7bit` attachment of a `multipart/mixed` message (no PGP/MIME);
 * - the text and SIZE attachment in clear (base64, 76-character lines).
 *
 * The large PGP/MIME message is also opened with Thunderbird's PGP/MIME decryptor swapped through the test
 * driver's Experiment (`pgpMimeDecryptor`): 'counted' (Thunderbird's own, wrapped to count its calls and the
 * time inside them), 'noop' (a decryptor that takes each line and does nothing) and 'absent' (none, so
 * libmime only parses the part). Medians of --repeat openings are printed; nothing is asserted.
 */
import { randomBytes } from 'node:crypto';
import type { PgpMimeDecryptorMode, PgpMimeDecryptorStats } from '../test/e2e/driver/commands.ts';
import { e2eTools, World, type Client } from '../test/e2e/harness/index.ts';
import { Gpg, submitRaw } from '../test/e2e/harness/reading.ts';
import { missingTools } from '../test/support/tools.ts';
import { countOption, option, parseSize } from './args.ts';
import { mailHeaders, pgpMimeBody, pgpMimeContentType, randomBase64Lines, textWithAttachment } from '../test/support/mail-bodies.ts';

const CRLF = '\r\n';
const MiB = 1024 * 1024;

function headers(subject: string, contentType: string, extra: string[] = []): string {
  return mailHeaders({ subject, contentType, extra });
}

/** The armored message with its base64 body in lines of `width` characters (headers, checksum and end line kept). */
function rewrap(armored: string, width: number): string {
  const lines = armored.replace(/\r\n/g, '\n').trimEnd().split('\n');
  const blank = lines.indexOf('');
  const checksum = lines.findIndex((line, index) => index > blank && (line.startsWith('=') || line.startsWith('-----END')));
  const body = lines.slice(blank + 1, checksum).join('');
  const wrapped = body.match(new RegExp(`.{1,${width}}`, 'g')) ?? [];
  return [...lines.slice(0, blank + 1), ...wrapped, ...lines.slice(checksum)].join(CRLF);
}

interface Case {
  label: string;
  /** A fresh copy (its own subject and Message-ID) for every opening. */
  make: (subject: string) => string;
  decryptor?: PgpMimeDecryptorMode;
  /** Selected in the mail tab's message list (until Thunderbird has loaded it into the pane) instead of opened in a tab. */
  list?: boolean;
}

interface Timed {
  ms: number;
  stats: PgpMimeDecryptorStats | undefined;
}

async function openOnce(world: World, bob: Client, item: Case): Promise<Timed> {
  const subject = `load ${randomBytes(6).toString('hex')}`;
  await submitRaw(world, 'carol', 'bob', item.make(subject));
  const header = await bob.receive({ subject }, 300_000);
  await bob.call('pgpMimeDecryptor', { mode: item.decryptor ?? 'shipped' });
  const started = performance.now();
  let ms: number;
  if (item.list === true) {
    await bob.call('select', { messageId: header.id, untilLoaded: true }, 330_000);
    ms = performance.now() - started;
  } else {
    const { tabId } = await bob.open(header.id);
    ms = performance.now() - started;
    await bob.call('closeTab', { tabId });
  }
  const stats = item.decryptor === undefined || item.decryptor === 'shipped' ? undefined : await bob.call('pgpMimeDecryptorStats', {});
  await bob.call('pgpMimeDecryptor', { mode: 'shipped' });
  return { ms, stats };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

async function round(label: string, prefs: Record<string, boolean>, size: number, repeat: number): Promise<void> {
  const world = await World.start(`bench-load-${label}`);
  try {
    const gpg = Gpg.create(world, { secret: ['carol'], public: ['bob'] });
    const file = randomBase64Lines(size);
    const inner = textWithAttachment('See the file.', file);
    const encrypt = (data: string): string => gpg.encryptSign(data, { to: 'bob@sigill.test', from: 'carol@sigill.test', armor: true }).toString('latin1');
    const armored = encrypt(inner);
    const smallArmored = encrypt(`Content-Type: text/plain${CRLF}${CRLF}${'The quick brown fox jumps over the lazy dog.\r\n'.repeat(230)}`);
    gpg.stop();
    const longLines = rewrap(armored, 988);
    const pgpMime = (armor: string) => (subject: string) => `${headers(subject, pgpMimeContentType)}${CRLF}${CRLF}${pgpMimeBody(armor)}`;
    const mixed = (part: string[]) => (subject: string) =>
      `${headers(subject, 'multipart/mixed; boundary="out"')}${CRLF}${CRLF}${['--out', 'Content-Type: text/plain', '', 'See the file.', '--out', ...part, '--out--', ''].join(CRLF)}`;
    const armorMiB = (armored.length / MiB).toFixed(1);
    const armorLines = armored.split('\n').length;
    const cases: Case[] = [
      { label: `PGP/MIME, text + ${size / MiB} MiB (${armorMiB} MiB armor, ${armorLines} lines)`, make: pgpMime(armored) },
      { label: '  the same, decryptor counted', make: pgpMime(armored), decryptor: 'counted' },
      { label: '  the same, decryptor that does nothing', make: pgpMime(armored), decryptor: 'noop' },
      { label: '  the same, no decryptor (libmime alone)', make: pgpMime(armored), decryptor: 'absent' },
      { label: '  the same, selected in the list, decryptor counted', make: pgpMime(armored), decryptor: 'counted', list: true },
      { label: `  the same armor in 988-character lines (the SMTP limit is 998) (${longLines.split('\n').length} lines)`, make: pgpMime(longLines) },
      { label: 'PGP/MIME, 10 KiB text', make: pgpMime(smallArmored) },
      {
        label: 'multipart/mixed, the same armor as a 7bit attachment',
        make: mixed(['Content-Type: application/octet-stream; name="encrypted.asc"', 'Content-Disposition: attachment; filename="encrypted.asc"', 'Content-Transfer-Encoding: 7bit', '', armored.trimEnd()]),
      },
      {
        label: `multipart/mixed, text + ${size / MiB} MiB attachment in clear (base64)`,
        make: mixed(['Content-Type: application/octet-stream; name="data.bin"', 'Content-Disposition: attachment; filename="data.bin"', 'Content-Transfer-Encoding: base64', '', file.trimEnd()]),
      },
    ];
    const bob = await world.launch('bob', { sigill: false, prefs });
    // Thunderbird's first message display loads its modules: a small message first, not counted.
    await openOnce(world, bob, { label: 'warm-up', make: pgpMime(smallArmored) });
    const results = new Map<Case, Timed[]>(cases.map((item) => [item, []]));
    // Round-robin, so that a busy moment on the shared machine does not fall on one case only.
    for (let index = 0; index < repeat; index += 1) {
      for (const item of cases) results.get(item)?.push(await openOnce(world, bob, item));
    }
    console.log(`\n${label === 'debian-default' ? "Debian's default prefs (no baseline JIT)" : 'javascript.options.baselinejit on'}: ms until the message has loaded (median of ${repeat})`);
    for (const item of cases) {
      const timed = results.get(item) ?? [];
      const each = timed.map((one) => one.ms.toFixed(0)).join(', ');
      const stats = timed.at(-1)?.stats;
      const inside =
        stats === undefined
          ? ''
          : `  [${stats.parts} part(s), ${stats.calls} onDataAvailable calls, ${(stats.bytes / MiB).toFixed(1)} MiB` +
            (item.decryptor === 'counted' ? `; inside: start ${stats.startMs.toFixed(0)}, data ${stats.dataMs.toFixed(0)}, stop ${stats.stopMs.toFixed(0)} ms` : '') +
            ']';
      console.log(`${item.label.padEnd(70)} ${median(timed.map((one) => one.ms)).toFixed(0).padStart(7)}  (${each})${inside}`);
      if (item.decryptor === 'counted' || item.decryptor === 'noop') {
        for (const [index, caller] of (stats?.callers ?? []).entries()) {
          console.log(`    part ${index + 1}: URL ${stats?.uris[index] ?? '?'}, asked by ${caller === '' ? 'no script' : caller}`);
        }
      }
    }
  } finally {
    await world.stop();
  }
}

async function main(): Promise<void> {
  const missing = missingTools(e2eTools([{ command: 'gpg', debianPackage: 'gnupg' }]));
  if (missing.length > 0) {
    console.log(`SKIPPED: missing ${missing.map((tool) => `${tool.command} (Debian package ${tool.debianPackage})`).join(', ')}`);
    return;
  }
  const size = parseSize(option('size', '10M'));
  const repeat = countOption('repeat', 2);
  const wanted = option('rounds', 'debian-default,baseline-jit').split(',');
  const rounds = ([
    ['debian-default', {}],
    ['baseline-jit', { 'javascript.options.baselinejit': true }],
  ] satisfies Array<[string, Record<string, boolean>]>).filter(([label]) => wanted.includes(label));
  console.log("Thunderbird opening a message in a tab, without Sigill (its own OpenPGP holds no key): where its time goes");
  for (const [label, prefs] of rounds) await round(label, prefs, size, repeat);
}

await main();
