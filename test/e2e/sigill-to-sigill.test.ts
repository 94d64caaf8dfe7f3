// Scenario: alice (Sigill) writes to bob (Sigill), both in real Thunderbirds, through the relay.
// Both Sigills are provisioned with their persona's key pair and the other's certificate before Thunderbird
// starts (harness/sigill.ts). alice composes a body carrying a canary and two attachments (20 MiB of random
// binary, a UTF-8 text file with non-ASCII), Encrypt and Sign on, and types her passphrase into Sigill's
// prompt; the message leaves in Sigill's default format (PGP/MIME, the subject protected) and the relay stores neither the canary nor any sampled 32-byte run of the binary; bob's Sigill shows
// the decrypted body, its status popup says encrypted and "Signed by Alice", both attachments save decrypted
// byte-identical under their real names, and bob's reply quotes the decrypted text.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixturePassphrase } from '../../keys-fixtures/index.ts';
import { decodeBody, parseMime } from '../../src/core/index.ts';
import { describeWithTools } from '../support/tools.ts';
import { e2eTools, eventually, World, type Client } from './harness/index.ts';
import { fileServer, mimeLeaves, sha256 } from './harness/attachments.ts';
import { sigillId } from './harness/paths.ts';
import { downloadPrefs, openMessage, openStatus, replyQuoting } from './harness/reading.ts';
import { SigillPage } from './harness/sigill.ts';

const canary = `secret-canary-${randomBytes(6).toString('hex')}`;
const binary = randomBytes(20 * 1024 * 1024);
const notes = Buffer.from(`Anteckningar för Bob — ${canary}\nÅäö ✓ ünïcödé 日本語\n`, 'utf8');
describeWithTools(e2eTools([]), 'e2e: alice (Sigill) to bob (Sigill), encrypted and signed with attachments', () => {
  let world: World;
  let alice: Client;
  let bob: Client;
  let files: Server;
  let downloads: string;
  const subject = `Plans ${randomBytes(4).toString('hex')}`;
  let headerMessageId = '';
  const body = `Dear Bob,\n${canary}\nAlice\n`;

  beforeAll(async () => {
    // 20 MiB armored and then base64-encoded by Thunderbird is about 38 MB: above the relay's default 25 MiB.
    world = await World.start('sigill-to-sigill', { relayMessageSize: 64 * 1024 * 1024 });
    files = await fileServer({ 'random.bin': binary, 'notes.txt': notes });
    downloads = join(world.artifacts, 'bob-downloads');
    mkdirSync(downloads, { recursive: true });
    alice = await world.launch('alice', {
      sigill: { ownKey: 'alice', correspondents: ['bob'], settings: { unlockMinutes: 5 } },
      // Thunderbird asks "You are about to send a message of size ..." above 20 MB (a modal): raise the limit.
      prefs: { 'mailnews.message_warning_size': 512 * 1024 * 1024 },
    });
    bob = await world.launch('bob', { sigill: { ownKey: 'bob', correspondents: ['alice'] }, prefs: downloadPrefs(downloads) });
  });

  afterAll(async () => {
    await new Promise((resolve) => files?.close(resolve));
    await world?.stop();
  });

  it('alice sends encrypted and signed (passphrase through the prompt); the relay stores ciphertext only', async () => {
    const base = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
    const { tabId } = await alice.call('composeBegin', {
      to: ['Bob <bob@sigill.test>'],
      subject,
      body,
      attachments: [
        { name: 'random.bin', url: `${base}/random.bin` },
        { name: 'notes.txt', url: `${base}/notes.txt` },
      ],
    }, 180_000);
    await alice.call('clickComposeAction', { addonId: sigillId });
    const popup = new SigillPage(alice, 'compose/compose.html');
    // The popup draws the row first and its key status once the background answers.
    await popup.waitFor('#recipients li[data-address="bob@sigill.test"]', (state) => state.attributes?.['data-state'] === 'accepted');
    if ((await popup.query('#encrypt')).checked !== true) await popup.click('#encrypt');
    await popup.waitFor('#encrypt', (state) => state.checked === true);
    expect((await popup.query('#sign')).checked).toBe(true);
    await alice.screenshot('compose-popup');

    const sending = alice.call('composeSend', { tabId, timeoutMs: 600_000 }, 660_000);
    const prompt = await SigillPage.prompt(alice);
    expect(await prompt.text('#user-id')).toBe('Alice <alice@sigill.test>');
    await prompt.type('#passphrase', fixturePassphrase('alice'), ['Enter']);
    const sent = await sending;
    if (!sent.ok) throw new Error(`alice's send failed: ${sent.error}`);
    headerMessageId = sent.headerMessageId;

    await eventually(async () => (await world.relay.messages('bob@sigill.test')).length > 0, 120_000, "a message in bob's mailbox");
    const stored = await world.relay.messages('bob@sigill.test');
    expect(stored).toHaveLength(1);
    const raw = await world.relay.raw('bob@sigill.test', stored[0]!.id);
    expect(raw.toString('latin1')).not.toContain(canary);
    // Sigill's default format: PGP/MIME, the real subject only inside the encryption (RFC 3156, protected headers).
    expect(raw.toString('latin1')).toMatch(/^Content-Type: multipart\/encrypted;/im);
    expect(raw.toString('latin1')).not.toContain(subject);
    for (const part of mimeLeaves(parseMime(new Uint8Array(raw)))) {
      const data = Buffer.from(await decodeBody(part));
      expect(data.includes(Buffer.from(canary))).toBe(false);
      for (let offset = 0; offset + 32 <= binary.length; offset += 512 * 1024 + 7) expect(data.includes(binary.subarray(offset, offset + 32))).toBe(false);
    }
  }, 900_000);

  it('bob reads it decrypted, "Signed by Alice", saves both attachments byte-identical, and his reply quotes the plaintext', async () => {
    const header = await bob.receive({ headerMessageId }, 240_000); // about 38 MB over POP3; the outer subject is "..."
    const pane = await openMessage(bob, header.id, fixturePassphrase('bob'));
    expect(pane.sigill).toBe('shown');
    expect(pane.text).toContain(canary);
    expect(pane.text).toContain('Dear Bob,');
    expect(pane.text).not.toContain('-----BEGIN PGP');
    await bob.screenshot('display');

    const status = await openStatus(bob);
    expect(await status.text('#headline')).toBe('Encrypted and signed');
    expect(await status.text('.signer')).toContain('Signed by Alice <alice@sigill.test>');
    const names = (await status.queryAll('.attachment .name')).map((state) => state.text);
    expect(names).toEqual(['random.bin', 'notes.txt']);
    await bob.screenshot('status');

    for (const [name, original] of [['random.bin', binary], ['notes.txt', notes]] as const) {
      await status.click(`.attachment[data-name="${name}"] .save`);
      const saved = join(downloads, name);
      await eventually(() => existsSync(saved) && readFileSync(saved).length === original.length, 180_000, `${name} decrypted in the download folder`);
      await status.waitFor(`.attachment[data-name="${name}"] .status`, (state) => (state.text ?? '').includes(name));
      expect(sha256(readFileSync(saved))).toBe(sha256(original));
    }
    await bob.screenshot('attachments-saved');

    const { quoted } = await replyQuoting(bob, header.id, canary);
    expect(quoted).not.toContain('BEGIN PGP');
    await bob.screenshot('reply');
  }, 900_000);

  it('leaves nothing running', async () => {
    expect(await world.stop()).toEqual([]);
  });
});
