// Scenario: PGP/MIME is how Sigill sends, in real Thunderbird, through the product's own send path
// (compose.onBeforeSend arms the Experiment in extension/experiments/pgpmime; the Experiment hands
// Thunderbird's finished MIME body to the background, which wraps it).
// 1. alice (Sigill, default settings) loads the Experiment ("sigill: PGP/MIME available").
// 2. alice → carol (Thunderbird's own OpenPGP), HTML body and an attachment with a non-ASCII name: the
//    compose popup says "PGP/MIME"; the relay stores multipart/encrypted with outer Subject "..." and no
//    canary of subject, body, attachment name or bytes; gpg and sqop decrypt it and verify alice; carol's
//    Thunderbird shows it decrypted in place with the protected subject and the attachment's real name.
// 3. Sign only (Encrypt off in the popup): multipart/signed that gpg verifies and carol's Thunderbird shows
//    as signed.
// 4. dave is marked inline-only in alice's settings: the popup says why, and the message goes inline.
// 5. bob's Thunderbird has the Experiment switched off (a test-only pref, sigill.test.pgpMimeUnavailable):
//    the popup says inline and why, the send goes inline with a notification, never plaintext.
// 6. Issue 9: the relay refuses bob's next (inline) message as too large after Sigill replaced body and
//    attachments with ciphertext: the compose window gets the original body and attachments back.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixturePassphrase, fixturePath } from '../../keys-fixtures/index.ts';
import { parseMime, decodeBody } from '../../src/core/index.ts';
import { extensionUuids } from '../../src/testbed/profile.ts';
import { createGpgHome, ok, run, tempDir } from '../support/sop.ts';
import { describeWithTools } from '../support/tools.ts';
import type { ComposeSnapshot, MessageSecurity } from './driver/commands.ts';
import { e2eTools, eventually, sigillConsoleProblems, World, type Client } from './harness/index.ts';
import { fileServer, mimeLeaves, sha256 } from './harness/attachments.ts';
import { sigillId } from './harness/paths.ts';
import { fixtureBuiltinKey } from './harness/reading.ts';
import { readSigillStorage, SigillPage } from './harness/sigill.ts';

const MiB = 1024 * 1024;
const secret = `secret-canary-${randomBytes(6).toString('hex')}`;
const subject = `Plans ${secret} ✓`;
const attachmentName = `Årsrapport ${secret}.pdf`;
const attachment = Buffer.concat([Buffer.from(`%PDF-1.4 ${secret} `.repeat(200)), randomBytes(20_000)]);
/** Larger than the relay takes in this scenario (1 MiB): the relay refuses the message. */
const tooLarge = randomBytes(2 * MiB);
/** Every attachment name in a messages.getFull part tree. */
function partNames(part: unknown): string[] {
  const node = part as { name?: string; parts?: unknown[] };
  return [...(node.name ? [node.name] : []), ...(node.parts ?? []).flatMap(partNames)];
}

describeWithTools(e2eTools([{ command: 'gpg', debianPackage: 'gnupg' }, { command: 'sqop', debianPackage: 'sqop' }]), 'e2e: PGP/MIME is how Sigill sends', () => {
  let world: World;
  let alice: Client;
  let carol: Client;
  let bob: Client;
  let files: Server;
  let base: string;
  const stored: Record<string, Buffer> = {};

  beforeAll(async () => {
    world = await World.start('pgp-mime', { relayMessageSize: MiB });
    files = await fileServer({ [attachmentName]: attachment, 'large.bin': tooLarge, 'notes.txt': Buffer.from('Notes for alice\n') });
    base = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
    const [aliceKey, carolKey] = await Promise.all([fixtureBuiltinKey('alice'), fixtureBuiltinKey('carol')]);
    [alice, carol, bob] = await Promise.all([
      world.launch('alice', {
        sigill: { ownKey: 'alice', correspondents: ['carol', 'dave'], settings: { unlockMinutes: 30, inlineOnlyCorrespondents: ['dave@sigill.test'] } },
        // No desktop notification service under Xvfb: Gecko's own alert window shows notifications instead.
        prefs: { 'alerts.useSystemBackend': false },
      }),
      world.launch('carol', { sigill: false, openpgp: { own: carolKey, correspondents: [aliceKey] } }),
      // bob's Thunderbird cannot use the Experiment: a test-only pref its start-up check honours.
      world.launch('bob', {
        sigill: { ownKey: 'bob', correspondents: ['alice'], settings: { unlockMinutes: 30 } },
        prefs: { 'sigill.test.pgpMimeUnavailable': true, 'alerts.useSystemBackend': false },
      }),
    ]);
  }, 600_000);

  afterAll(async () => {
    await new Promise((resolve) => files?.close(resolve));
    await world?.stop();
  });

  /** The newest message the relay stored for an address (waiting for it), as the relay holds it. */
  async function newestFor(address: string, count: number): Promise<Buffer> {
    await eventually(async () => (await world.relay.messages(address)).length >= count, 120_000, `message ${count} in ${address}'s mailbox`);
    const messages = await world.relay.messages(address);
    return world.relay.raw(address, messages.at(-1)!.id);
  }

  async function popupFormat(client: Client, accept: (text: string) => boolean): Promise<string> {
    const popup = await SigillPage.openCompose(client);
    return (await popup.waitFor('#format', (state) => accept(state.text ?? ''))).text ?? '';
  }

  it('loads the Experiment with Sigill and finds the send pipeline it needs, without console problems', async () => {
    await eventually(() => /sigill: PGP\/MIME (available|not available.*)/.test(alice.console()), 60_000, "Sigill's PGP/MIME line");
    expect(/sigill: PGP\/MIME [^"\n]*/.exec(alice.console())?.[0]).toBe('sigill: PGP/MIME available');
  });

  it('alice → carol, HTML with a non-ASCII attachment: the popup says PGP/MIME, the relay stores multipart/encrypted with outer Subject "..." and no canary', async () => {
    const { tabId } = await alice.call('composeBegin', {
      to: ['Carol <carol@sigill.test>'],
      subject,
      body: `<p>Hello <b>Carol</b>,</p><p>${secret}</p>`,
      html: true,
      attachments: [{ name: attachmentName, url: `${base}/${encodeURIComponent(attachmentName)}` }],
    }, 180_000);
    expect(await popupFormat(alice, (text) => text.startsWith('Format:'))).toBe('Format: PGP/MIME (subject, formatting and attachments inside).');
    await alice.screenshot('compose-popup-pgp-mime');
    const sending = alice.call('composeSend', { tabId, timeoutMs: 300_000 }, 360_000);
    const prompt = await SigillPage.prompt(alice);
    await prompt.type('#passphrase', fixturePassphrase('alice'), ['Enter']);
    const sent = await sending;
    if (!sent.ok) throw new Error(sent.error);
    expect(alice.console()).toMatch(/sigill: send: PGP\/MIME armed for compose tab \d+ \(encrypted\)/);

    const raw = await newestFor('carol@sigill.test', 1);
    stored.encrypted = raw;
    expect(raw.includes(secret)).toBe(false);
    expect(raw.includes(Buffer.from(secret).toString('base64').slice(0, 12))).toBe(false);
    expect(raw.includes(Buffer.from(attachmentName))).toBe(false);
    expect(raw.includes(attachment.subarray(attachment.length - 48).toString('base64').slice(0, 40))).toBe(false);
    const root = parseMime(new Uint8Array(raw));
    expect(root.contentType.value).toBe('multipart/encrypted');
    expect(root.contentType.params.protocol).toBe('application/pgp-encrypted');
    expect(root.headers.find((field) => field.name === 'subject')?.value).toBe('...');
    expect(root.headers.find((field) => field.name === 'message-id')?.value).toBe(`<${sent.headerMessageId}>`);
    expect(root.children.map((child) => child.contentType.value)).toEqual(['application/pgp-encrypted', 'application/octet-stream']);
  }, 600_000);

  it("gpg and sqop decrypt what the relay stored and verify alice's signature; inside: protected headers, HTML and plain alternatives, the attachment by its real name", async () => {
    const root = parseMime(new Uint8Array(stored.encrypted!));
    const armored = Buffer.from(root.children[1]?.body ?? []);
    const gpg = await createGpgHome();
    try {
      ok(await gpg.importKey(fixturePath('carol', 'unprotected')));
      ok(await gpg.importKey(fixturePath('alice', 'pub')));
      const decrypted = ok(await gpg.gpg(['--decrypt'], { stdin: armored }));
      expect(decrypted.status.keywords.has('GOODSIG')).toBe(true);
      const verifications = join(gpg.home, 'sqop-verifications');
      const bySqop = ok(await run('sqop', ['decrypt', `--verifications-out=${verifications}`, `--verify-with=${fixturePath('alice', 'pub')}`, fixturePath('carol', 'unprotected')], { stdin: armored }));
      expect(bySqop.stdout.equals(decrypted.stdout)).toBe(true);
      expect(readFileSync(verifications, 'utf8')).toMatch(/^\d{4}-\d{2}-\d{2}T\S+ [0-9A-F]{40}/m);

      const inner = parseMime(new Uint8Array(decrypted.stdout));
      expect(inner.contentType.params['protected-headers']).toBe('v1');
      const innerSubject = inner.headers.find((field) => field.name === 'subject')?.value ?? '';
      expect(innerSubject.includes(secret) || /=\?UTF-8\?/i.test(innerSubject)).toBe(true);
      const parts = mimeLeaves(inner);
      expect(parts.map((part) => part.contentType.value)).toEqual(expect.arrayContaining(['text/html', 'text/plain', 'application/pdf']));
      const html = Buffer.from(await decodeBody(parts.find((part) => part.contentType.value === 'text/html')!)).toString('utf8');
      expect(html).toContain('<b>Carol</b>');
      expect(html).toContain(secret);
      const pdf = parts.find((part) => part.contentType.value === 'application/pdf')!;
      expect(sha256(Buffer.from(await decodeBody(pdf)))).toBe(sha256(attachment));
    } finally {
      await gpg.dispose();
    }
  });

  it("carol's Thunderbird (its own OpenPGP) shows it decrypted in place: protected subject, text, the attachment by its real name", async () => {
    const messageId = /^Message-ID:\s*<([^>]+)>/im.exec(stored.encrypted!.toString('latin1'))?.[1];
    if (!messageId) throw new Error('no Message-ID');
    const header = await carol.receive({ headerMessageId: messageId });
    await carol.open(header.id);
    const full = await carol.getFull(header.id);
    expect(full.decryptionStatus).toBe('success');
    expect(full.text).toContain(secret);
    expect(partNames(full.part)).toContain(attachmentName);
    await eventually(async () => (await carol.getFull(header.id)).subject === subject, 30_000, 'the protected subject');
    await new Promise((resolve) => setTimeout(resolve, 1500)); // let the message pane paint before the picture
    await carol.screenshot('pgp-mime-from-sigill');
  }, 300_000);

  it("sign only (Encrypt off in the popup): multipart/signed that gpg verifies and carol's Thunderbird shows as signed", async () => {
    const note = `signed-note-${randomBytes(6).toString('hex')}`;
    const { tabId } = await alice.call('composeBegin', { to: ['carol@sigill.test'], subject: 'Signed for carol', body: `Grüße, a public note ${note}\nFrom here on, signed.\n` });
    const popup = await SigillPage.openCompose(alice);
    await popup.waitFor('#encrypt', (state) => state.checked === true);
    await popup.click('#encrypt');
    await popup.waitFor('#summary', (state) => /signed, NOT encrypted/.test(state.text ?? ''));
    expect(await popup.text('#format')).toBe('Format: PGP/MIME (subject, formatting and attachments inside).');
    const sent = await alice.call('composeSend', { tabId, timeoutMs: 300_000 }, 360_000);
    if (!sent.ok) throw new Error(sent.error);
    expect(alice.console()).toMatch(/sigill: send: PGP\/MIME armed for compose tab \d+ \(signed only\)/);

    const raw = await newestFor('carol@sigill.test', 2);
    const root = parseMime(new Uint8Array(raw));
    expect(root.contentType.value).toBe('multipart/signed');
    expect(root.contentType.params.protocol).toBe('application/pgp-signature');
    expect(root.contentType.params.micalg).toMatch(/^pgp-sha(256|384|512)$/);
    const gpg = await createGpgHome();
    const temp = await tempDir();
    try {
      ok(await gpg.importKey(fixturePath('alice', 'pub')));
      const signedPart = await temp.file('signed-part', Buffer.from(root.children[0]?.raw ?? []));
      const signature = await temp.file('signature.asc', Buffer.from(root.children[1]?.body ?? []));
      expect(ok(await gpg.gpg(['--verify', signature, signedPart])).status.keywords.has('GOODSIG')).toBe(true);
    } finally {
      await gpg.dispose();
      await temp.dispose();
    }

    const header = await carol.receive({ headerMessageId: sent.headerMessageId });
    await carol.open(header.id);
    let security: MessageSecurity | undefined;
    await eventually(async () => {
      security = await carol.call('messageSecurity', {});
      return !security.signed.hidden && security.signed.src !== '';
    }, 60_000, "the signature status in carol's message header");
    await carol.screenshot('pgp-mime-signed-from-sigill');
    expect(security!.encrypted.hidden).toBe(true);
    expect(security!.signed.src).toMatch(/message-signed-(ok|verified)\.svg$/);
  }, 600_000);

  it('dave reads only inline (alice marked him so): the popup says why, and the message goes inline', async () => {
    const note = `secret-canary-${randomBytes(6).toString('hex')}`;
    const { tabId } = await alice.call('composeBegin', { to: ['dave@sigill.test'], subject: 'For dave', body: `Hello Dave,\n${note}\n` });
    const line = await popupFormat(alice, (text) => text.startsWith('Format:'));
    expect(line).toBe('Format: Inline PGP — because dave@sigill.test reads only inline PGP. The subject and attachment names are visible.');
    await alice.screenshot('compose-popup-inline-correspondent');
    const sent = await alice.call('composeSend', { tabId, timeoutMs: 300_000 }, 360_000);
    if (!sent.ok) throw new Error(sent.error);
    const raw = await newestFor('dave@sigill.test', 1);
    expect(raw.includes(note)).toBe(false);
    const root = parseMime(new Uint8Array(raw));
    expect(root.contentType.value).toBe('text/plain');
    expect(Buffer.from(await decodeBody(root)).toString('utf8')).toMatch(/^-----BEGIN PGP MESSAGE-----/);
  }, 600_000);

  it("alice's options page shows the format settings (PGP/MIME, outer subject, dave inline-only) and saves a change of format", async () => {
    const options = await SigillPage.openOptions(alice);
    await options.click('nav a[href="#settings"]');
    expect((await options.query('#send-format-pgp-mime')).checked).toBe(true);
    expect((await options.query('#outer-subject')).value).toBe('...');
    expect((await options.query('#inline-only')).value).toBe('dave@sigill.test');
    await options.click('#format-settings');
    await alice.screenshot('options-format-settings');
    const storedFormat = async () => ((await readSigillStorage(alice))['sigill.settings'] as { values?: { sendFormat?: string } } | undefined)?.values?.sendFormat;
    await options.click('#send-format-inline');
    await eventually(async () => (await storedFormat()) === 'inline', 30_000, 'the inline format saved');
    await options.click('#send-format-pgp-mime');
    await eventually(async () => (await storedFormat()) === 'pgp-mime', 30_000, 'PGP/MIME saved again');
    await options.close();
  }, 300_000);

  it("alice's console holds no error attributable to Sigill", () => {
    expect(sigillConsoleProblems(alice.console(), extensionUuids[sigillId] ?? sigillId)).toEqual([]);
  });

  it('with the Experiment unavailable (bob, a test-only pref): the popup says inline and why, the send goes inline with a notification, never plaintext', async () => {
    await eventually(() => /sigill: PGP\/MIME not available/.test(bob.console()), 60_000, "Sigill's PGP/MIME line");
    const note = `secret-canary-${randomBytes(6).toString('hex')}`;
    // Inline shows the subject: it carries no secret here.
    const { tabId } = await bob.call('composeBegin', { to: ['alice@sigill.test'], subject: 'Fallback to inline', body: `Hello Alice,\n${note}\n` });
    const line = await popupFormat(bob, (text) => text.startsWith('Format:'));
    expect(line).toBe('Format: Inline PGP — because PGP/MIME cannot be sent in this Thunderbird (switched off for a test (sigill.test.pgpMimeUnavailable)). The subject and attachment names are visible.');
    await bob.screenshot('compose-popup-pgp-mime-unavailable');
    const sending = bob.call('composeSend', { tabId, timeoutMs: 300_000 }, 360_000);
    const prompt = await SigillPage.prompt(bob);
    await prompt.type('#passphrase', fixturePassphrase('bob'), ['Enter']);
    const sent = await sending;
    if (!sent.ok) throw new Error(sent.error);
    expect(bob.console()).toMatch(/sigill: PGP\/MIME cannot be sent \(switched off for a test/);
    // The alert window slides in; the screenshot is for people, nothing is asserted on it.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await bob.screenshot('sent-inline-notice');
    const raw = await newestFor('alice@sigill.test', 1);
    expect(raw.toString('latin1')).toContain('Subject: Fallback to inline');
    expect(raw.includes(note)).toBe(false);
    const root = parseMime(new Uint8Array(raw));
    expect(root.contentType.value).toBe('text/plain');
    expect(Buffer.from(await decodeBody(root)).toString('utf8')).toMatch(/^-----BEGIN PGP MESSAGE-----/);
  }, 600_000);

  it('issue 9: the relay refuses an inline message after Sigill encrypted it; the compose window gets the original body and attachments back, byte-identical', async () => {
    const { tabId } = await bob.call('composeBegin', {
      to: ['alice@sigill.test'],
      subject: 'Too large for the relay',
      body: 'Hello Alice,\nthis one is too large for the relay.\n',
      attachments: [
        { name: 'large.bin', url: `${base}/large.bin` },
        { name: 'notes.txt', url: `${base}/notes.txt` },
      ],
    }, 180_000);
    const before: ComposeSnapshot = await bob.call('composeSnapshot', { tabId }, 180_000);
    const delivered = (await world.relay.messages('alice@sigill.test')).length;
    const sending = bob.call('composeSend', { tabId, timeoutMs: 300_000 }, 360_000);
    // Thunderbird says so in a modal alert; the send ends when the person clicks OK. (If bob's key is not
    // unlocked from the test before, Sigill asks for the passphrase first.)
    const prompt = new SigillPage(bob, 'prompt/prompt.html');
    let alert: string | undefined;
    for (let round = 0; alert === undefined; round += 1) {
      if (round > 40) throw new Error('neither the passphrase prompt nor the send-failure alert appeared');
      const asked = await prompt.act<{ exists: boolean; text?: string }>({ op: 'query', selector: '#user-id' }, 3_000).catch(() => undefined);
      if (asked?.exists === true && (asked.text ?? '') !== '') await prompt.type('#passphrase', fixturePassphrase('bob'), ['Enter']);
      alert = await bob.call('acceptAlert', { timeoutMs: 5_000 }, 60_000).catch(() => undefined);
    }
    expect(alert).toMatch(/size/i);
    const result = await sending;
    // Thunderbird 153 resolves sendMessage for a refused sendNow, without a Message-ID (see deliveryFailed in send.ts).
    expect(result.ok === false || result.headerMessageId === '').toBe(true);
    await eventually(() => /sigill: send failed after encryption .*; the compose window holds the original message again/.test(bob.console()), 120_000, 'the restored compose window');
    await bob.screenshot('send-refused-compose-restored');
    const after: ComposeSnapshot = await bob.call('composeSnapshot', { tabId }, 180_000);
    expect(after.attachments).toEqual(before.attachments);
    expect(after.details.plainTextBody).toBe(before.details.plainTextBody);
    expect(after.details.subject).toBe(before.details.subject);
    expect(await world.relay.messages('alice@sigill.test')).toHaveLength(delivered);
  }, 600_000);

  it('leaves nothing running', async () => {
    expect(await world.stop()).toEqual([]);
  });
});
