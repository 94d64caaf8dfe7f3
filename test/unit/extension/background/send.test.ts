// The send hook (compose.onBeforeSend) over Sigill's real background, real keyring and real core, with
// Thunderbird's compose windows substituted (node-compose.ts): encrypt + sign with the passphrase
// prompt, sign only, HTML compose, and fail closed — every failure cancels, notifies, and leaves the
// compose window byte-identical.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fixturePassphrase, loadSecretKey, readFixture } from '../../../../keys-fixtures/index.ts';
import { decrypt, memorySink, verifyDetached, verifyInline, saveSettings } from '../../../../src/core/index.ts';
import { startBackground } from '../../../../extension/background/main.ts';
import { request } from '../../../../extension/shared/messages.ts';
import type { ComposeDetailsView } from '../../../../extension/platform/browser.ts';
import type { ComposeStatus } from '../../../../extension/shared/compose-messages.ts';
import { draftsInfo } from '../../../../extension/background/send-status.ts';
import { nodeBrowser, type NodeBrowser } from '../node-browser.ts';

const accounts = [{ id: 'account1', name: 'alice@sigill.test', type: 'pop3', identities: [{ id: 'id1', email: 'alice@sigill.test', name: 'Alice' }] }];
const canary = () => `secret-canary-${randomBytes(6).toString('hex')}`;

/** These scenarios are about the inline format (PGP/MIME: send-pgpmime.test.ts), chosen in the settings. */
async function world(options: { unlockMinutes?: number } = {}) {
  const api = nodeBrowser({ accounts });
  await saveSettings(api.storageBackend, { sendFormat: 'inline', ...(options.unlockMinutes === undefined ? {} : { unlockMinutes: options.unlockMinutes }) });
  const background = startBackground(api);
  const { keyring } = await background.ready;
  await keyring.importSecretKeys(readFixture('alice', 'sec'), { passphrase: fixturePassphrase('alice') });
  await keyring.importKeys(readFixture('bob', 'pub'), { acceptance: 'accepted' });
  await keyring.importKeys(readFixture('dave', 'pub'), { acceptance: 'undecided' });
  return { api, background, keyring };
}

/** Answers the passphrase prompt the way a person would: each passphrase in turn, or Cancel. */
async function answerPrompt(api: NodeBrowser, answers: Array<string | 'cancel'>): Promise<string[]> {
  const replies: string[] = [];
  for (let tries = 0; tries < 400 && api.openWindows.size === 0; tries += 1) await new Promise((resolve) => setTimeout(resolve, 5));
  const [windowId, url] = [...api.openWindows][0] ?? [];
  if (windowId === undefined || url === undefined) throw new Error('no prompt was opened');
  const requestId = decodeURIComponent(new URL(url).searchParams.get('request') ?? '');
  const info = await request((message) => api.sendFrom('prompt/prompt.html', message), 'prompt.info', { requestId });
  expect(info.reason).toBe('sign');
  for (const answer of answers) {
    const name = answer === 'cancel' ? 'prompt.cancel' : 'prompt.submit';
    const reply = (await api.sendFrom('prompt/prompt.html', { sigill: name, payload: { requestId, passphrase: answer } })) as { ok: boolean; error?: { code: string } };
    replies.push(reply.ok ? 'ok' : (reply.error?.code ?? '?'));
  }
  return replies;
}

const plainDetails = (body: string, extra: Partial<ComposeDetailsView> = {}): ComposeDetailsView => ({
  from: 'Alice <alice@sigill.test>',
  to: ['Bob <bob@sigill.test>'],
  cc: [],
  bcc: [],
  subject: 'Plans',
  isPlainText: true,
  plainTextBody: body,
  ...extra,
});

async function decryptFor(name: 'bob' | 'alice', armored: string | Uint8Array) {
  const sink = memorySink();
  const result = await decrypt({ input: armored, sink, decryptionKeys: [await loadSecretKey(name, { unlocked: true })], verificationKeys: [(await loadSecretKey('alice', { unlocked: true })).toPublic()] });
  return { bytes: sink.bytes(), text: sink.text(), result };
}

describe('send hook: encrypt and sign', () => {
  it('asks for the passphrase (a wrong one retries), then sends the body and every attachment encrypted and signed', async () => {
    const { api } = await world();
    const secret = canary();
    const binary = new Uint8Array(randomBytes(200_000));
    const notes = new TextEncoder().encode(`Anteckningar ${secret} åäö ✓\n`);
    const tabId = api.composer.open(plainDetails(`Hello Bob,\n${secret}\n`), [
      { name: 'random.bin', data: binary },
      { name: 'notes.txt', data: notes },
    ]);
    const [sent, replies] = await Promise.all([api.composer.send(tabId), answerPrompt(api, ['wrong passphrase', fixturePassphrase('alice')])]);
    expect(replies).toEqual(['BAD_PASSPHRASE', 'ok']);
    expect(sent.outcome).toBe('sent');
    expect(api.notificationsShown).toEqual([]);
    expect(sent.details.plainTextBody).toMatch(/^-----BEGIN PGP MESSAGE-----/);
    expect(JSON.stringify(sent.details)).not.toContain(secret);
    const body = await decryptFor('bob', sent.details.plainTextBody ?? '');
    expect(body.text.replace(/\r\n/g, '\n')).toBe(`Hello Bob,\n${secret}\n`);
    expect(body.result.verifications).toEqual([expect.objectContaining({ status: 'good', userID: 'Alice <alice@sigill.test>' })]);
    // The Sent copy stays readable: alice's own key is a recipient too.
    expect((await decryptFor('alice', sent.details.plainTextBody ?? '')).text).toContain(secret);
    expect(sent.attachments.map((attachment) => attachment.name)).toEqual(['random.bin.asc', 'notes.txt.asc']);
    for (const [index, original] of [binary, notes].entries()) {
      const armored = sent.attachments[index]?.data ?? new Uint8Array();
      expect(Buffer.from(armored).includes(Buffer.from(secret))).toBe(false);
      const opened = await decryptFor('bob', armored);
      expect(Buffer.from(opened.bytes).equals(Buffer.from(original))).toBe(true);
      expect(opened.result.filename).toBe(['random.bin', 'notes.txt'][index]);
      expect(opened.result.verifications[0]?.status).toBe('good');
    }
  });

  it('uses a key unlocked earlier without asking again', async () => {
    const { api, keyring } = await world();
    await keyring.unlock(keyring.ownKeys()[0]!.fingerprint, fixturePassphrase('alice'));
    const tabId = api.composer.open(plainDetails('Hello again'));
    const sent = await api.composer.send(tabId);
    expect(sent.outcome).toBe('sent');
    expect(api.openWindows.size).toBe(0);
    expect((await decryptFor('bob', sent.details.plainTextBody ?? '')).text).toBe('Hello again');
  });

  it('signs with an unlock time of 0 (nothing kept) and keeps nothing unlocked afterwards', async () => {
    const { api, keyring } = await world({ unlockMinutes: 0 });
    const tabId = api.composer.open(plainDetails('Hello'));
    const [sent] = await Promise.all([api.composer.send(tabId), answerPrompt(api, [fixturePassphrase('alice')])]);
    expect(sent.outcome).toBe('sent');
    expect(keyring.unlocked.fingerprints()).toEqual([]);
  });

  it('sends an HTML message as its plain-text rendition, encrypted, with no HTML copy of the text', async () => {
    const { api, keyring } = await world();
    await keyring.unlock(keyring.ownKeys()[0]!.fingerprint, fixturePassphrase('alice'));
    const secret = canary();
    const tabId = api.composer.open(plainDetails(`Bold ${secret}`, { isPlainText: false, body: `<p><b>Bold</b> ${secret}</p>` }));
    const sent = await api.composer.send(tabId);
    expect(sent.outcome).toBe('sent');
    expect(sent.details.isPlainText).toBe(true);
    expect(sent.details.body).toMatch(/^<pre>-----BEGIN PGP MESSAGE-----/);
    expect(JSON.stringify(sent.details)).not.toContain(secret);
    expect((await decryptFor('bob', sent.details.plainTextBody ?? '')).text).toBe(`Bold ${secret}`);
  });

  it('switches Thunderbird\'s own OpenPGP off for the message, so nothing is encrypted twice', async () => {
    const { api, keyring } = await world();
    await keyring.unlock(keyring.ownKeys()[0]!.fingerprint, fixturePassphrase('alice'));
    const tabId = api.composer.open(plainDetails('x', { selectedEncryptionTechnology: { name: 'OpenPGP', encryptBody: true, encryptSubject: true, signMessage: true } }));
    const sent = await api.composer.send(tabId);
    expect(sent.details.selectedEncryptionTechnology).toEqual({ name: 'OpenPGP', encryptBody: false, encryptSubject: false, signMessage: false });
  });
});

describe('send hook: sign only and defaults', () => {
  it('sign only: a cleartext-signed body and a detached .sig next to each attachment, which are left as they are', async () => {
    const { api, background, keyring } = await world();
    await keyring.unlock(keyring.ownKeys()[0]!.fingerprint, fixturePassphrase('alice'));
    const data = new Uint8Array(randomBytes(5000));
    const tabId = api.composer.open(plainDetails('Public note\nFrom here on, a very long line that a plain-text composer would surely wrap into two.'), [{ name: 'data.bin', data }]);
    background.choices.set(tabId, { encrypt: false });
    const sent = await api.composer.send(tabId);
    expect(sent.outcome).toBe('sent');
    expect(sent.details.plainTextBody).toMatch(/^-----BEGIN PGP SIGNED MESSAGE-----/);
    expect(sent.details.plainTextBody).toContain('\n- From here on,');
    const alice = (await loadSecretKey('alice', { unlocked: true })).toPublic();
    const sink = memorySink();
    const verified = await verifyInline({ input: sent.details.plainTextBody ?? '', sink, verificationKeys: [alice] });
    expect(verified[0]?.status).toBe('good');
    expect(sink.text()).toContain('From here on, a very long line');
    expect(sent.attachments.map((attachment) => attachment.name)).toEqual(['data.bin', 'data.bin.sig']);
    expect(Buffer.from(sent.attachments[0]!.data).equals(Buffer.from(data))).toBe(true);
    const detached = await verifyDetached({ input: data, signature: new TextDecoder().decode(sent.attachments[1]!.data), verificationKeys: [alice] });
    expect(detached[0]?.status).toBe('good');
  });

  it('encrypts automatically only when every recipient has an accepted key; otherwise sends it signed, not encrypted', async () => {
    const { api, keyring } = await world();
    await keyring.unlock(keyring.ownKeys()[0]!.fingerprint, fixturePassphrase('alice'));
    const tabId = api.composer.open(plainDetails('Hi both', { cc: ['dave@sigill.test'] }));
    const sent = await api.composer.send(tabId);
    expect(sent.outcome).toBe('sent');
    expect(sent.details.plainTextBody).toMatch(/^-----BEGIN PGP SIGNED MESSAGE-----/);
  });

  it('a reply to an encrypted message stays encrypted: it is cancelled when a recipient has no usable key', async () => {
    const { api, keyring } = await world();
    await keyring.unlock(keyring.ownKeys()[0]!.fingerprint, fixturePassphrase('alice'));
    api.rawMessages.set(7, 'From: dave@sigill.test\r\nSubject: x\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nwV4D\r\n-----END PGP MESSAGE-----\r\n');
    api.rawMessages.set(8, 'From: dave@sigill.test\r\nSubject: x\r\n\r\nplain\r\n');
    const reply = api.composer.open(plainDetails('Re: x', { to: ['dave@sigill.test'], type: 'reply', relatedMessageId: 7 }));
    expect((await api.composer.send(reply)).outcome).toBe('cancelled');
    expect(api.notificationsShown[0]?.message).toContain('dave@sigill.test (To)');
    const plainReply = api.composer.open(plainDetails('Re: x', { to: ['dave@sigill.test'], type: 'reply', relatedMessageId: 8 }));
    expect((await api.composer.send(plainReply)).details.plainTextBody).toMatch(/^-----BEGIN PGP SIGNED MESSAGE-----/);
  });

  it('leaves a message alone when encryption and signing are off', async () => {
    const { api, background } = await world();
    const tabId = api.composer.open(plainDetails('plain'), [{ name: 'a.txt', data: 'a' }]);
    background.choices.set(tabId, { encrypt: false, sign: false });
    const sent = await api.composer.send(tabId);
    expect(sent).toMatchObject({ outcome: 'sent', details: { plainTextBody: 'plain' }, attachments: [{ name: 'a.txt' }] });
  });
});

describe('send hook: attach my public key', () => {
  const keyFileName = /^OpenPGP_0x[0-9A-F]{16}\.asc$/;

  it('the popup\'s choice attaches alice\'s armored public key as it is, next to the encrypted attachments, once', async () => {
    const { api, background, keyring } = await world();
    await keyring.unlock(keyring.ownKeys()[0]!.fingerprint, fixturePassphrase('alice'));
    const alice = keyring.ownKeys()[0]!;
    const secret = canary();
    const tabId = api.composer.open(plainDetails(`Key attached ${secret}`), [{ name: 'notes.txt', data: secret }]);
    background.choices.set(tabId, { attachPublicKey: true });
    const sent = await api.composer.send(tabId);
    expect(sent.outcome).toBe('sent');
    expect(sent.details.plainTextBody).toMatch(/^-----BEGIN PGP MESSAGE-----/);
    expect(sent.attachments.map((attachment) => attachment.name)).toEqual(['notes.txt.asc', `OpenPGP_0x${alice.keyID.toUpperCase()}.asc`]);
    const keyText = new TextDecoder().decode(sent.attachments[1]!.data);
    expect(keyText).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    expect(keyText).not.toContain('PRIVATE KEY');
    expect(keyText).toBe(await keyring.exportPublic(alice.fingerprint));
    // Already attached (as after a cancelled send): the key is not attached twice.
    const keyName = `OpenPGP_0x${alice.keyID.toUpperCase()}.asc`;
    const again = api.composer.open(plainDetails('x'), [{ name: keyName, data: keyText }]);
    background.choices.set(again, { encrypt: false, attachPublicKey: true });
    expect((await api.composer.send(again)).attachments.map((attachment) => attachment.name).filter((name) => keyFileName.test(name))).toEqual([keyName]);
  });

  it('follows the setting when the popup says nothing, and the popup can turn it off; a plain message carries it too', async () => {
    const { api, background, keyring } = await world();
    await saveSettings(api.storageBackend, { attachPublicKey: true });
    await keyring.unlock(keyring.ownKeys()[0]!.fingerprint, fixturePassphrase('alice'));
    const bySetting = api.composer.open(plainDetails('x'));
    expect((await api.composer.send(bySetting)).attachments.map((attachment) => attachment.name)).toEqual([expect.stringMatching(keyFileName)]);
    const off = api.composer.open(plainDetails('x'));
    background.choices.set(off, { attachPublicKey: false });
    expect((await api.composer.send(off)).attachments).toEqual([]);
    const plain = api.composer.open(plainDetails('plain'));
    background.choices.set(plain, { encrypt: false, sign: false });
    const sentPlain = await api.composer.send(plain);
    expect(sentPlain).toMatchObject({ outcome: 'sent', details: { plainTextBody: 'plain' } });
    expect(sentPlain.attachments.map((attachment) => attachment.name)).toEqual([expect.stringMatching(keyFileName)]);
  });

  it('without an own key to attach, the send is cancelled and nothing changes', async () => {
    const { api, background } = await world();
    const tabId = api.composer.open(plainDetails('x', { from: 'other@sigill.test' }), [{ name: 'a.txt', data: 'a' }]);
    background.choices.set(tabId, { encrypt: false, sign: false, attachPublicKey: true });
    const sent = await api.composer.send(tabId);
    expect(sent.outcome).toBe('cancelled');
    expect(sent.attachments.map((attachment) => attachment.name)).toEqual(['a.txt']);
    expect(api.notificationsShown[0]?.message).toContain('other@sigill.test');
  });
});

describe('send hook: fail closed', () => {
  async function expectUnchanged(api: NodeBrowser, tabId: number, run: () => Promise<unknown>) {
    const before = await api.composer.snapshot(tabId);
    await run();
    const after = await api.composer.snapshot(tabId);
    expect(after.details).toEqual(before.details);
    expect(after.attachments.map((attachment) => attachment.name)).toEqual(before.attachments.map((attachment) => attachment.name));
    after.attachments.forEach((attachment, index) => expect(Buffer.from(attachment.data).equals(Buffer.from(before.attachments[index]!.data))).toBe(true));
  }

  it('a Cc recipient without a usable key cancels the send and the notification names them', async () => {
    const { api, background } = await world();
    const tabId = api.composer.open(plainDetails(`x ${canary()}`, { cc: ['Dave <dave@sigill.test>', 'nobody@sigill.test'] }), [{ name: 'a.bin', data: new Uint8Array(randomBytes(1000)) }]);
    background.choices.set(tabId, { encrypt: true });
    await expectUnchanged(api, tabId, async () => expect((await api.composer.send(tabId)).outcome).toBe('cancelled'));
    expect(api.openWindows.size).toBe(0);
    expect(api.composer.calls).toEqual([]);
    expect(api.notificationsShown).toHaveLength(1);
    const shown = api.notificationsShown[0]!;
    expect(shown.title).toBe('Sigill did not send this message');
    expect(shown.message).toContain('dave@sigill.test (Cc): The key has not been accepted.');
    expect(shown.message).toContain('nobody@sigill.test (Cc): No key is known for this address.');
  });

  it('a Bcc recipient without a key cancels too', async () => {
    const { api, background } = await world();
    const tabId = api.composer.open(plainDetails('x', { bcc: ['nobody@sigill.test'] }));
    background.choices.set(tabId, { encrypt: true });
    expect((await api.composer.send(tabId)).outcome).toBe('cancelled');
    expect(api.notificationsShown[0]?.message).toContain('nobody@sigill.test (Bcc)');
  });

  it('cancelling the passphrase prompt cancels the send', async () => {
    const { api } = await world();
    const tabId = api.composer.open(plainDetails('x'), [{ name: 'a.txt', data: 'attached' }]);
    await expectUnchanged(api, tabId, async () => {
      const [sent] = await Promise.all([api.composer.send(tabId), answerPrompt(api, ['wrong', 'cancel'])]);
      expect(sent.outcome).toBe('cancelled');
    });
    expect(api.notificationsShown[0]?.message).toMatch(/^Nothing was sent: your key was not unlocked to sign/);
  });

  it('an unreadable attachment cancels the send', async () => {
    const { api, keyring } = await world();
    await keyring.unlock(keyring.ownKeys()[0]!.fingerprint, fixturePassphrase('alice'));
    const tabId = api.composer.open(plainDetails('x'), [{ name: 'a.txt', data: 'one' }, { name: 'b.txt', data: 'two' }]);
    const [, second] = await api.compose.listAttachments(tabId);
    api.composer.failGetFile.add(second!.id);
    await expectUnchanged(api, tabId, async () => expect((await api.composer.send(tabId)).outcome).toBe('cancelled'));
    expect(api.notificationsShown[0]?.message).toMatch(/^Nothing was sent: an attachment could not be read/);
    expect(api.composer.calls.filter((call) => call.startsWith('updateAttachment'))).toEqual([]);
  });

  it('a swap that fails half-way puts the original attachments back', async () => {
    const { api, keyring } = await world();
    await keyring.unlock(keyring.ownKeys()[0]!.fingerprint, fixturePassphrase('alice'));
    const tabId = api.composer.open(plainDetails('x'), [{ name: 'a.txt', data: 'one' }, { name: 'b.txt', data: 'two' }, { name: 'c.txt', data: 'three' }]);
    api.composer.failUpdateAfter = 3;
    await expectUnchanged(api, tabId, async () => expect((await api.composer.send(tabId)).outcome).toBe('cancelled'));
    expect(api.notificationsShown[0]?.message).toMatch(/^Nothing was sent: the encrypted attachments could not be put in place/);
  });

  it('explicit signing without an own key cancels', async () => {
    const { api, background } = await world();
    const tabId = api.composer.open(plainDetails('x', { from: 'other@sigill.test' }));
    background.choices.set(tabId, { encrypt: false, sign: true });
    expect((await api.composer.send(tabId)).outcome).toBe('cancelled');
    expect(api.notificationsShown[0]?.message).toContain('other@sigill.test (your own key)');
  });

  it('a recipient from the address book that cannot be checked cancels an encrypted send', async () => {
    const { api, background } = await world();
    const tabId = api.composer.open(plainDetails('x', { to: [{ id: 'contact1', type: 'contact' }] }));
    background.choices.set(tabId, { encrypt: true });
    expect((await api.composer.send(tabId)).outcome).toBe('cancelled');
  });
});

describe('compose popup status and badge', () => {
  async function status(api: NodeBrowser, tabId: number, update?: { encrypt?: boolean | null; attachPublicKey?: boolean | null }) {
    const name = update === undefined ? 'compose.status' : 'compose.choose';
    const reply = (await api.sendFrom('compose/compose.html', { sigillCompose: name, payload: { tabId, ...update } })) as { ok: boolean; value: ComposeStatus };
    expect(reply.ok).toBe(true);
    return reply.value;
  }

  it('shows every recipient\'s key state, the own key, drafts, and draws the badge; a choice in the popup is what the send does', async () => {
    const { api, keyring } = await world();
    const tabId = api.composer.open(plainDetails('x', { cc: ['dave@sigill.test'], bcc: ['nobody@sigill.test'], identityId: 'id1' }));
    const first = await status(api, tabId);
    expect(first.recipients.map(({ address, field, state }) => [address, field, state])).toEqual([
      ['bob@sigill.test', 'to', 'accepted'],
      ['dave@sigill.test', 'cc', 'undecided'],
      ['nobody@sigill.test', 'bcc', 'missing'],
    ]);
    expect(first.recipients[1]?.fingerprint).toBe(keyring.lookup('dave@sigill.test').candidates[0]?.record.fingerprint);
    expect(first).toMatchObject({ encrypt: false, sign: true, encryptRequired: false, ownKey: 'locked-ok', drafts: { location: 'local' } });
    expect(api.badges.get(tabId)).toMatchObject({ text: '✍', title: 'Sigill: will be sent signed, not encrypted' });
    const chosen = await status(api, tabId, { encrypt: true });
    expect(chosen).toMatchObject({ encrypt: true, encryptRequired: true, attachPublicKey: false });
    expect(await status(api, tabId, { attachPublicKey: true })).toMatchObject({ attachPublicKey: true, choice: { encrypt: true, attachPublicKey: true } });
    await status(api, tabId, { attachPublicKey: null });
    expect(chosen.problems).toHaveLength(2);
    expect(api.badges.get(tabId)?.text).toBe('!');
    expect((await api.composer.send(tabId)).outcome).toBe('cancelled');
    expect((await status(api, tabId)).lastFailure).toMatch(/^Sigill did not send this message\. dave@sigill\.test \(Cc\): The key has not been accepted\.\n/);
    const encryptable = api.composer.open(plainDetails('x'));
    expect((await status(api, encryptable)).encrypt).toBe(true);
    expect(api.badges.get(encryptable)?.text).toBe('🔒');
  });

  it('says when drafts go to a server, and when they stay on this computer', async () => {
    const imap = [{ id: 'account2', name: 'Work IMAP', type: 'imap', identities: [{ id: 'id2', email: 'alice@sigill.test', draftsFolder: { accountId: 'account2', name: 'Drafts' } }] }];
    expect(draftsInfo(imap, 'id2')).toEqual({ location: 'server', accountName: 'Work IMAP', folderName: 'Drafts' });
    const local = [...imap, { id: 'account3', name: 'Local Folders', type: 'none', identities: [] }];
    local[0]!.identities[0]!.draftsFolder = { accountId: 'account3', name: 'Drafts' };
    expect(draftsInfo(local, 'id2').location).toBe('local');
  });
});
