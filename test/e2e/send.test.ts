// Scenario: alice writes with Sigill in a real Thunderbird, in the inline format (chosen in her settings;
// the default, PGP/MIME, is test/e2e/pgp-mime.test.ts).
// 1. To bob with a Cc to dave, whose key Sigill does not have: she opens Sigill's compose button (each
//    recipient's key status is shown), turns Encrypt on, clicks Send: the send is cancelled with a
//    notification naming dave, the relay receives nothing, the compose window is byte-identical.
// 2. To bob, body plus two attachments (a 20 MB random binary, a UTF-8 text file): Send asks for her
//    passphrase (a wrong one first, then the right one) and the message goes once; the relay stores no
//    canary and no run of the attachment's bytes; gpg with bob's key decrypts the body and both
//    attachments byte-identical and verifies alice's signature.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixturePassphrase, fixturePath, loadCertificate } from '../../keys-fixtures/index.ts';
import { decodeBody, parseMime, partFilename } from '../../src/core/index.ts';
import { ok, parseGpgStatus, run } from '../support/sop.ts';
import { describeWithTools } from '../support/tools.ts';
import type { ComposeSnapshot } from './driver/commands.ts';
import { e2eTools, eventually, sigillConsoleProblems, World, type Client } from './harness/index.ts';
import { fileServer, mimeLeaves, sha256 } from './harness/attachments.ts';
import { sigillId } from './harness/paths.ts';
import { SigillPage } from './harness/sigill.ts';
import { extensionUuids } from '../../src/testbed/profile.ts';

const canary = `secret-canary-${randomBytes(6).toString('hex')}`;
const binary = randomBytes(20 * 1024 * 1024);
const notes = Buffer.from(`Anteckningar för Bob — ${canary}\nÅäö ✓ ünïcödé\n`, 'utf8');
describeWithTools(e2eTools([{ command: 'gpg', debianPackage: 'gnupg' }]), 'e2e: encrypt and sign on send', () => {
  let world: World;
  let alice: Client;
  let files: Server;
  let base: string;

  beforeAll(async () => {
    // 20 MB armored and then base64-encoded by Thunderbird is about 38 MB: above the relay's default 25 MiB.
    world = await World.start('send', { relayMessageSize: 64 * 1024 * 1024 });
    files = await fileServer({ 'random.bin': binary, 'notes.txt': notes });
    base = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
    alice = await world.launch('alice', {
      sigill: { ownKey: 'alice', correspondents: ['bob'], settings: { unlockMinutes: 5, sendFormat: 'inline' } },
      // Thunderbird asks "You are about to send a message of size ..." above 20 MB (a modal): raise the limit.
      // No desktop notification service under Xvfb: Gecko's own alert window shows the notification instead.
      prefs: { 'mailnews.message_warning_size': 512 * 1024 * 1024, 'alerts.useSystemBackend': false },
    });
  });

  afterAll(async () => {
    await new Promise((resolve) => files?.close(resolve));
    await world?.stop();
  });

  const attachments = () => [
    { name: 'random.bin', url: `${base}/random.bin` },
    { name: 'notes.txt', url: `${base}/notes.txt` },
  ];

  it('a Cc recipient without a key: the popup shows it, Send is cancelled with a notification, nothing reaches the relay, the compose window is unchanged', async () => {
    const { tabId } = await alice.call('composeBegin', {
      to: ['Bob <bob@sigill.test>'],
      cc: ['dave@sigill.test'],
      subject: 'Plans',
      body: `Dear Bob,\n${canary}\n`,
      attachments: attachments(),
    }, 180_000);
    const before: ComposeSnapshot = await alice.call('composeSnapshot', { tabId }, 180_000);
    expect(before.attachments.map(({ name, size, sha256: hash }) => ({ name, size, hash }))).toEqual([
      { name: 'random.bin', size: binary.length, hash: sha256(binary) },
      { name: 'notes.txt', size: notes.length, hash: sha256(notes) },
    ]);

    await alice.call('clickComposeAction', { addonId: sigillId });
    const popup = new SigillPage(alice, 'compose/compose.html');
    await popup.waitFor('#recipients li[data-address="dave@sigill.test"]');
    expect((await popup.query('#recipients li[data-address="bob@sigill.test"]')).attributes?.['data-state']).toBe('accepted');
    expect((await popup.query('#recipients li[data-address="dave@sigill.test"]')).attributes?.['data-state']).toBe('missing');
    expect(await popup.text('#recipients li[data-address="dave@sigill.test"] .state')).toBe('No key');
    expect(await popup.text('#summary')).toMatch(/signed, NOT encrypted/);
    await popup.click('#encrypt');
    await popup.waitFor('#summary', (state) => /not every recipient has a usable key/.test(state.text ?? ''));
    await alice.screenshot('compose-popup-recipient-statuses');

    const result = await alice.call('composeSend', { tabId }, 180_000);
    expect(result.ok).toBe(false);
    // The alert window slides in; the screenshot is for people, nothing is asserted on it.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await alice.screenshot('send-cancelled-notification');
    expect(alice.console()).toMatch(/sigill: send cancelled at step \\?"recipients\\?": Recipient dave@sigill\.test/);
    const after = await alice.call('composeSnapshot', { tabId }, 180_000);
    expect(after).toEqual(before);
    for (const address of ['bob@sigill.test', 'dave@sigill.test']) expect(await world.relay.messages(address)).toEqual([]);
  }, 600_000);

  it('to bob with two attachments: a wrong passphrase, then the right one; sent once, ciphertext only; gpg decrypts everything and verifies alice', async () => {
    const { tabId } = await alice.call('composeBegin', {
      to: ['Bob <bob@sigill.test>'],
      subject: 'Encrypted with attachments',
      body: `Dear Bob,\n${canary}\nAlice\n`,
      attachments: attachments(),
    }, 180_000);
    const sending = alice.call('composeSend', { tabId, timeoutMs: 600_000 }, 660_000);
    const prompt = await SigillPage.prompt(alice);
    expect(await prompt.text('#user-id')).toBe('Alice <alice@sigill.test>');
    await prompt.type('#passphrase', 'not my passphrase', ['Enter']);
    await prompt.waitFor('#error', (state) => state.text === 'Wrong passphrase. Try again.');
    await prompt.type('#passphrase', fixturePassphrase('alice'), ['Enter']);
    const started = Date.now();
    const result = await sending;
    console.info(`send: passphrase given → compose.sendMessage resolved in ${Date.now() - started} ms (20 MB attachment, Debian's default prefs)`);
    expect(result).toMatchObject({ ok: true });

    await eventually(async () => (await world.relay.messages('bob@sigill.test')).length > 0, 120_000, "a message in bob's mailbox");
    const stored = await world.relay.messages('bob@sigill.test');
    expect(stored).toHaveLength(1);
    const raw = await world.relay.raw('bob@sigill.test', stored[0]!.id);

    // LEAK: no canary anywhere, and no 32-byte run of the binary in any decoded part.
    expect(raw.toString('latin1')).not.toContain(canary);
    const parts = mimeLeaves(parseMime(new Uint8Array(raw)));
    const decoded = await Promise.all(parts.map(async (part) => ({ name: partFilename(part), data: Buffer.from(await decodeBody(part)) })));
    for (const { data } of decoded) {
      expect(data.includes(Buffer.from(canary))).toBe(false);
      for (let offset = 0; offset < binary.length; offset += 1024 * 1024 + 7) expect(data.includes(binary.subarray(offset, offset + 32))).toBe(false);
    }
    expect(decoded.map((part) => part.name)).toEqual([undefined, 'random.bin.asc', 'notes.txt.asc']);

    const home = join(world.artifacts, 'gnupg-bob');
    mkdirSync(home, { recursive: true, mode: 0o700 });
    const gpg = (args: string[], stdin?: Buffer) => run('gpg', ['--homedir', home, '--batch', '--no-tty', '--status-fd', '3', ...args], { stdin, captureFd3: true });
    ok(await gpg(['--import', fixturePath('bob', 'unprotected'), fixturePath('alice', 'pub')]));
    const alicePrimary = (await loadCertificate('alice')).getFingerprint().toUpperCase();

    const body = await gpg(['--decrypt'], decoded[0]!.data);
    expect(body.code, body.stderr).toBe(0);
    expect(body.stdout.toString('utf8').replace(/\r\n/g, '\n')).toBe(`Dear Bob,\n${canary}\nAlice\n`);
    expect(parseGpgStatus(body.fd3).validSigs.map((sig) => sig.primaryFingerprint)).toEqual([alicePrimary]);
    for (const [index, original] of [binary, notes].entries()) {
      const input = join(home, `attachment-${index}.asc`);
      const output = join(home, `attachment-${index}`);
      writeFileSync(input, decoded[index + 1]!.data);
      const opened = await gpg(['--output', output, '--decrypt', input]);
      expect(opened.code, opened.stderr).toBe(0);
      expect(parseGpgStatus(opened.fd3).validSigs.map((sig) => sig.primaryFingerprint)).toEqual([alicePrimary]);
      const { readFileSync } = await import('node:fs');
      expect(sha256(readFileSync(output))).toBe(sha256(original));
    }
  }, 900_000);

  it('an HTML message goes as its plain-text rendition, encrypted: no HTML copy of the text reaches the relay', async () => {
    const htmlCanary = `secret-canary-${randomBytes(6).toString('hex')}`;
    const { tabId } = await alice.call('composeBegin', { to: ['bob@sigill.test'], subject: 'HTML', body: `<p><b>Bold</b> ${htmlCanary}</p>`, html: true }, 120_000);
    // alice's key is still unlocked from the previous send (unlock time 5 minutes): no prompt.
    const result = await alice.call('composeSend', { tabId, timeoutMs: 300_000 }, 360_000);
    expect(result).toMatchObject({ ok: true });
    await eventually(async () => (await world.relay.messages('bob@sigill.test')).length > 1, 120_000, "the HTML message in bob's mailbox");
    const stored = (await world.relay.messages('bob@sigill.test')).at(-1)!;
    const raw = await world.relay.raw('bob@sigill.test', stored.id);
    expect(raw.toString('latin1')).not.toContain(htmlCanary);
    // Every text part (an HTML part too, if Thunderbird still makes one) holds the armored message and nothing else.
    for (const part of mimeLeaves(parseMime(new Uint8Array(raw)))) {
      const text = Buffer.from(await decodeBody(part)).toString('utf8');
      expect(text).not.toContain(htmlCanary);
      const outside = text.replace(/-----BEGIN PGP MESSAGE-----[\s\S]*?-----END PGP MESSAGE-----/, '').replace(/<[^>]*>/g, '').trim();
      expect(outside).toBe('');
      expect(text).toContain('-----BEGIN PGP MESSAGE-----');
    }
  }, 600_000);

  it("alice's console holds no error attributable to Sigill", () => {
    expect(sigillConsoleProblems(alice.console(), extensionUuids[sigillId] ?? sigillId)).toEqual([]);
  });

  it('leaves nothing running', async () => {
    expect(await world.stop()).toEqual([]);
  });
});
