// The send hook's choice of wire format over Sigill's real background, keyring and core: PGP/MIME by
// default (the compose tab is armed, the window is not touched, and the plan kept for the tab wraps
// Thunderbird's entity when the Experiment asks), inline for a correspondent whose software reads only
// inline, inline with a notice when the Experiment is missing or refuses to arm (never plaintext), and
// an inline send whose delivery fails puts the original body and attachments back. The Experiment is a
// Node stand-in (named so: the real one needs Thunderbird and runs in test/e2e/pgp-mime.test.ts).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fixturePassphrase, loadCertificate, loadSecretKey, readFixture } from '../../../../keys-fixtures/index.ts';
import { read, saveSettings, type Settings } from '../../../../src/core/index.ts';
import { startBackground } from '../../../../extension/background/main.ts';
import type { EncapsulationRequest, PgpMimeExperiment, PgpMimeSendFormat } from '../../../../extension/experiments/pgpmime/api.ts';
import type { ComposeDetailsView } from '../../../../extension/platform/browser.ts';
import type { ComposeStatus } from '../../../../extension/shared/compose-messages.ts';
import { nodeBrowser } from '../node-browser.ts';

const CRLF = '\r\n';
const accounts = [{ id: 'account1', name: 'alice@sigill.test', type: 'pop3', identities: [{ id: 'id1', email: 'alice@sigill.test', name: 'Alice' }] }];
const canary = () => `secret-canary-${randomBytes(6).toString('hex')}`;

/** The Experiment as the background sees it; `encapsulate` plays Thunderbird reaching the wrap point. */
function standInExperiment(options: { armError?: string; available?: boolean } = {}) {
  const armed: Array<{ tabId: number; format: PgpMimeSendFormat }> = [];
  const disarmed: number[] = [];
  const writes: Uint8Array[] = [];
  const failures: string[] = [];
  let listener: ((request: EncapsulationRequest) => Promise<number>) | undefined;
  const experiment: PgpMimeExperiment = {
    availability: async () => (options.available === false ? { available: false, reason: 'nsIMsgComposeSecure is missing' } : { available: true }),
    armNextSend: async (tabId, format) => {
      if (options.armError !== undefined) throw new Error(options.armError);
      armed.push({ tabId, format });
      return true;
    },
    disarm: async (tabId) => void disarmed.push(tabId),
    write: async (_handle, bytes) => void writes.push(new Uint8Array(bytes)),
    fail: async (_handle, reason) => void failures.push(reason),
    onEncapsulate: {
      addListener: (added) => {
        listener = added;
      },
      removeListener: () => {
        listener = undefined;
      },
    },
  };
  const encapsulate = (request: EncapsulationRequest): Promise<number> => {
    if (!listener) throw new Error('nobody listens to onEncapsulate');
    return listener(request);
  };
  return { experiment, armed, disarmed, writes, failures, encapsulate };
}

async function world(options: { experiment?: PgpMimeExperiment; settings?: Partial<Settings> } = {}) {
  const api = nodeBrowser({ accounts });
  if (options.settings !== undefined) await saveSettings(api.storageBackend, options.settings);
  const background = startBackground(api, options.experiment === undefined ? {} : { pgpMime: options.experiment });
  const { keyring } = await background.ready;
  await keyring.importSecretKeys(readFixture('alice', 'sec'), { passphrase: fixturePassphrase('alice') });
  await keyring.importKeys(readFixture('bob', 'pub'), { acceptance: 'accepted' });
  await keyring.importKeys(readFixture('carol', 'pub'), { acceptance: 'accepted' });
  await keyring.unlock(keyring.ownKeys()[0]!.fingerprint, fixturePassphrase('alice'));
  return { api, background, keyring };
}

const details = (body: string, extra: Partial<ComposeDetailsView> = {}): ComposeDetailsView => ({
  from: 'Alice <alice@sigill.test>',
  to: ['Bob <bob@sigill.test>'],
  cc: [],
  bcc: [],
  subject: 'Plans',
  isPlainText: true,
  plainTextBody: body,
  ...extra,
});

/** What Thunderbird would hand the Experiment for a message: its header fields and MIME entity. */
function thunderbirdEntity(options: { tabId: number; subject: string; text: string; attachmentName: string; encrypt?: boolean; sign?: boolean }): EncapsulationRequest {
  const boundary = 'b1_thunderbird';
  const entity = [
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=UTF-8',
    'Content-Transfer-Encoding: 7bit',
    '',
    options.text,
    `--${boundary}`,
    `Content-Type: application/octet-stream; name="${options.attachmentName}"`,
    'Content-Transfer-Encoding: base64',
    `Content-Disposition: attachment; filename="${options.attachmentName}"`,
    '',
    Buffer.from(`bytes of ${options.text}`).toString('base64'),
    `--${boundary}--`,
    '',
  ].join(CRLF);
  return {
    handle: 1,
    tabId: options.tabId,
    encrypt: options.encrypt ?? true,
    sign: options.sign ?? true,
    headers: `From: Alice <alice@sigill.test>${CRLF}To: Bob <bob@sigill.test>${CRLF}Subject: ...${CRLF}Date: Mon, 30 Nov 2026 09:00:00 +0000${CRLF}Message-ID: <1@sigill.test>${CRLF}`,
    subject: options.subject,
    outerSubject: '...',
    entity: new File([entity], 'sigill-pgpmime.eml'),
  };
}

describe('send hook: PGP/MIME is the default format', () => {
  it('arms the compose tab (outer subject "..."), leaves the window untouched, and wraps the entity Thunderbird hands over: bob reads it, the key copy is gone after', async () => {
    const stand = standInExperiment();
    const { api } = await world({ experiment: stand.experiment });
    const secret = canary();
    const tabId = api.composer.open(details(`Hello ${secret}`, { subject: `Plans ${secret}`, selectedEncryptionTechnology: { name: 'OpenPGP', encryptBody: true, encryptSubject: true, signMessage: true } }), [{ name: `Årsrapport ${secret}.pdf`, data: new Uint8Array(randomBytes(5000)) }]);
    const before = await api.composer.snapshot(tabId);
    let written = 0;
    const sent = await api.composer.send(tabId, {
      // Thunderbird reaches the wrap point during its send, after onBeforeSend.
      delivery: async () => {
        written = await stand.encapsulate(thunderbirdEntity({ tabId, subject: `Plans ${secret}`, text: `Hello ${secret}`, attachmentName: `Årsrapport ${secret}.pdf` }));
      },
    });
    expect(sent.outcome).toBe('sent');
    expect(stand.armed).toEqual([{ tabId, format: { encrypt: true, sign: true, outerSubject: '...' } }]);
    expect(api.notificationsShown).toEqual([]);
    // The compose window still holds the plaintext: Thunderbird wraps it later. Only its own OpenPGP is off.
    expect(sent.attachments).toEqual(before.attachments);
    expect(sent.details).toEqual({ ...before.details, selectedEncryptionTechnology: { name: 'OpenPGP', encryptBody: false, encryptSubject: false, signMessage: false } });
    expect(stand.failures).toEqual([]);
    const message = Buffer.concat([Buffer.from(thunderbirdEntity({ tabId, subject: '', text: '', attachmentName: '' }).headers), ...stand.writes]);
    expect(written).toBe(message.length - Buffer.byteLength(thunderbirdEntity({ tabId, subject: '', text: '', attachmentName: '' }).headers));
    expect(message.includes(secret)).toBe(false);
    const [bob, alice] = await Promise.all([loadSecretKey('bob', { unlocked: true }), loadCertificate('alice')]);
    const view = await read(new Uint8Array(message), { decryptionKeys: async () => [bob], verificationKeys: async () => [alice] });
    expect(view.errors).toEqual([]);
    expect(view.encryption).toBe('encrypted');
    expect(view.signature).toBe('signed');
    expect(view.protectedSubject).toBe(`Plans ${secret}`);
    expect(view.attachments.map((file) => file.name)).toEqual([`Årsrapport ${secret}.pdf`]);

    // The plan (and its unlocked key) was for one encapsulation only: a second one fails, with a notification.
    await expect(stand.encapsulate(thunderbirdEntity({ tabId, subject: 'again', text: 'again', attachmentName: 'x.pdf' }))).rejects.toThrow(/no PGP\/MIME send was prepared/);
    expect(stand.failures).toHaveLength(1);
    expect(api.notificationsShown.map((shown) => shown.title)).toEqual(['Sigill did not send this message']);
  });

  it('signs only as PGP/MIME when encryption is off, and uses the outer subject from the settings', async () => {
    const stand = standInExperiment();
    const { api, background } = await world({ experiment: stand.experiment, settings: { outerSubject: 'Encrypted message' } });
    const tabId = api.composer.open(details('Signed'));
    background.choices.set(tabId, { encrypt: false });
    const sent = await api.composer.send(tabId);
    expect(sent.outcome).toBe('sent');
    expect(stand.armed).toEqual([{ tabId, format: { encrypt: false, sign: true, outerSubject: 'Encrypted message' } }]);
  });

  it('a correspondent marked inline-only makes the message inline, without a notice; the compose popup says why', async () => {
    const stand = standInExperiment();
    const { api } = await world({ experiment: stand.experiment, settings: { inlineOnlyCorrespondents: ['Carol@Sigill.test'] } });
    const tabId = api.composer.open(details('Hello both', { to: ['bob@sigill.test', 'Carol <carol@sigill.test>'] }));
    const status = (await api.sendFrom('compose/compose.html', { sigillCompose: 'compose.status', payload: { tabId } })) as { ok: true; value: ComposeStatus };
    expect(status.value.format).toEqual({ format: 'inline', because: 'correspondent', inlineRecipients: ['carol@sigill.test'] });
    const sent = await api.composer.send(tabId);
    expect(sent.outcome).toBe('sent');
    expect(stand.armed).toEqual([]);
    expect(sent.details.plainTextBody).toMatch(/^-----BEGIN PGP MESSAGE-----/);
    expect(api.notificationsShown).toEqual([]);
  });

  it('the inline setting sends inline; the popup says so', async () => {
    const stand = standInExperiment();
    const { api } = await world({ experiment: stand.experiment, settings: { sendFormat: 'inline' } });
    const tabId = api.composer.open(details('Inline please'));
    const status = (await api.sendFrom('compose/compose.html', { sigillCompose: 'compose.status', payload: { tabId } })) as { ok: true; value: ComposeStatus };
    expect(status.value.format).toEqual({ format: 'inline', because: 'setting', inlineRecipients: [] });
    const sent = await api.composer.send(tabId);
    expect(sent.details.plainTextBody).toMatch(/^-----BEGIN PGP MESSAGE-----/);
    expect(stand.armed).toEqual([]);
  });
});

describe('send hook: PGP/MIME unavailable falls back to inline with a notice, never plaintext', () => {
  for (const [name, setup] of [
    ['the Experiment is not loaded', () => undefined],
    ['the Experiment finds this Thunderbird unsuitable at start', () => standInExperiment({ available: false }).experiment],
    ['arming fails at send time', () => standInExperiment({ armError: 'the compose fields have no composeSecure' }).experiment],
  ] as const) {
    it(name, async () => {
      const experiment = setup();
      const { api } = await world(experiment === undefined ? {} : { experiment });
      const secret = canary();
      const tabId = api.composer.open(details(`Hello ${secret}`));
      const status = (await api.sendFrom('compose/compose.html', { sigillCompose: 'compose.status', payload: { tabId } })) as { ok: true; value: ComposeStatus };
      // At start the Experiment may look fine; only arming finds it out (then the popup said PGP/MIME).
      if (!name.startsWith('arming')) expect(status.value.format).toMatchObject({ format: 'inline', because: 'unavailable', reason: expect.any(String) });
      const sent = await api.composer.send(tabId);
      expect(sent.outcome).toBe('sent');
      expect(sent.details.plainTextBody).toMatch(/^-----BEGIN PGP MESSAGE-----/);
      expect(JSON.stringify(sent.details)).not.toContain(secret);
      expect(api.notificationsShown).toHaveLength(1);
      expect(api.notificationsShown[0]?.title).toBe('Encrypted as inline PGP, not PGP/MIME');
      expect(api.notificationsShown[0]?.message).toMatch(/^Still encrypted, but its subject and attachment names are visible. PGP\/MIME cannot be sent/);
    });
  }
});

describe('send hook: a failed delivery after an inline send', () => {
  it('puts the original body and attachments back (byte-identical) and removes what was added', async () => {
    const { api } = await world({ settings: { sendFormat: 'inline' } });
    const secret = canary();
    const binary = new Uint8Array(randomBytes(100_000));
    const tabId = api.composer.open(details(`Hello ${secret}`), [
      { name: 'random.bin', data: binary },
      { name: 'notes.txt', data: `Notes ${secret}` },
    ]);
    const before = await api.composer.snapshot(tabId);
    const sent = await api.composer.send(tabId, { deliveryError: 'An error occurred while sending mail. The mail server responded: 554 refused.' });
    expect(sent.details.plainTextBody).toMatch(/^-----BEGIN PGP MESSAGE-----/);
    expect(sent.attachments.map((attachment) => attachment.name)).toEqual(['random.bin.asc', 'notes.txt.asc']);
    const after = await api.composer.snapshot(tabId);
    expect(after.details.plainTextBody).toBe(before.details.plainTextBody);
    expect(after.attachments).toEqual(before.attachments);
  });

  it("a refusal Thunderbird reports as a sendNow without Message-ID (153) restores too", async () => {
    const { api } = await world({ settings: { sendFormat: 'inline' } });
    const tabId = api.composer.open(details('Refused quietly'), [{ name: 'a.txt', data: 'a' }]);
    const before = await api.composer.snapshot(tabId);
    await api.composer.send(tabId, { refusedWithoutError: true });
    expect(await api.composer.snapshot(tabId)).toEqual(before);
  });

  it('an HTML message gets its HTML body back; a delivery that worked restores nothing', async () => {
    const { api } = await world({ settings: { sendFormat: 'inline' } });
    const html = '<p><b>Bold</b> words</p>';
    const failed = api.composer.open(details('Bold words', { isPlainText: false, body: html }));
    await api.composer.send(failed, { deliveryError: 'connection refused' });
    expect((await api.composer.snapshot(failed)).details.body).toBe(html);
    const delivered = api.composer.open(details('Fine'));
    await api.composer.send(delivered);
    expect((await api.composer.snapshot(delivered)).details.plainTextBody).toMatch(/^-----BEGIN PGP MESSAGE-----/);
  });
});
