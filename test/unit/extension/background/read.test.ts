// The read path of Sigill's background over a Node stand-in for Thunderbird's APIs, with the real core,
// real keys and real storage: messages.getRaw → read() with the keyring's keys (the passphrase prompt
// included) → the view for the display script, the popup and the badge; attachments saved on request,
// offered keys imported as undecided; plain mail left alone.
import { SigillError } from '../../../../src/core/index.ts';
import { randomBytes } from 'node:crypto';
import { armor, enums } from 'openpgp';
import { describe, expect, it } from 'vitest';
import { generateKey } from '../../../../src/core/index.ts';
import { startBackground } from '../../../../extension/background/main.ts';
import { binaryStringBlob, binaryStringBytes, mayHoldOpenpgp, mayHoldOpenpgpBlob, mayHoldOpenpgpBytes } from '../../../../extension/background/read.ts';
import { request, RequestError, type RequestName, type RequestOf, type ResponseOf } from '../../../../extension/shared/messages.ts';
import type { DisplayContent } from '../../../../extension/shared/read-view.ts';
import { fixturePassphrase, readFixture } from '../../../../keys-fixtures/index.ts';
import { nodeBrowser, type NodeBrowser } from '../node-browser.ts';
// eslint-disable-next-line no-restricted-imports -- the read-path tests' mail builders (test helpers, not core internals), shared rather than copied
import {
  attachmentPart,
  bytesOf,
  canary,
  certificate,
  encryptArmored,
  encryptBinary,
  entity,
  envelope,
  mimeSigned,
  multipart,
  nodeSanitizer,
  pgpMime,
  secretKey,
  text,
} from '../../core/incoming/mail.ts';

const ALICE = 'Alice <alice@sigill.test>';

async function setUp() {
  const api = nodeBrowser({ accounts: [{ id: 'account1', name: 'bob@sigill.test', identities: [{ id: 'id1', email: 'bob@sigill.test', name: 'Bob' }] }] });
  const blobs = new Map<string, Blob>();
  let nextUrl = 0;
  const background = startBackground(api, {
    sanitizeHtml: nodeSanitizer(),
    objectURL: {
      create: (blob) => {
        const url = `blob:moz-extension://test/${++nextUrl}`;
        blobs.set(url, blob);
        return url;
      },
      revoke: (url) => void blobs.delete(url),
    },
  });
  const page = <N extends RequestName>(name: N, payload: RequestOf<N>): Promise<ResponseOf<N>> => request((message) => api.sendFrom('display/popup.html', message), name, payload);
  await page('keys.importSecret', { text: readFixture('bob', 'sec'), passphrase: fixturePassphrase('bob') });
  const [alice] = (await page('keys.importPublic', { text: readFixture('alice', 'pub') })).imported;
  await page('keys.setAcceptance', { fingerprint: alice!.key.fingerprint, acceptance: 'accepted' });
  await background.reading;
  let nextMessage = 1;
  const deliver = (raw: string): number => {
    const id = nextMessage++;
    api.rawMessages.set(id, bytesOf(raw));
    return id;
  };
  /** What the display script in `tabId` is told for the message shown there. */
  const display = (tabId: number) => request((message) => api.sendFromDisplay(tabId, message), 'read.display', {}) as Promise<DisplayContent>;
  return { api, page, deliver, display, blobs, background };
}

/** Answers the passphrase prompt window opened last (as a person typing into it), once it is open. */
async function answerPrompt(api: NodeBrowser, page: (name: 'prompt.submit' | 'prompt.cancel', payload: { requestId: string; passphrase: string }) => Promise<unknown>, answer: string | 'cancel'): Promise<void> {
  for (let tries = 0; tries < 400; tries += 1) {
    const last = [...api.openWindows].at(-1);
    if (last !== undefined) {
      const requestId = decodeURIComponent(new URL(last[1]).searchParams.get('request') ?? '');
      if (answer === 'cancel') await page('prompt.cancel', { requestId, passphrase: '' });
      else await page('prompt.submit', { requestId, passphrase: answer });
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('no prompt window was opened');
}

async function encryptedSignedMail(secret: string, attachments: string[] = []) {
  const [bob, alice] = await Promise.all([certificate('bob'), secretKey('alice')]);
  const inner = entity(
    { 'Content-Type': 'multipart/mixed; boundary="inner"; protected-headers="v1"', Subject: `Plans ${secret}`, From: ALICE },
    multipart('inner', [text(`Meet at noon. ${secret}\n> what alice quoted\nhttps://example.org/x`), ...attachments]),
  );
  return pgpMime(envelope(ALICE, '...'), await encryptArmored(inner, { to: [bob], signer: alice }));
}

describe('the read path in the background', () => {
  it('leaves mail without OpenPGP content alone, reading it once', async () => {
    const { api, deliver, display, page } = await setUp();
    const id = deliver(entity(envelope(ALICE, 'lunch'), 'Shall we have lunch? Here is the menu.'));
    api.display(7, id);
    expect(await display(7)).toEqual({ parts: [], protectedSubject: undefined });
    const status = await page('read.status', { tabId: 7 });
    expect(status).toMatchObject({ openpgp: false, encryption: 'not-encrypted', signature: 'not-signed', errors: [] });
    expect(api.rawReads).toBe(1);
    expect(api.badges.get(7)).toMatchObject({ text: '' });
    expect(api.openWindows.size).toBe(0);
    expect(api.registeredDisplayScripts).toEqual([{ id: 'sigill-display', js: ['display/display.js'] }]);
  });

  it('recognises OpenPGP content cheaply, armor in base64 text parts included', () => {
    expect(mayHoldOpenpgp('Subject: hi\r\n\r\nhello')).toBe(false);
    expect(mayHoldOpenpgp('\r\n-----BEGIN PGP MESSAGE-----\r\n')).toBe(true);
    expect(mayHoldOpenpgp('Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"')).toBe(true);
    expect(mayHoldOpenpgp('Content-Disposition: attachment; filename="report.pdf.pgp"')).toBe(true);
    for (const prefix of ['', 'a', 'ab']) {
      const encoded = Buffer.from(`${prefix}-----BEGIN PGP MESSAGE-----\n`).toString('base64').replace(/(.{10})/g, '$1\r\n');
      expect(mayHoldOpenpgp(`Content-Transfer-Encoding: base64\r\n\r\n${encoded}`)).toBe(true);
    }
  });

  it('recognises OpenPGP content in the raw bytes a window at a time, across window boundaries too', () => {
    const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
    const filler = 'x'.repeat(1000);
    expect(mayHoldOpenpgpBytes(bytes(`Subject: hi\r\n\r\n${filler}hello`), 64)).toBe(false);
    expect(mayHoldOpenpgpBytes(bytes(`${filler}\r\n-----BEGIN PGP MESSAGE-----\r\n${filler}`), 64)).toBe(true);
    expect(mayHoldOpenpgpBytes(bytes(`${filler}Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"`), 64)).toBe(true);
    for (const prefix of ['', 'a', 'ab']) {
      const encoded = Buffer.from(`${prefix}-----BEGIN PGP MESSAGE-----\n`).toString('base64').replace(/(.{10})/g, '$1\r\n');
      for (let shift = 0; shift < 40; shift += 7) {
        // The encoded armor lands at every offset of a 64-byte window, so some runs split it between two windows.
        expect(mayHoldOpenpgpBytes(bytes(`Content-Transfer-Encoding: base64\r\n\r\n${'QUJD'.repeat(20 + shift)}\r\n${encoded}`), 64)).toBe(true);
      }
      // Without a base64 part before it, the same letters are just text.
      expect(mayHoldOpenpgpBytes(bytes(`Subject: hi\r\n\r\n${encoded}`), 64)).toBe(false);
    }
  });

  it('gives the same answers over the File of messages.getRaw, read a window at a time (never whole)', async () => {
    const filler = 'x'.repeat(1000);
    const encoded = Buffer.from('-----BEGIN PGP MESSAGE-----\n').toString('base64').replace(/(.{10})/g, '$1\r\n');
    const cases = [
      `Subject: hi\r\n\r\n${filler}hello`,
      `${filler}\r\n-----BEGIN PGP MESSAGE-----\r\n${filler}`,
      ...Array.from({ length: 6 }, (_, shift) => `Content-Transfer-Encoding: base64\r\n\r\n${'QUJD'.repeat(20 + shift * 7)}\r\n${encoded}`),
      `Subject: hi\r\n\r\n${encoded}`,
    ];
    for (const text of cases) {
      const raw = new TextEncoder().encode(text);
      const read: number[] = [];
      const file = new Blob([raw]);
      const spy = { size: file.size, slice: (start: number, end: number) => (read.push(end - start), file.slice(start, end)) } as unknown as Blob;
      expect(await mayHoldOpenpgpBlob(spy, 64), text.slice(0, 30)).toBe(mayHoldOpenpgpBytes(raw, 64));
      expect(Math.max(...read)).toBeLessThanOrEqual(64);
    }
  });

  it('decrypts after the passphrase prompt, shows the content alone with the protected subject, and states who signed', async () => {
    const { api, deliver, display, page } = await setUp();
    const secret = canary();
    const id = deliver(await encryptedSignedMail(secret));
    api.display(3, id);
    const shown = display(3);
    await answerPrompt(api, page, fixturePassphrase('bob'));
    const content = await shown;
    expect(content.protectedSubject).toBe(`Plans ${secret}`);
    expect(content.parts).toHaveLength(1);
    expect(content.parts[0]).toMatchObject({ kind: 'text', encrypted: true, signed: true });
    expect(content.parts[0]!.content).toContain(`Meet at noon. ${secret}`);
    const status = await page('read.status', { tabId: 3 });
    expect(status).toMatchObject({ openpgp: true, encryption: 'encrypted', signature: 'signed', quotable: true, errors: [] });
    expect(status!.signers).toMatchObject([{ status: 'good', userID: ALICE, matchesFrom: true, acceptance: 'accepted' }]);
    expect(status!.signers[0]!.fingerprint).toMatch(/^([0-9A-F]{4} ){5} ([0-9A-F]{4} ){4}[0-9A-F]{4}$/);
    expect(await page('read.wasEncrypted', { messageId: id })).toBe(true);
    await expect.poll(() => api.badges.get(3)?.title).toBe('Sigill: encrypted and signed');
    // One read of the raw message for the display, the popup and the badge.
    expect(api.rawReads).toBe(1);
  });

  it('says why when the prompt is cancelled, and reads again on retry (redrawing the display)', async () => {
    const { api, deliver, display, page } = await setUp();
    const secret = canary();
    const id = deliver(await encryptedSignedMail(secret));
    api.display(4, id);
    const shown = display(4);
    await answerPrompt(api, page, 'cancel');
    expect((await shown).parts).toEqual([]);
    const failed = await page('read.status', { tabId: 4 });
    expect(failed!.errors).toMatchObject([{ code: 'CANCELLED', retryable: true, where: 'body' }]);
    expect(JSON.stringify(failed)).not.toContain(secret);
    await expect.poll(() => api.badges.get(4)?.text).toBe('!');
    const retried = page('read.retry', { messageId: id });
    await answerPrompt(api, page, fixturePassphrase('bob'));
    expect((await retried).errors).toEqual([]);
    expect(api.tabMessages).toContainEqual({ tabId: 4, message: { sigill: 'display.refresh' } });
    expect((await display(4)).parts[0]!.content).toContain(secret);
  });

  it('says an own key could not be read, never "not encrypted to your keys", when reading the keyring fails', async () => {
    const { api, deliver, display, page, background } = await setUp();
    const { keyring } = await background.ready;
    const secretKey = keyring.secretKey.bind(keyring);
    keyring.secretKey = () => Promise.reject(new SigillError('INTERNAL', { detail: 'storage unavailable' }));
    const id = deliver(await encryptedSignedMail(canary()));
    api.display(5, id);
    expect((await display(5)).parts).toEqual([]);
    const failed = await page('read.status', { tabId: 5 });
    expect(failed!.errors.length).toBeGreaterThan(0);
    expect(failed!.errors.map((error) => error.code)).not.toContain('NOT_ENCRYPTED_FOR_US');
    keyring.secretKey = secretKey;
  });

  it('shows nothing of a tampered message and says it was modified, body or attachment', async () => {
    const { api, deliver, display, page } = await setUp();
    const secret = canary();
    const [bob, alice] = await Promise.all([certificate('bob'), secretKey('alice')]);
    const tampered = async (): Promise<Uint8Array> => {
      const binary = await encryptBinary(bytesOf(`${secret} `.repeat(200)), { to: [bob], signer: alice });
      binary[binary.length - 30]! ^= 0x01;
      return binary;
    };
    const body = armor(enums.armor.message, await tampered());
    const id = deliver(entity({ ...envelope(ALICE, 'tampered'), 'Content-Type': 'multipart/mixed; boundary="b"' }, multipart('b', [text(body), attachmentPart('letter.txt.pgp', await tampered())])));
    api.display(5, id);
    const shown = display(5);
    await answerPrompt(api, page, fixturePassphrase('bob'));
    expect((await shown).parts).toEqual([]);
    const status = await page('read.status', { tabId: 5 });
    expect(status!.errors).toMatchObject([{ code: 'INTEGRITY_FAILURE', where: 'body' }]);
    expect(status!.attachments).toMatchObject([{ name: 'letter.txt', deferred: true }]);
    await expect(page('read.saveAttachment', { messageId: id, index: 0 })).rejects.toMatchObject({ code: 'INTEGRITY_FAILURE' });
    expect(JSON.stringify(status)).not.toContain(secret);
    expect(api.downloaded).toEqual([]);
    await expect.poll(() => api.badges.get(5)?.text).toBe('!');
  });

  it('saves a separately encrypted attachment decrypted, under its sanitized name, through downloads', async () => {
    const { api, deliver, display, page, blobs } = await setUp();
    const bytes = new Uint8Array(300_000).map((_, index) => (index * 7919) % 251);
    const bob = await certificate('bob');
    const encrypted = await encryptBinary(bytes, { to: [bob], signer: await secretKey('alice'), filename: 'x' });
    const body = await encryptArmored(`Here is the file. ${canary()}`, { to: [bob], signer: await secretKey('alice') });
    const raw = entity(
      { ...envelope(ALICE, 'file'), 'Content-Type': 'multipart/mixed; boundary="m"' },
      multipart('m', [text(body), attachmentPart('..\u202Eevil/report.bin.pgp', encrypted)]),
    );
    const id = deliver(raw);
    api.display(6, id);
    const shown = display(6);
    await answerPrompt(api, page, fixturePassphrase('bob'));
    expect((await shown).parts).toHaveLength(1);
    const [listed] = (await page('read.status', { tabId: 6 }))!.attachments;
    expect(listed).toMatchObject({ deferred: true, encrypted: true, index: 0, sizeOfCiphertext: true });
    expect(listed!.size).not.toBe(bytes.byteLength);
    expect(listed!.name).not.toMatch(/[\u202E/]|\.\./);
    const saved = await page('read.saveAttachment', { messageId: id, index: 0 });
    expect(saved).toEqual({ fileName: listed!.name, size: bytes.byteLength });
    // Once decrypted, the popup states the plaintext's size.
    expect((await page('read.status', { tabId: 6 }))!.attachments[0]).toMatchObject({ size: bytes.byteLength, sizeOfCiphertext: false });
    const [download] = api.downloaded;
    expect(download).toMatchObject({ filename: listed!.name, conflictAction: 'uniquify', saveAs: false });
    expect(download!.url).toMatch(/^blob:/);
    expect(new Uint8Array(await blobs.get(download!.url)!.arrayBuffer())).toEqual(bytes);
  });

  it('a large attachment of a PGP/MIME message is shown without being decoded, and saved decoded with its exact bytes', async () => {
    const { api, deliver, display, page, blobs } = await setUp();
    // Larger than what read() holds in memory (4 MiB): the decrypted MIME is a Blob, the attachment a slice of it.
    const bytes = new Uint8Array(randomBytes(5 * 1024 * 1024));
    const secret = canary();
    const inner = entity({ 'Content-Type': 'multipart/mixed; boundary="inner"' }, multipart('inner', [text(`Body ${secret}`), attachmentPart('data.bin', bytes)]));
    const armored = await encryptArmored(inner, { to: [await certificate('bob')], signer: await secretKey('alice'), format: 'binary' });
    const id = deliver(pgpMime(envelope(ALICE, 'large file'), armored));
    api.display(7, id);
    const shown = display(7);
    await answerPrompt(api, page, fixturePassphrase('bob'));
    expect((await shown).parts.map((part) => part.content)).toEqual([`Body ${secret}`]);
    const [listed] = (await page('read.status', { tabId: 7 }))!.attachments;
    expect(listed).toMatchObject({ name: 'data.bin', encrypted: true, signed: true, deferred: false, sizeOfCiphertext: false });
    const saved = await page('read.saveAttachment', { messageId: id, index: 0 });
    expect(saved).toEqual({ fileName: 'data.bin', size: bytes.byteLength });
    const [download] = api.downloaded;
    expect(Buffer.from(await blobs.get(download!.url)!.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);
  });

  it('a different key for a sender with an accepted key: shown with both fingerprints as a key-change warning, stays undecided, the accepted key stays in use (KEY-SWAP)', async () => {
    const { api, deliver, display, page } = await setUp();
    const other = await generateKey({ userIDs: [ALICE], passphrase: 'another alice passphrase' });
    const raw = entity(
      { ...envelope(ALICE, 'my new key'), 'Content-Type': 'multipart/mixed; boundary="k"' },
      multipart('k', [text('Here is my new key.'), attachmentPart('alice-new.asc', bytesOf(other.publicKey.armor()), 'application/pgp-keys')]),
    );
    const id = deliver(raw);
    api.display(8, id);
    await display(8);
    const status = await page('read.status', { tabId: 8 });
    expect(status!.offeredKeys).toHaveLength(1);
    const [offered] = status!.offeredKeys;
    expect(offered).toMatchObject({ source: 'attachment', userIDs: [ALICE], encrypted: false, from: 'alice-new.asc', namesSender: true });
    expect(offered!.others).toMatchObject([{ userID: ALICE, acceptance: 'accepted' }]);
    // Noticed on display: kept beside the accepted key, undecided, with the warning naming both keys.
    expect(offered!.acceptance).toBe('undecided');
    const alice = (await page('keys.list', { query: 'alice@sigill.test' })).keys.find((key) => key.acceptance === 'accepted')!;
    expect(offered!.keyChange).toMatchObject({
      address: 'alice@sigill.test',
      inUse: [{ fingerprint: alice.fingerprint, acceptance: 'accepted' }],
      offered: { fingerprint: other.publicKey.getFingerprint(), source: 'attachment' },
    });
    // "Accept" from the message cannot replace the accepted key: it stays undecided, the warning stays.
    const report = await page('read.importKey', { messageId: id, index: 0, accept: true });
    expect(report.imported).toMatchObject([{ key: { acceptance: 'undecided' } }]);
    expect(report.warning?.offered.fingerprint).toBe(other.publicKey.getFingerprint());
    const keys = await page('keys.list', { query: 'alice@sigill.test' });
    expect(keys.keys.map((key) => key.acceptance).sort()).toEqual(['accepted', 'undecided']);
    expect((await page('keys.warnings', {})).map((warning) => warning.offered.fingerprint)).toEqual([other.publicKey.getFingerprint()]);
  });

  it('an attached key of a sender without a key: offered ("Import key of …"), imported undecided, then accepted on request; only the sender\'s user IDs are kept', async () => {
    const { api, deliver, display, page } = await setUp();
    const carol = await generateKey({ userIDs: ['Carol <carol@sigill.test>', 'Carol at work <carol@work.example>'], passphrase: 'carol passphrase' });
    const raw = entity(
      { ...envelope('Carol <carol@sigill.test>', 'my key'), 'Content-Type': 'multipart/mixed; boundary="k"' },
      multipart('k', [text('Here is my key.'), attachmentPart('OpenPGP_0xCAROL.asc', bytesOf(carol.publicKey.armor()), 'application/pgp-keys')]),
    );
    const id = deliver(raw);
    api.display(9, id);
    await display(9);
    const [offered] = (await page('read.status', { tabId: 9 }))!.offeredKeys;
    expect(offered).toMatchObject({ source: 'attachment', decision: 'new', namesSender: true, others: [] });
    expect(offered!.acceptance).toBeUndefined();
    expect(offered!.keyChange).toBeUndefined();
    // Nothing is stored until the user asks.
    expect((await page('keys.list', { query: 'carol@sigill.test' })).total).toBe(0);
    const imported = await page('read.importKey', { messageId: id, index: 0 });
    expect(imported.imported).toMatchObject([{ result: 'added', key: { acceptance: 'undecided', userIDs: ['Carol <carol@sigill.test>'] } }]);
    expect((await page('read.status', { tabId: 9 }))!.offeredKeys[0]!.acceptance).toBe('undecided');
    const accepted = await page('read.importKey', { messageId: id, index: 0, accept: true });
    expect(accepted.imported).toMatchObject([{ key: { acceptance: 'accepted', status: 'usable' } }]);
    expect(accepted.warning).toBeUndefined();
  });

  it('a message signed by an unknown key that carries the key: "could not be checked" until the key is imported and accepted, then read again and "signed" by it', async () => {
    const { api, deliver, display, page } = await setUp();
    const secret = canary();
    const [bob, carol] = await Promise.all([certificate('bob'), secretKey('carol')]);
    const inner = entity(
      { 'Content-Type': 'multipart/mixed; boundary="inner"; protected-headers="v1"', Subject: 'my key', From: 'Carol <carol@sigill.test>' },
      multipart('inner', [text(`Here is my key. ${secret}`), attachmentPart('OpenPGP_0xCAROL.asc', bytesOf(readFixture('carol', 'pub')), 'application/pgp-keys')]),
    );
    const id = deliver(pgpMime(envelope('Carol <carol@sigill.test>', '...'), await encryptArmored(inner, { to: [bob], signer: carol })));
    api.display(11, id);
    const shown = display(11);
    await answerPrompt(api, page, fixturePassphrase('bob'));
    await shown;
    const before = await page('read.status', { tabId: 11 });
    expect(before).toMatchObject({ encryption: 'encrypted', signature: 'unverified', signers: [{ status: 'unknown-key' }] });
    expect(before!.offeredKeys).toMatchObject([{ source: 'attachment', encrypted: true, namesSender: true }]);
    await expect.poll(() => api.badges.get(11)?.title).toBe('Sigill: encrypted; the signature could not be checked');

    const report = await page('read.importKey', { messageId: id, index: 0, accept: true });
    expect(report.imported).toMatchObject([{ key: { acceptance: 'accepted' } }]);
    // Read again with the key now in the keyring (bob's key is still unlocked: no second prompt).
    const after = await page('read.status', { tabId: 11 });
    expect(after).toMatchObject({ encryption: 'encrypted', signature: 'signed', signers: [{ status: 'good', userID: 'Carol <carol@sigill.test>', acceptance: 'accepted' }] });
    expect(after!.offeredKeys[0]!.acceptance).toBe('accepted');
    await expect.poll(() => api.badges.get(11)?.title).toBe('Sigill: encrypted and signed');
  });

  it('a signed-only message says what its signature is worth: unknown key, or a signer who is not the sender', async () => {
    const { api, deliver, display, page } = await setUp();
    const [carol, alice] = await Promise.all([secretKey('carol'), secretKey('alice')]);
    const unknown = deliver(await mimeSigned(envelope('Carol <carol@sigill.test>', 'signed'), text('Signed, not secret.'), carol));
    api.display(12, unknown);
    await display(12);
    expect(await page('read.status', { tabId: 12 })).toMatchObject({ encryption: 'not-encrypted', signature: 'unverified' });
    await expect.poll(() => api.badges.get(12)).toMatchObject({ text: '?', title: 'Sigill: signed by an unknown key' });
    const notFrom = deliver(await mimeSigned(envelope('Mallory <mallory@sigill.test>', 'signed'), text('Signed, not secret.'), alice));
    api.display(12, notFrom);
    await display(12);
    expect((await page('read.status', { tabId: 12 }))?.warnings).toMatchObject([{ code: 'SIGNER_NOT_FROM' }]);
    await expect.poll(() => api.badges.get(12)).toMatchObject({ text: '?', title: 'Sigill: signed, not by the sender' });
  });

  it('collects the key of an Autocrypt header as undecided on display, also from plain mail, never accepted; a different key for an accepted sender is a warning', async () => {
    const { api, deliver, display, page } = await setUp();
    const dave = await generateKey({ userIDs: ['Dave <dave@sigill.test>'], passphrase: 'dave passphrase' });
    const keydata = (key: typeof dave.publicKey) => Buffer.from(key.write()).toString('base64').replace(/(.{76})/g, '$1\r\n ');
    const id = deliver(entity({ ...envelope('Dave <dave@sigill.test>', 'hello'), Autocrypt: `addr=dave@sigill.test; prefer-encrypt=mutual; keydata=${keydata(dave.publicKey)}` }, 'Hello, plain text.'));
    api.display(10, id);
    expect(await display(10)).toEqual({ parts: [], protectedSubject: undefined });
    const status = await page('read.status', { tabId: 10 });
    expect(status).toMatchObject({ openpgp: false });
    expect(status!.offeredKeys).toMatchObject([{ source: 'autocrypt', from: 'Autocrypt header', acceptance: 'undecided', namesSender: true }]);
    expect((await page('keys.list', { query: 'dave@sigill.test' })).keys.map((key) => key.acceptance)).toEqual(['undecided']);

    const other = await generateKey({ userIDs: [ALICE], passphrase: 'another alice passphrase' });
    const fromAlice = deliver(entity({ ...envelope(ALICE, 'hi'), Autocrypt: `addr=alice@sigill.test; keydata=${keydata(other.publicKey)}` }, 'Hi.'));
    api.display(11, fromAlice);
    await display(11);
    const [offered] = (await page('read.status', { tabId: 11 }))!.offeredKeys;
    expect(offered).toMatchObject({ source: 'autocrypt', acceptance: 'undecided', keyChange: { offered: { fingerprint: other.publicKey.getFingerprint(), source: 'autocrypt' } } });
    expect((await page('keys.list', { query: 'alice@sigill.test' })).keys.map((key) => key.acceptance).sort()).toEqual(['accepted', 'undecided']);
  });

  it('quotes in a reply or forward only the decrypted text that was shown, from the root encryption alone (REPLY)', async () => {
    const { api, deliver, display, page } = await setUp();
    const secret = canary();
    const id = deliver(await encryptedSignedMail(secret));
    api.display(11, id);
    const shown = display(11);
    await answerPrompt(api, page, fixturePassphrase('bob'));
    await shown;
    api.openCompose(21, { type: 'reply', relatedMessageId: id, isPlainText: true });
    await expect.poll(() => api.composeDetails.get(21)?.plainTextBody).toContain(`> Meet at noon. ${secret}`);
    expect(api.composeDetails.get(21)?.plainTextBody).toContain('>> what alice quoted');
    expect(await page('read.wasEncrypted', { messageId: id })).toBe(true);
    api.openCompose(22, { type: 'forward', relatedMessageId: id, isPlainText: false });
    await expect.poll(() => api.composeDetails.get(22)?.body).toContain(`Meet at noon. ${secret}`);
    expect(api.composeDetails.get(22)?.body).toMatch(/^<p><br><\/p><blockquote type="cite"><pre>/);

    // Someone else's ciphertext embedded among attacker text: the reply quotes none of its plaintext.
    const embedded = await encryptArmored(`the other secret ${secret}`, { to: [await certificate('bob')] });
    const attack = deliver(entity({ ...envelope(ALICE, 'Re: lunch'), 'Content-Type': 'multipart/mixed; boundary="r"' }, multipart('r', [text('Please see below, and reply.'), text(embedded)])));
    api.display(12, attack);
    await display(12);
    api.openCompose(23, { type: 'reply', relatedMessageId: attack, isPlainText: true });
    await expect.poll(() => api.composeDetails.get(23)?.plainTextBody).toBe('');

    // Plain mail is quoted by Thunderbird as it always is.
    const plain = deliver(entity(envelope(ALICE, 'plain'), 'just text'));
    api.openCompose(24, { type: 'reply', relatedMessageId: plain, isPlainText: true });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(api.composeDetails.get(24)?.plainTextBody).toBeUndefined();
    expect(await page('read.wasEncrypted', { messageId: plain })).toBe(false);
  });

  it("answers a display script only about its own tab's message, and the popup's requests only to Sigill's pages", async () => {
    const { api, deliver, display } = await setUp();
    const id = deliver(entity(envelope(ALICE, 'x'), 'plain'));
    api.display(9, id);
    expect(await display(10)).toEqual({ parts: [], protectedSubject: undefined });
    const refused = await request((message) => api.sendFromDisplay(9, message), 'read.status', { tabId: 9 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RequestError);
    expect((refused as RequestError).code).toBe('BAD_INPUT');
  });
});

describe('the raw message from messages.getRaw', () => {
  /** A stand-in for Uint8Array.prototype.setFromBase64 (Thunderbird 140+, not in this Node): Node's own base64 decoder. */
  function nodeSetFromBase64(this: Uint8Array, text: string): { read: number; written: number } {
    const decoded = Buffer.from(text, 'base64');
    this.set(decoded);
    return { read: text.length, written: decoded.length };
  }

  it('turns a binary string into the same bytes window by window as one char at a time', () => {
    for (const size of [0, 1, 2, 3, 100, 3 * 256 * 1024, 3 * 256 * 1024 + 1, 2_000_000]) {
      const bytes = randomBytes(size);
      const binary = bytes.toString('latin1');
      expect(Buffer.from(binaryStringBytes(binary, nodeSetFromBase64)).equals(bytes), `${size}`).toBe(true);
      expect(Buffer.from(binaryStringBytes(binary)).equals(bytes), `${size}`).toBe(true);
    }
  });

  it('keeps the low octet of a char above 0xFF, as Thunderbird\'s File does, with or without the native setter', () => {
    const text = `abc\u20ACdef${'x'.repeat(1_000_000)}\u0141`;
    const expected = Uint8Array.from(text, (char) => char.charCodeAt(0) & 0xff);
    expect(Buffer.from(binaryStringBytes(text, nodeSetFromBase64)).equals(expected)).toBe(true);
    expect(Buffer.from(binaryStringBytes(text)).equals(expected)).toBe(true);
  });

  it('makes a Blob of the same octets from a 7-bit, an 8-bit and a not quite binary string', async () => {
    const sevenBit = `Subject: x\r\n\r\n${'-----BEGIN PGP MESSAGE-----\r\n'.repeat(40_000)}`;
    const eightBit = randomBytes(1_000_000).toString('latin1');
    const wide = `abc\u20ACdef\u0141`;
    for (const [name, text] of [
      ['7-bit', sevenBit],
      ['8-bit', eightBit],
      ['chars above 0xFF', wide],
    ] as const) {
      const expected = Uint8Array.from(text, (char) => char.charCodeAt(0) & 0xff);
      expect(Buffer.from(await binaryStringBlob(text).arrayBuffer()).equals(expected), name).toBe(true);
    }
  });

  it('asks for a binary string up to 16 MiB and for the File above, reading the message the same either way', async () => {
    const { api, deliver, display, page } = await setUp();
    const formats: Array<string | undefined> = [];
    const getRaw = api.messages.getRaw.bind(api.messages);
    api.messages.getRaw = async (id, options) => (formats.push(options?.format), getRaw(id, options));
    const [first, second] = [canary(), canary()];
    const small = deliver(await encryptedSignedMail(first));
    api.display(7, small);
    const shown = display(7);
    await answerPrompt(api, page, fixturePassphrase('bob'));
    expect((await shown).protectedSubject).toBe(`Plans ${first}`);
    // Thunderbird's database says the next one is large: it comes as the File, read in windows.
    const large = deliver(await encryptedSignedMail(second));
    const get = api.messages.get.bind(api.messages);
    api.messages.get = async (id) => (id === large ? { size: 17 * 1024 * 1024 } : get(id));
    api.display(8, large);
    expect((await display(8)).protectedSubject).toBe(`Plans ${second}`);
    expect(formats).toEqual(['BinaryString', 'File']);
  });
});

describe('reading a message when it is selected, while Thunderbird loads it', () => {
  /** Counts the prompt windows opened (each passphrase prompt is one window). */
  function countPrompts(api: NodeBrowser): () => number {
    let opened = 0;
    const create = api.windows.create.bind(api.windows);
    api.windows.create = (data) => ((opened += 1), create(data));
    return () => opened;
  }

  /** bob's key unlocked, as after the first encrypted message of a session. */
  async function unlocked(setup: Awaited<ReturnType<typeof setUp>>): Promise<void> {
    const { api, deliver, display, page } = setup;
    api.display(1, deliver(await encryptedSignedMail(canary())));
    const shown = display(1);
    await answerPrompt(api, page, fixturePassphrase('bob'));
    expect((await shown).parts).toHaveLength(1);
  }

  it('with the key unlocked: the read made on selection is what the display shows (the message is read once)', async () => {
    const setup = await setUp();
    const { api, deliver, display, background } = setup;
    await unlocked(setup);
    const prompts = countPrompts(api);
    const secret = canary();
    const id = deliver(await encryptedSignedMail(secret));
    const reads = api.rawReads;
    await (await background.reading).selected({ id: 2 }, [{ id }]);
    expect(api.rawReads).toBe(reads + 1);
    api.display(2, id);
    expect((await display(2)).parts[0]!.content).toContain(secret);
    expect(api.rawReads).toBe(reads + 1);
    expect(prompts()).toBe(0);
  });

  it('with the key locked: no prompt for a message only selected; when it is displayed, the prompt asks and it shows', async () => {
    const { api, deliver, display, page, background } = await setUp();
    const prompts = countPrompts(api);
    const secret = canary();
    const id = deliver(await encryptedSignedMail(secret));
    await (await background.reading).selected({ id: 3 }, [{ id }]);
    expect(prompts()).toBe(0);
    expect(api.openWindows.size).toBe(0);
    api.display(3, id);
    const shown = display(3);
    await answerPrompt(api, page, fixturePassphrase('bob'));
    expect((await shown).parts[0]!.content).toContain(secret);
    expect(prompts()).toBe(1);
    expect(await page('read.status', { tabId: 3 })).toMatchObject({ encryption: 'encrypted', signature: 'signed', errors: [] });
  });

  it('a message displayed while its selected read is still running: that read may then ask, once', async () => {
    const { api, deliver, display, page } = await setUp();
    const prompts = countPrompts(api);
    const secret = canary();
    const id = deliver(await encryptedSignedMail(secret));
    api.select(4, [id]);
    api.display(4, id);
    const shown = display(4);
    await answerPrompt(api, page, fixturePassphrase('bob'));
    expect((await shown).parts[0]!.content).toContain(secret);
    expect(prompts()).toBe(1);
  });

  it('quick selections: one read at a time, only the last selection waits; each tab is shown its own message only', async () => {
    const setup = await setUp();
    const { api, deliver, display, background } = setup;
    await unlocked(setup);
    const secrets = [canary(), canary(), canary()];
    const ids: number[] = [];
    for (const secret of secrets) ids.push(deliver(await encryptedSignedMail(secret)));
    const reader = await background.reading;
    const reads = api.rawReads;
    await Promise.all(ids.map((id) => reader.selected({ id: 5 }, [{ id }])));
    // The first selection's read ran; the second was passed over by the third, which was read after it.
    expect(api.rawReads).toBe(reads + 2);
    // The tab moves on from the second message to the third while the second is read for it: the answer
    // carries nothing of the second (it is not shown there any more), and the third shows its own content.
    api.display(5, ids[1]!);
    const second = display(5);
    api.display(5, ids[2]!);
    expect(JSON.stringify(await second)).not.toContain(secrets[1]);
    const third = await display(5);
    expect(third.parts[0]!.content).toContain(secrets[2]);
    expect(JSON.stringify(third)).not.toContain(secrets[0]);
    expect(JSON.stringify(third)).not.toContain(secrets[1]);
  });

  it('a tab that moves on to another message while the first is read is given nothing of the first', async () => {
    const setup = await setUp();
    const { api, deliver, display } = setup;
    await unlocked(setup);
    const [first, second] = [canary(), canary()];
    const [a, b] = [deliver(await encryptedSignedMail(first)), deliver(await encryptedSignedMail(second))];
    // The first message's raw bytes arrive only once the tab shows the second one.
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const getRaw = api.messages.getRaw.bind(api.messages);
    let askedForA = false;
    api.messages.getRaw = async (id) => {
      if (id === a) {
        askedForA = true;
        await held;
      }
      return getRaw(id);
    };
    api.display(7, a);
    const forA = display(7);
    await expect.poll(() => askedForA).toBe(true);
    api.display(7, b);
    release();
    expect(await forA).toEqual({ parts: [], protectedSubject: undefined });
    expect((await display(7)).parts[0]!.content).toContain(second);
    expect(JSON.stringify(await display(7))).not.toContain(first);
  });

  it("the badge never vouches for another message: '…' from the selection until the message is read", async () => {
    const setup = await setUp();
    const { api, deliver, display, background } = setup;
    await unlocked(setup);
    await expect.poll(() => api.badges.get(1)?.text).toBe('✔');
    const id = deliver(entity(envelope(ALICE, 'lunch'), 'Shall we have lunch?'));
    await (await background.reading).selected({ id: 1 }, [{ id }]);
    expect(api.badges.get(1)).toMatchObject({ text: '…', title: 'Sigill: reading…' });
    api.display(1, id);
    await display(1);
    await expect.poll(() => api.badges.get(1)?.title).toBe('Sigill: not encrypted, not signed');
    expect(api.badges.get(1)?.text).toBe('');
  });

  it('a read that ends after its tab moved on leaves that tab\'s badge to the message shown there', async () => {
    const setup = await setUp();
    const { api, deliver, display, background } = setup;
    await unlocked(setup);
    const a = deliver(await encryptedSignedMail(canary()));
    const b = deliver(entity(envelope(ALICE, 'lunch'), 'Shall we have lunch?'));
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const getRaw = api.messages.getRaw.bind(api.messages);
    let askedForA = false;
    api.messages.getRaw = async (id, options) => {
      if (id === a) {
        askedForA = true;
        await held;
      }
      return getRaw(id, options);
    };
    api.display(8, a);
    const forA = display(8);
    await expect.poll(() => askedForA).toBe(true);
    api.display(8, b);
    await expect.poll(() => api.badges.get(8)?.title).toBe('Sigill: not encrypted, not signed');
    release();
    await forA;
    await (await background.reading).view(a);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(api.badges.get(8)).toMatchObject({ text: '', title: 'Sigill: not encrypted, not signed' });
  });

  it('a selection of several messages, or with the message pane closed, is not read', async () => {
    const { api, deliver, background } = await setUp();
    const [a, b] = [deliver(await encryptedSignedMail(canary())), deliver(await encryptedSignedMail(canary()))];
    const reader = await background.reading;
    await reader.selected({ id: 6 }, [{ id: a }, { id: b }]);
    api.select(6, [a], { paneHidden: true });
    await reader.selected({ id: 6 }, [{ id: a }]);
    expect(api.rawReads).toBe(0);
  });
});
