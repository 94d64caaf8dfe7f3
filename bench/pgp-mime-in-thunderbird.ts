/**
 * Send latency in Thunderbird with one large attachment, in one run:
 *
 *   npx tsx bench/pgp-mime-in-thunderbird.ts [--size 2M]
 *
 * A sender's Thunderbird (the test-only PGP/MIME probe, test/e2e/pgp-mime-probe: Sigill's Experiment and
 * extension/experiments/pgpmime/api.ts over the core) sends the same message three ways to bob through
 * the relay: in clear, encrypted and signed as PGP/MIME by Sigill, and encrypted and signed by
 * Thunderbird's own OpenPGP (RNP). Twice: with Debian's default prefs, where JavaScript runs without the
 * baseline JIT, and with `javascript.options.baselinejit` on. The time is compose.sendMessage's, from the
 * call to the relay's acceptance. (The inline format is measured with the send path, not here.)
 *
 * Figures and ratios are printed, never asserted; everything started is stopped at the end.
 *
 * Known issue: with a 10 MiB attachment (Debian default prefs) Sigill's send currently fails in
 * Thunderbird after the encapsulation ("NS_ERROR_FILE_NOT_FOUND [nsIFile.fileSize]" in
 * MessageSend._deliverMessage: the message file is gone when delivery starts), so the default is 2M.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fixturePath, loadCertificate } from '../keys-fixtures/index.ts';
import { World, eventually, type Persona } from '../test/e2e/harness/index.ts';
import { repoRoot } from '../src/testbed/paths.ts';
import type { OpenPgpKey } from '../src/testbed/openpgp.ts';

const MiB = 1024 * 1024;

function option(name: string, fallback: string): string {
  const args = process.argv.slice(2);
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] !== undefined ? (args[at + 1] as string) : fallback;
}

function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([KMG]?)$/i.exec(text.trim());
  if (!match) throw new Error(`bad size '${text}' (e.g. 1M, 10M)`);
  return Math.round(Number(match[1]) * ({ '': 1, K: 1024, M: MiB, G: 1024 * MiB }[(match[2] ?? '').toUpperCase()] ?? 1));
}

const size = parseSize(option('size', '2M'));
const probeId = 'sigill-pgp-mime-probe@sigill.test';
const ways = ['plain', 'sigill', 'builtin'] as const;

execFileSync('npx', ['vite', 'build', '--config', join('test', 'e2e', 'pgp-mime-probe', 'vite.config.ts')], { cwd: repoRoot, stdio: ['ignore', process.stderr, 'inherit'] });
const probe = join(repoRoot, 'dist', 'e2e', 'pgp-mime-probe');
const attachment = randomBytes(size).toString('base64');
const bob = await loadCertificate('bob');
const bobForRnp: OpenPgpKey = {
  address: 'bob@sigill.test',
  fingerprint: bob.getFingerprint().toUpperCase(),
  keyId: bob.getKeyID().toHex().toUpperCase(),
  publicKey: Buffer.from(bob.write()),
  secretKey: Buffer.alloc(0),
  passphrase: '',
};

const world = await World.start('bench-pgp-mime');
const results: Record<string, Record<string, number>> = {};
try {
  const senders: Array<[string, Persona, Record<string, boolean>]> = [
    ['Debian default (no baseline JIT)', 'dave', {}],
    ['baseline JIT on', 'carol', { 'javascript.options.baselinejit': true }],
  ];
  const own = world.openPgpKeys(senders.map(([, persona]) => persona));
  for (const [setting, persona, prefs] of senders) {
    const key = own[persona];
    if (!key) throw new Error(`gpg made no key for ${persona}`);
    const sends = ways.map((via) => ({
      label: via,
      via,
      to: ['bob@sigill.test'],
      subject: `bench ${via}`,
      body: 'The report is attached.\n',
      attachment: { name: 'report.bin', type: 'application/octet-stream', base64: attachment },
      encrypt: via !== 'plain',
      sign: via !== 'plain',
    }));
    const client = await world.launch(persona, {
      sigill: false,
      prefs,
      openpgp: { own: key, correspondents: [bobForRnp] },
      beforeStart: (profileDir) => {
        const target = join(profileDir, 'extensions', probeId);
        cpSync(probe, target, { recursive: true });
        // Sigill signs with the persona's fixture key (the same algorithm family as gpg's default).
        const config = { from: `${persona}@sigill.test`, sends, senderKey: readFileSync(fixturePath(persona, 'unprotected'), 'utf8'), recipientCertificates: [readFileSync(fixturePath('bob', 'pub'), 'utf8')] };
        writeFileSync(join(target, 'config.json'), JSON.stringify(config));
      },
    });
    await eventually(() => new RegExp(`pgp-mime-probe: ${ways[ways.length - 1]} (sent|failed|encapsulation failed)`).test(client.console()), 240_000, `${setting}: the probe's sends`);
    results[setting] = {};
    for (const via of ways) {
      const line = new RegExp(`pgp-mime-probe: ${via} (sent \\S+ in (\\d+) ms|.*)`).exec(client.console());
      const ms = Number(line?.[2]);
      if (!Number.isFinite(ms)) throw new Error(`${setting}, ${via}: ${line?.[0] ?? 'no line'}`);
      (results[setting] as Record<string, number>)[via] = ms;
    }
  }
} finally {
  await world.stop();
}

console.log(`send with one ${(size / MiB).toFixed(1)} MiB attachment, compose.sendMessage to the relay's 250 (load ${loadavg()[0]?.toFixed(2)})`);
for (const [setting, figures] of Object.entries(results)) {
  const plain = figures.plain ?? NaN;
  const sigill = figures.sigill ?? NaN;
  const builtin = figures.builtin ?? NaN;
  console.log(`${setting}:`);
  console.log(`  in clear                        ${String(plain).padStart(7)} ms`);
  console.log(`  Sigill PGP/MIME                 ${String(sigill).padStart(7)} ms  (${(sigill / plain).toFixed(1)}x clear)`);
  console.log(`  Thunderbird's own OpenPGP (RNP) ${String(builtin).padStart(7)} ms  (${(builtin / plain).toFixed(1)}x clear)`);
  console.log(`  Sigill / Thunderbird's own: ${(sigill / builtin).toFixed(2)}x`);
}
