// Encrypted drafts (extension/background/drafts.ts) over the real keyring and core, with the PGP/MIME
// Experiment's draft arm substituted by a recorder (FakeDraftArm): the decision at each save (plain,
// encrypt, refuse with a notification: fail closed), the draft's PGP/MIME encrypted to the sender alone,
// and a reopened draft put back into the composer decrypted.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fixturePassphrase, loadSecretKey, readFixture } from '../../../../keys-fixtures/index.ts';
import { Keyring, parseMime, read } from '../../../../src/core/index.ts';
import { memoryStorage } from '../../../../src/platform/node/index.ts';
import { DraftService, isPgpMimeEncrypted, type DraftDecision, type DraftFolderInfo, type DraftSaveRequest, type DraftServiceDependencies, type DraftsExperiment } from '../../../../extension/background/drafts.ts';
import type { EncapsulationRequest } from '../../../../extension/experiments/pgpmime/api.ts';
import type { ComposeDetailsView } from '../../../../extension/platform/browser.ts';

const canary = () => `secret-canary-${randomBytes(6).toString('hex')}`;
const CRLF = '\r\n';

type Listener<A, R> = (argument: A) => Promise<R>;

/** The draft arm as the background sees it; records what the background writes and fails. */
class FakeDraftArm implements DraftsExperiment {
  decision?: Listener<DraftSaveRequest, DraftDecision>;
  encapsulate?: Listener<EncapsulationRequest, number>;
  written: Uint8Array[] = [];
  failures: string[] = [];
  watched = new Set<number>();
  folder: DraftFolderInfo = { uri: 'imap://alice%40sigill.test@127.0.0.1/Drafts', local: false, serverName: 'alice@sigill.test', autoEncryptDrafts: true };
  draftId: number | null = null;

  async watchDrafts(tabId: number) {
    this.watched.add(tabId);
    return true;
  }
  async unwatchDrafts(tabId: number) {
    this.watched.delete(tabId);
  }
  async draftMessage() {
    return this.draftId;
  }
  async draftFolder() {
    return this.folder;
  }
  async keepDraftsLocal() {
    this.folder = { uri: 'mailbox://nobody@Local%20Folders/Drafts', local: true, serverName: 'Local Folders', autoEncryptDrafts: true };
    return this.folder.uri;
  }
  async write(_handle: number, bytes: Uint8Array) {
    this.written.push(bytes.slice());
  }
  async fail(_handle: number, reason: string) {
    this.failures.push(reason);
  }
  onDraftSave = {
    addListener: (listener: Listener<DraftSaveRequest, DraftDecision>) => (this.decision = listener),
    removeListener: () => (this.decision = undefined),
  };
  onEncapsulateDraft = {
    addListener: (listener: Listener<EncapsulationRequest, number>) => (this.encapsulate = listener),
    removeListener: () => (this.encapsulate = undefined),
  };
  /** What Thunderbird's draft file would hold: its header fields, then what the background wrote. */
  stored(headers: string): string {
    return headers + Buffer.concat(this.written).toString('latin1');
  }
}

interface Composer {
  details: ComposeDetailsView;
  attachments: { id: number; name: string; file?: File }[];
}

async function setup(options: { ownKey?: boolean; protection?: () => Promise<{ encrypt: boolean; encryptRequired: boolean }> } = {}) {
  const keyring = await Keyring.open({ storage: memoryStorage(), unlockLifetimeMs: 60_000 });
  if (options.ownKey !== false) await keyring.importSecretKeys(readFixture('alice', 'sec'), { passphrase: fixturePassphrase('alice') });
  await keyring.importKeys(readFixture('bob', 'pub'), { acceptance: 'accepted' });
  const arm = new FakeDraftArm();
  const composer: Composer = { details: { from: 'Alice <alice@sigill.test>', to: ['bob@sigill.test'], subject: 'Plans', isPlainText: true, identityId: 'id1', type: 'new' }, attachments: [] };
  const notifications: string[] = [];
  const marked: number[] = [];
  const unlocks: string[] = [];
  let nextAttachment = 1;
  const deps: DraftServiceDependencies = {
    experiment: arm,
    keyring,
    protection: options.protection ?? (async () => ({ encrypt: true, encryptRequired: false })),
    compose: {
      getComposeDetails: async () => structuredClone(composer.details),
      setComposeDetails: async (_tabId, details) => void Object.assign(composer.details, details),
      listAttachments: async () => composer.attachments.map(({ id, name }) => ({ id, name })),
      removeAttachment: async (_tabId, id) => void (composer.attachments = composer.attachments.filter((attachment) => attachment.id !== id)),
      addAttachment: async (_tabId, { file, name }) => void composer.attachments.push({ id: nextAttachment++, name: name ?? file.name, file }),
    },
    getRaw: async () => {
      throw new Error('no message');
    },
    unlockedKey: async (fingerprint) => {
      unlocks.push(fingerprint);
      await keyring.unlock(fingerprint, fixturePassphrase('alice'));
      const key = keyring.unlockedKey(fingerprint);
      if (key === undefined) throw new Error('not unlocked');
      return key;
    },
    markEncrypted: (tabId) => marked.push(tabId),
    notify: async (title, message) => void notifications.push(`${title}: ${message}`),
    translate: (name, substitutions) => `${name}${substitutions === undefined ? '' : `(${substitutions.join(', ')})`}`,
  };
  const service = new DraftService(deps);
  service.start();
  return { service, arm, composer, notifications, marked, unlocks, deps, keyring };
}

/** The entity Thunderbird hands over for a plain-text message with one attachment. */
function entity(body: string, attachmentName: string, attachment: Buffer): File {
  const boundary = 'thunderbird-boundary';
  const text =
    `Content-Type: multipart/mixed; boundary="${boundary}"${CRLF}${CRLF}` +
    `--${boundary}${CRLF}Content-Type: text/plain; charset=UTF-8${CRLF}Content-Transfer-Encoding: 7bit${CRLF}${CRLF}${body}${CRLF}` +
    `--${boundary}${CRLF}Content-Type: application/octet-stream; name="${attachmentName}"${CRLF}Content-Disposition: attachment; filename="${attachmentName}"${CRLF}Content-Transfer-Encoding: base64${CRLF}${CRLF}` +
    `${attachment.toString('base64')}${CRLF}--${boundary}--${CRLF}`;
  return new File([text], 'entity.eml', { type: 'message/rfc822' });
}

const draftHeaders = () => `From: Alice <alice@sigill.test>${CRLF}To: bob@sigill.test${CRLF}Subject: ...${CRLF}X-Mozilla-Draft-Info: internal/draft; vcard=0${CRLF}`;

describe('drafts: the decision at each save', () => {
  it("'plain' when the message will not be encrypted, 'encrypt' when it will", async () => {
    let encrypt = false;
    const { arm } = await setup({ protection: async () => ({ encrypt, encryptRequired: false }) });
    expect(await arm.decision?.({ tabId: 1, mode: 'draft', autoEncryptDrafts: true })).toBe('plain');
    encrypt = true;
    expect(await arm.decision?.({ tabId: 1, mode: 'autoSave', autoEncryptDrafts: true })).toBe('encrypt');
    expect(await arm.decision?.({ tabId: 1, mode: 'template', autoEncryptDrafts: true })).toBe('encrypt');
  });

  it("refuses, with a notification, when Thunderbird's \"Encrypt drafts\" is off, the sender has no key, or the status fails", async () => {
    const off = await setup();
    expect(await off.arm.decision?.({ tabId: 1, mode: 'draft', autoEncryptDrafts: false })).toBe('refuse');
    expect(off.notifications).toEqual(['draftsNotSavedTitle: draftsNotSaved(draftsAutoEncryptOff)']);

    const keyless = await setup({ ownKey: false });
    expect(await keyless.arm.decision?.({ tabId: 1, mode: 'draft', autoEncryptDrafts: true })).toBe('refuse');
    expect(keyless.notifications.join()).toMatch(/draftsNotSaved\(.*alice@sigill\.test/);

    const broken = await setup({ protection: () => Promise.reject(new Error('the compose window is gone')) });
    expect(await broken.arm.decision?.({ tabId: 1, mode: 'draft', autoEncryptDrafts: true })).toBe('refuse');
    expect(broken.notifications).toEqual(['draftsNotSavedTitle: draftsNotSaved(the compose window is gone)']);
  });
});

describe('drafts: what is saved', () => {
  it('a draft is PGP/MIME encrypted to the sender alone, with the real subject protected inside; read() gives it back', async () => {
    const { arm, keyring } = await setup();
    const secret = canary();
    const attachment = Buffer.from(`${secret} attachment bytes\n`);
    const request: EncapsulationRequest & { draft: true } = {
      handle: 7,
      tabId: 1,
      encrypt: true,
      sign: false,
      draft: true,
      headers: draftHeaders(),
      subject: `Plans ${secret}`,
      outerSubject: '...',
      entity: entity(`Dear Bob, ${secret}`, `${secret}.txt`, attachment),
    };
    const count = await arm.encapsulate?.(request);
    expect(arm.failures).toEqual([]);
    const stored = arm.stored(request.headers);
    expect(count).toBe(Buffer.byteLength(stored) - Buffer.byteLength(request.headers));
    expect(stored).not.toContain(secret);
    expect(isPgpMimeEncrypted(stored)).toBe(true);
    expect(parseMime(new TextEncoder().encode(stored)).contentType.value).toBe('multipart/encrypted');

    const alice = await loadSecretKey('alice', { unlocked: true });
    const result = await read(Buffer.from(stored, 'latin1'), { decryptionKeys: async () => [alice] });
    expect(result.encryption).toBe('encrypted');
    expect(result.protectedSubject).toBe(`Plans ${secret}`);
    expect(result.parts.map((part) => part.content).join()).toContain(`Dear Bob, ${secret}`);
    expect(result.attachments.map((file) => [file.name, Buffer.from((file.data as Uint8Array | undefined) ?? []).equals(attachment)])).toEqual([[`${secret}.txt`, true]]);
    // Encrypted to one key, alice's encryption subkey: bob cannot read it.
    const bob = await loadSecretKey('bob', { unlocked: true });
    const asBob = await read(Buffer.from(stored, 'latin1'), { decryptionKeys: async () => [bob] });
    expect(asBob.errors.map((error) => error.code)).toEqual(['NOT_ENCRYPTED_FOR_US']);
    const aliceKeyIDs = alice.getKeyIDs().map((id) => id.toHex().toUpperCase());
    expect(asBob.errors[0]?.keyIDs).toHaveLength(1);
    expect(aliceKeyIDs).toContain(asBob.errors[0]?.keyIDs?.[0]?.toUpperCase());
    expect(keyring.ownKeys()).toHaveLength(1);
  });

  it('a request that is not a draft encapsulation (signing asked, or no draft mark) fails the save', async () => {
    const { arm } = await setup();
    const base = { handle: 1, tabId: 1, encrypt: true, sign: false, headers: draftHeaders(), subject: 'x', entity: entity('x', 'a.txt', Buffer.from('a')) };
    await expect(arm.encapsulate?.({ ...base })).rejects.toThrow();
    await expect(arm.encapsulate?.({ ...base, sign: true, draft: true } as EncapsulationRequest)).rejects.toThrow();
    expect(arm.failures).toHaveLength(2);
    expect(arm.written).toEqual([]);
  });
});

describe('drafts: reopening', () => {
  async function savedDraft(arm: FakeDraftArm, secret: string, attachment: Buffer): Promise<string> {
    const request = { handle: 2, tabId: 1, encrypt: true, sign: false, draft: true, headers: draftHeaders(), subject: `Plans ${secret}`, outerSubject: '...', entity: entity(`Dear Bob,\n${secret}`, 'notes.txt', attachment) };
    await arm.encapsulate?.(request as EncapsulationRequest);
    const stored = arm.stored(request.headers);
    arm.written = [];
    return stored;
  }

  it('a Sigill-encrypted draft opened in the composer gets its subject, body and attachment back, after the passphrase, and stays encrypted', async () => {
    const { service, arm, composer, deps, marked, unlocks } = await setup();
    const secret = canary();
    const attachment = Buffer.from(randomBytes(3000));
    const stored = await savedDraft(arm, secret, attachment);
    deps.getRaw = async (messageId) => {
      expect(messageId).toBe(42);
      return new Blob([Buffer.from(stored, 'latin1')]);
    };
    arm.draftId = 42;
    Object.assign(composer.details, { type: 'draft', subject: '...', plainTextBody: '' });
    composer.attachments = [{ id: 99, name: 'encrypted.asc' }];
    await service.composeOpened(5);
    expect(unlocks).toHaveLength(1);
    expect(composer.details.subject).toBe(`Plans ${secret}`);
    expect(composer.details.plainTextBody).toBe(`Dear Bob,\n${secret}`);
    expect(composer.attachments.map((file) => file.name)).toEqual(['notes.txt']);
    expect(Buffer.from(await composer.attachments[0]!.file!.arrayBuffer()).equals(attachment)).toBe(true);
    expect(marked).toEqual([5]);
    expect(arm.watched.has(5)).toBe(true);
  });

  it('an HTML draft reopens as HTML (through the read path\'s HTML policy), not as its source in a <pre>', async () => {
    const { service, arm, composer, deps } = await setup();
    const secret = canary();
    const boundary = 'html-boundary';
    const html =
      `Content-Type: multipart/alternative; boundary="${boundary}"${CRLF}${CRLF}` +
      `--${boundary}${CRLF}Content-Type: text/plain; charset=UTF-8${CRLF}${CRLF}Dear Bob, ${secret}${CRLF}` +
      `--${boundary}${CRLF}Content-Type: text/html; charset=UTF-8${CRLF}${CRLF}<p>Dear <b>Bob</b>, ${secret}</p><img src="https://example.invalid/x.png">${CRLF}--${boundary}--${CRLF}`;
    const request = { handle: 3, tabId: 1, encrypt: true, sign: false, draft: true, headers: draftHeaders(), subject: 'Plans', outerSubject: '...', entity: new File([html], 'entity.eml', { type: 'message/rfc822' }) };
    await arm.encapsulate?.(request as EncapsulationRequest);
    const stored = arm.stored(request.headers);
    deps.getRaw = async () => new Blob([Buffer.from(stored, 'latin1')]);
    deps.sanitizeHtml = (markup) => markup.replace(/<img[^>]*>/g, ''); // stands in for DOMPurify (the policy is tested in test/security)
    arm.draftId = 43;
    Object.assign(composer.details, { type: 'draft', subject: '...', isPlainText: false, body: '' });
    await service.composeOpened(6);
    expect(composer.details.body).toContain(`<p>Dear <b>Bob</b>, ${secret}</p>`);
    expect(composer.details.body).not.toContain('<pre>');
    expect(composer.details.body).not.toContain('example.invalid');
  });

  it('a plain draft, or a new message, is left as Thunderbird opened it', async () => {
    const { service, arm, composer, deps, marked } = await setup();
    deps.getRaw = async () => `Subject: hello${CRLF}Content-Type: text/plain${CRLF}${CRLF}hello${CRLF}`;
    arm.draftId = 3;
    Object.assign(composer.details, { type: 'draft', subject: 'hello' });
    expect(await service.reopen(1)).toBe(false);
    Object.assign(composer.details, { type: 'reply', relatedMessageId: 3 });
    expect(await service.reopen(1)).toBe(false);
    expect(composer.details.subject).toBe('hello');
    expect(marked).toEqual([]);
  });
});

describe('drafts: the popup', () => {
  it('says where drafts go and whether they are encrypted; "keep local" moves them to Local Folders', async () => {
    const { service, arm } = await setup();
    expect(await service.status(1, { encrypt: true })).toEqual({ location: 'server', place: 'alice@sigill.test', encrypt: true, encryptedDrafts: true, encryptsDrafts: true, canKeepLocal: true, autoEncryptDraftsOff: false });
    // Without the caller's answer it is not computed again (false), but whether drafts would be encrypted is known.
    expect(await service.status(1)).toMatchObject({ encrypt: false, encryptedDrafts: false, encryptsDrafts: true });
    expect(await service.keepLocal(1, { encrypt: true })).toMatchObject({ location: 'local', place: 'Local Folders', canKeepLocal: false, encryptedDrafts: true });
    arm.folder = { ...arm.folder, autoEncryptDrafts: false };
    expect(await service.status(1, { encrypt: true })).toMatchObject({ encryptedDrafts: false, encryptsDrafts: false, autoEncryptDraftsOff: true });
  });

  it("answers only Sigill's own pages", async () => {
    const { service } = await setup();
    const origin = 'moz-extension://sigill/';
    expect(service.handleMessage({ other: 1 }, { url: `${origin}compose/compose.html` }, origin)).toBeUndefined();
    expect(await service.handleMessage({ sigillDrafts: 'drafts.keepLocal', payload: { tabId: 1 } }, { url: 'https://example.org/' }, origin)).toMatchObject({ ok: false });
    expect(await service.handleMessage({ sigillDrafts: 'drafts.status', payload: { tabId: 1 } }, { url: `${origin}compose/compose.html` }, origin)).toMatchObject({ ok: true, value: { location: 'server' } });
  });
});

describe('isPgpMimeEncrypted', () => {
  it('recognises RFC 3156 multipart/encrypted in the top-level header only, folded or not', () => {
    expect(isPgpMimeEncrypted(`Subject: x${CRLF}Content-Type: multipart/encrypted;${CRLF} protocol="application/pgp-encrypted"; boundary="b"${CRLF}${CRLF}`)).toBe(true);
    expect(isPgpMimeEncrypted(`Content-Type: multipart/mixed; boundary="b"${CRLF}${CRLF}Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"${CRLF}`)).toBe(false);
    expect(isPgpMimeEncrypted(`Content-Type: multipart/encrypted; protocol="application/pkcs7-mime"${CRLF}${CRLF}`)).toBe(false);
  });
});
