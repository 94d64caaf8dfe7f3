// Scenario: alice's account is IMAP (Dovecot), so her drafts live on the server.
// 1. She writes to bob (whose key Sigill has: the message will be encrypted) with an attachment; Sigill's
//    compose button says where drafts go and that they are saved encrypted. She saves a draft: Dovecot's
//    store holds no canary (subject, body, attachment name or bytes), the stored draft is RFC 3156
//    multipart/encrypted, and gpg decrypts it with alice's key (her own key only).
// 2. She opens the draft again (as a double click in Drafts does): after her passphrase, the composer shows
//    the original subject, body and attachment (name and bytes).
// 3. With Encrypt turned off in Sigill's popup, a draft is saved as Thunderbird saves it (plaintext).
// 4. With Thunderbird's "Encrypt drafts" off for her identity, an encrypted message's draft is not saved
//    at all (fail closed), and a notification says why.
// 5. "Keep drafts on this computer" in the popup moves her drafts to Local Folders in one click.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixturePassphrase, fixturePath } from '../../keys-fixtures/index.ts';
import { decodeBody, parseMime, partFilename } from '../../src/core/index.ts';
import { extensionUuids } from '../../src/testbed/profile.ts';
import { ok, run } from '../support/sop.ts';
import { describeWithTools } from '../support/tools.ts';
import { dovecotBinary, type ImapServer } from './harness/imap.ts';
import { e2eTools, eventually, sigillConsoleProblems, World, type Client } from './harness/index.ts';
import { fileServer, mimeLeaves, sha256 } from './harness/attachments.ts';
import { sigillId } from './harness/paths.ts';
import { SigillPage } from './harness/sigill.ts';

const canary = `secret-canary-${randomBytes(6).toString('hex')}`;
const subject = `Plans ${canary}-subject`;
const body = `Dear Bob,\n${canary}-body\nAlice\n`;
const attachmentName = `notes-${canary}-name.txt`;
const attachment = Buffer.concat([Buffer.from(`${canary}-bytes\n`), randomBytes(4096)]);
const ALICE = 'alice@sigill.test';

describeWithTools(e2eTools([{ command: 'gpg', debianPackage: 'gnupg' }, { command: dovecotBinary, debianPackage: 'dovecot-imapd' }]), 'e2e: encrypted drafts on an IMAP server', () => {
  let world: World;
  let imap: ImapServer;
  let alice: Client;
  let files: Server;
  let base: string;
  let draftFiles: string[] = [];
  /** The encrypted draft's message id in alice's Thunderbird. */
  let savedId = 0;

  beforeAll(async () => {
    world = await World.start('drafts');
    imap = await world.startImap();
    files = await fileServer({ [attachmentName]: attachment });
    base = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
    alice = await world.launch('alice', {
      imap,
      sigill: { ownKey: 'alice', correspondents: ['bob'], settings: { unlockMinutes: 5 } },
      // No desktop notification service under Xvfb: Gecko's own alert window shows notifications.
      prefs: { 'alerts.useSystemBackend': false },
    });
  });

  afterAll(async () => {
    await new Promise((resolve) => files?.close(resolve));
    await world?.stop();
  });

  it('the compose popup says drafts go to the server, encrypted; the saved draft on Dovecot is multipart/encrypted with no canary, and gpg decrypts it with alice\'s key', async () => {
    const { tabId } = await alice.call('composeBegin', { to: ['Bob <bob@sigill.test>'], subject, body, attachments: [{ name: attachmentName, url: `${base}/${encodeURIComponent(attachmentName)}` }] }, 120_000);

    await alice.call('clickComposeAction', { addonId: sigillId });
    const popup = new SigillPage(alice, 'compose/compose.html');
    await popup.waitFor('#drafts', (state) => /encrypted/.test(state.text ?? ''));
    expect(await popup.text('#summary')).toMatch(/encrypted/i);
    expect(await popup.text('#drafts')).toBe(`Drafts of this message are saved encrypted to your own key, on the mail server (${ALICE}).`);
    expect((await popup.query('#drafts-keep-local')).visible).toBe(true);
    await alice.screenshot('drafts-notice');

    // A template of the same message is saved encrypted too (Templates on the server).
    expect(await alice.call('composeSave', { tabId, mode: 'template' }, 120_000)).toMatchObject({ ok: true });
    await eventually(() => imap.storedFiles(ALICE, 'Templates').length > 0, 60_000, 'the template on Dovecot');
    const template = readFileSync(imap.storedFiles(ALICE, 'Templates')[0]!);
    expect(parseMime(new Uint8Array(template)).contentType.value).toBe('multipart/encrypted');

    const saved = await alice.call('composeSave', { tabId }, 120_000);
    expect(saved).toMatchObject({ ok: true });
    if (saved.ok) savedId = saved.messages[0]?.id ?? 0;
    await eventually(() => imap.storedFiles(ALICE, 'Drafts').length > 0, 60_000, 'the draft on Dovecot');
    draftFiles = imap.storedFiles(ALICE, 'Drafts');
    expect(draftFiles).toHaveLength(1);

    // LEAK: nothing Dovecot keeps for alice (messages, indexes, caches) holds the canary.
    expect(imap.everythingStored(ALICE)).not.toContain(canary);
    const raw = readFileSync(draftFiles[0]!);
    const message = parseMime(new Uint8Array(raw));
    expect(message.contentType.value).toBe('multipart/encrypted');
    expect(message.contentType.params.protocol).toBe('application/pgp-encrypted');
    const parts = mimeLeaves(message);
    expect(parts.map((part) => part.contentType.value)).toEqual(['application/pgp-encrypted', 'application/octet-stream']);
    expect(partFilename(parts[1]!)).toBe('encrypted.asc');
    expect(raw.toString('latin1')).toMatch(/^Subject: \.\.\.\r?$/m);
    expect(raw.toString('latin1')).toMatch(/^X-Mozilla-Draft-Info: /m);

    // gpg with alice's key alone decrypts it: the protected subject, the body and the attachment are inside.
    const home = join(world.artifacts, 'gnupg-alice');
    mkdirSync(home, { recursive: true, mode: 0o700 });
    const gpg = (args: string[], stdin?: Buffer) => run('gpg', ['--homedir', home, '--batch', '--no-tty', '--status-fd', '3', ...args], { stdin, captureFd3: true });
    ok(await gpg(['--import', fixturePath('alice', 'unprotected')]));
    const decrypted = await gpg(['--decrypt'], Buffer.from(await decodeBody(parts[1]!)));
    expect(decrypted.code, decrypted.stderr).toBe(0);
    const inner = parseMime(new Uint8Array(decrypted.stdout));
    expect(inner.contentType.params['protected-headers']).toBe('v1');
    const innerText = decrypted.stdout.toString('latin1');
    expect(innerText).toContain(`Subject: ${subject}`);
    const innerParts = await Promise.all(mimeLeaves(inner).map(async (part) => ({ name: partFilename(part), data: Buffer.from(await decodeBody(part)) })));
    expect(innerParts.find((part) => part.name === undefined)?.data.toString('utf8')).toContain(`${canary}-body`);
    expect(innerParts.find((part) => part.name === attachmentName)?.data.equals(attachment)).toBe(true);
    // Encrypted to alice only (one public-key encrypted session key, hers).
    const recipients = (decrypted.fd3.match(/^\[GNUPG:\] ENC_TO /gm) ?? []).length;
    expect(recipients).toBe(1);

    await alice.call('composeClose', { tabId });
  }, 600_000);

  it('reopening the draft (as a double click in Drafts does) shows the original subject, body and attachment after alice\'s passphrase', async () => {
    expect(savedId).toBeGreaterThan(0);
    const { tabId } = await alice.call('editDraft', { messageId: savedId }, 60_000);
    expect((await alice.call('composeOrigin', { tabId })).type).toBe('draft');
    const prompt = await SigillPage.prompt(alice);
    expect(await prompt.text('#user-id')).toBe('Alice <alice@sigill.test>');
    await prompt.type('#passphrase', fixturePassphrase('alice'), ['Enter']);
    await eventually(async () => (await alice.call('composeSnapshot', { tabId })).details.subject === subject, 120_000, 'the decrypted subject in the composer');
    const snapshot = await alice.call('composeSnapshot', { tabId });
    expect(snapshot.details.subject).toBe(subject);
    expect(snapshot.details.plainTextBody.replace(/\r\n/g, '\n').trim()).toBe(body.trim());
    expect(snapshot.attachments).toEqual([{ name: attachmentName, size: attachment.length, sha256: sha256(attachment) }]);
    await alice.screenshot('reopened-draft');
    await alice.call('composeClose', { tabId });
  }, 600_000);

  it('with Encrypt turned off in the popup, a draft is saved as Thunderbird saves it (plaintext)', async () => {
    const plainSubject = `Lunch ${randomBytes(4).toString('hex')}`;
    const { tabId } = await alice.call('composeBegin', { to: ['bob@sigill.test'], subject: plainSubject, body: 'See you at noon.\n' }, 120_000);
    await alice.call('clickComposeAction', { addonId: sigillId });
    const popup = new SigillPage(alice, 'compose/compose.html');
    await popup.waitFor('#drafts', (state) => /encrypted/.test(state.text ?? ''));
    await popup.click('#encrypt');
    await popup.waitFor('#drafts', (state) => /plaintext/.test(state.text ?? ''));
    const before = new Set(imap.storedFiles(ALICE, 'Drafts'));
    const saved = await alice.call('composeSave', { tabId }, 120_000);
    expect(saved).toMatchObject({ ok: true });
    await eventually(() => imap.storedFiles(ALICE, 'Drafts').some((file) => !before.has(file)), 60_000, 'the plaintext draft on Dovecot');
    const stored = imap.storedFiles(ALICE, 'Drafts').filter((file) => !before.has(file));
    expect(stored).toHaveLength(1);
    const raw = readFileSync(stored[0]!, 'latin1');
    expect(raw).toContain(`Subject: ${plainSubject}`);
    expect(raw).toContain('See you at noon.');
    expect(raw).not.toMatch(/multipart\/encrypted/);
    await alice.call('composeClose', { tabId });
  }, 600_000);

  it("with Thunderbird's \"Encrypt drafts\" off for the identity, the draft of an encrypted message is not saved at all (a notification says why)", async () => {
    const refusedCanary = `secret-canary-${randomBytes(6).toString('hex')}`;
    await alice.call('setPref', { name: 'mail.identity.id1.autoEncryptDrafts', value: false });
    try {
      const { tabId } = await alice.call('composeBegin', { to: ['bob@sigill.test'], subject: `Refused ${refusedCanary}`, body: `${refusedCanary}\n` }, 120_000);
      await alice.call('clickComposeAction', { addonId: sigillId });
      const popup = new SigillPage(alice, 'compose/compose.html');
      await popup.waitFor('#drafts', (state) => /not let drafts/.test(state.text ?? ''));
      await alice.screenshot('drafts-notice-encrypt-drafts-off');
      const before = imap.storedFiles(ALICE, 'Drafts').length;
      // Thunderbird's compose.saveMessage never settles for a save stopped before it began: the driver gives up after 30 s.
      const saving = alice.call('composeSave', { tabId, timeoutMs: 30_000 }, 60_000);
      await eventually(() => /sigill: a draft was not saved/.test(alice.console()), 30_000, 'the refusal');
      // The alert window slides in (and goes after some seconds); the screenshot is for people.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      await alice.screenshot('draft-not-saved-notification');
      const saved = await saving;
      expect(saved.ok).toBe(false);
      expect(alice.console()).toMatch(/sigill: a draft was not saved: Turn on Thunderbird's .{1,6}Encrypt drafts/);
      expect(alice.console()).toMatch(/Sigill PGP\/MIME: the draft was not saved \(refuse\)/);
      expect(imap.storedFiles(ALICE, 'Drafts')).toHaveLength(before);
      expect(imap.everythingStored(ALICE)).not.toContain(refusedCanary);
      await alice.call('composeClose', { tabId });
    } finally {
      await alice.call('setPref', { name: 'mail.identity.id1.autoEncryptDrafts', value: true });
    }
  }, 600_000);

  it('"Keep drafts on this computer" in the popup moves the identity\'s drafts to Local Folders: the next draft is saved there, encrypted, and nothing new reaches the server', async () => {
    const localCanary = `secret-canary-${randomBytes(6).toString('hex')}`;
    const { tabId } = await alice.call('composeBegin', { to: ['bob@sigill.test'], subject: `Local ${localCanary}`, body: `${localCanary}\n` }, 120_000);
    await alice.call('clickComposeAction', { addonId: sigillId });
    const popup = new SigillPage(alice, 'compose/compose.html');
    await popup.waitFor('#drafts', (state) => /on the mail server/.test(state.text ?? ''));
    await popup.click('#drafts-keep-local');
    await popup.waitFor('#drafts', (state) => state.text === 'Drafts of this message are saved encrypted to your own key, on this computer (Local Folders).');
    expect((await popup.query('#drafts-keep-local')).visible).toBe(false);
    await alice.screenshot('drafts-kept-local');
    const before = imap.storedFiles(ALICE, 'Drafts').length;
    expect(await alice.call('composeSave', { tabId }, 120_000)).toMatchObject({ ok: true, messages: [{ folder: '/Drafts' }] });
    const localDrafts = join(world.scratch, 'profiles', 'alice', 'Mail', 'Local Folders', 'Drafts');
    await eventually(() => existsSync(localDrafts) && readFileSync(localDrafts, 'latin1').includes('multipart/encrypted'), 60_000, 'the draft in Local Folders');
    expect(readFileSync(localDrafts, 'latin1')).not.toContain(localCanary);
    expect(imap.storedFiles(ALICE, 'Drafts')).toHaveLength(before);
    expect(imap.everythingStored(ALICE)).not.toContain(localCanary);
    await alice.call('composeClose', { tabId });
  }, 600_000);

  it("alice's console holds no error attributable to Sigill", () => {
    expect(sigillConsoleProblems(alice.console(), extensionUuids[sigillId] ?? sigillId)).toEqual([]);
  });

  it('leaves nothing running', async () => {
    expect(await world.stop()).toEqual([]);
    expect(imap.running()).toEqual([]);
  });
});
